// The stage-1 JSON schema sent to the API; the parser (stage-one-parse.ts) is apart so an idle run never loads zod.

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
