// The stage-1 JSON schemas sent to the API; the parser (stage-one-parse.ts) is apart so an idle run never loads zod.
// v1 asks for a raw memory besides the summary; v2 (Codex 0.169's default) asks for the summary and slug only.
import type { LayoutVersion } from '../memory-folder/layout.ts';

export const STAGE1_SCHEMA_NAME = 'codex_output_schema';

/** Strict-mode schema: every property is required, so the optional slug is expressed as nullable. */
export const stage1JsonSchema = {
  type: 'object',
  properties: {
    rollout_summary: { type: 'string' },
    rollout_slug: { type: ['string', 'null'] },
    raw_memory: { type: 'string' },
  },
  required: ['rollout_summary', 'rollout_slug', 'raw_memory'],
  additionalProperties: false,
} as const;

/** v2 as Codex 0.169 sends it: two required strings, no raw memory. */
export const stage1V2JsonSchema = {
  type: 'object',
  properties: {
    rollout_summary: { type: 'string' },
    rollout_slug: { type: 'string' },
  },
  required: ['rollout_summary', 'rollout_slug'],
  additionalProperties: false,
} as const;

function schemaFor(version: LayoutVersion): Record<string, unknown> {
  return (version === 'v2' ? stage1V2JsonSchema : stage1JsonSchema) as unknown as Record<string, unknown>;
}

/** Responses API `text.format` value. */
export function stage1TextFormatFor(version: LayoutVersion) {
  return { type: 'json_schema' as const, name: STAGE1_SCHEMA_NAME, strict: true, schema: schemaFor(version) };
}

/** Chat Completions `response_format` value. */
export function stage1ResponseFormatFor(version: LayoutVersion) {
  return { type: 'json_schema' as const, json_schema: { name: STAGE1_SCHEMA_NAME, strict: true, schema: schemaFor(version) } };
}

export const stage1TextFormat = stage1TextFormatFor('v1');
export const stage1ResponseFormat = stage1ResponseFormatFor('v1');
