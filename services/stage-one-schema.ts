// The stage-1 structured-output contract: the JSON schema we send to the API, and the strict parser for
// what comes back. Providers do not all enforce the schema, so the parser never trusts the reply.
import { z } from 'zod';
import { MalformedReplyError } from './errors.ts';
import type { Stage1Reply } from './types.ts';

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

/** Responses API `text.format` value. */
export const stage1TextFormat = {
  type: 'json_schema' as const,
  name: STAGE1_SCHEMA_NAME,
  strict: true,
  schema: stage1JsonSchema as unknown as Record<string, unknown>,
};

/** Chat Completions `response_format` value. */
export const stage1ResponseFormat = {
  type: 'json_schema' as const,
  json_schema: { name: STAGE1_SCHEMA_NAME, strict: true, schema: stage1JsonSchema as unknown as Record<string, unknown> },
};

// The parser is more lenient than the schema on one point only: Codex accepts an absent slug.
const Stage1Wire = z.strictObject({
  rollout_summary: z.string(),
  rollout_slug: z.string().nullable().optional(),
  raw_memory: z.string(),
});

const QUOTE_LIMIT = 200;

export function parseStage1Reply(text: string): Stage1Reply {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MalformedReplyError(`stage-1 reply is not valid JSON (${(error as Error).message}): ${quote(text)}`, { cause: error });
  }
  const result = Stage1Wire.safeParse(value);
  if (!result.success) {
    const reasons = result.error.issues.map(describeIssue).join('; ');
    throw new MalformedReplyError(`stage-1 reply does not match the schema (${reasons}): ${quote(text)}`, { cause: result.error });
  }
  return {
    rolloutSummary: result.data.rollout_summary,
    rawMemory: result.data.raw_memory,
    rolloutSlug: result.data.rollout_slug ?? null,
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unexpected key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'reply';
  return `${where}: ${issue.message}`;
}

function quote(text: string): string {
  const head = text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}… (${text.length} chars)` : text;
  return JSON.stringify(head);
}
