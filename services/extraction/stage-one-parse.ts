// The strict parser for stage-1 replies. Providers do not all enforce the schema we send
// (stage-one-schema.ts), so the reply is never trusted.
import { z } from 'zod';
import { MalformedReplyError } from '../errors.ts';
import type { LayoutVersion } from '../memory-folder/layout.ts';
import type { Stage1Reply } from '../types.ts';

// The parser is more lenient than the schema on one point only: Codex accepts an absent slug.
const Stage1Wire = z.strictObject({
  rollout_summary: z.string(),
  rollout_slug: z.string().nullable().optional(),
  raw_memory: z.string(),
});
// v2 has no raw memory: one sent anyway is a schema violation, as any other extra key.
const Stage1WireV2 = Stage1Wire.omit({ raw_memory: true });

const QUOTE_LIMIT = 200;

/** A v2 reply is stored with an empty raw memory, as Codex stores it. */
export function parseStage1Reply(text: string, version: LayoutVersion = 'v1'): Stage1Reply {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message;
    throw new MalformedReplyError(`stage-1 reply is not valid JSON (${reason}): ${quote(text)}`, { cause: error });
  }
  const result = (version === 'v2' ? Stage1WireV2 : Stage1Wire).safeParse(value);
  if (!result.success) {
    const reasons = result.error.issues.map(describeIssue).join('; ');
    const cause = result.error;
    throw new MalformedReplyError(`stage-1 reply does not match the schema (${reasons}): ${quote(text)}`, { cause });
  }
  return {
    rolloutSummary: result.data.rollout_summary,
    rawMemory: 'raw_memory' in result.data ? (result.data.raw_memory as string) : '',
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
