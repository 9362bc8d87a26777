// COMPARISON ONLY — what Codex's target pipeline would send for one rollout (spec §2.3–§2.5), so the
// bench can put it next to ours. It is not used by the pipeline. Differences from ours, on purpose:
// * the same item table (§2.4), but injected AGENTS.md / <user_instructions> / <skill> parts are
//   NOT dropped from user messages;
// * the rollout is NOT redacted before it is sent;
// * truncation estimates 4 bytes per token: byte budget B = limit × 4, head floor(B/2) bytes + tail,
//   snapped to UTF-8 character boundaries, marker `…N tokens truncated…` with N = ceil((bytes − B)/4).
import { readRolloutLines, responseItemOf } from '../../services/rollouts/rollout-reader.ts';
import { stageOneInstructions, stageOneTokenLimit } from '../../services/extraction/stage-one-prompt.ts';
import { loadTemplate, renderTemplate } from '../../services/templates.ts';
import type { ThreadInfo } from '../../services/types.ts';
// Codex's item table (spec §2.4) is the one our filter uses; Codex differs in sanitising and budgeting.
import { KEPT_KINDS } from '../../services/rollouts/memory-items.ts';


export const CODEX_BYTES_PER_TOKEN = 4;

/** Codex's item filter: the kind table and "no developer messages", nothing else. */
export async function codexItems(path: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const line of readRolloutLines(path)) {
    const item = responseItemOf(line);
    if (item === null || typeof item.type !== 'string' || !KEPT_KINDS.has(item.type)) continue;
    if (item.type === 'message' && item.role === 'developer') continue;
    items.push(item);
  }
  return items;
}

/** Codex's byte-based head+tail truncation with a 4 bytes/token estimate (truncate.rs). */
export function codexTruncate(text: string, limitTokens: number): { text: string; truncated: boolean; estimatedTokens: number } {
  const bytes = Buffer.from(text, 'utf8');
  const budget = limitTokens * CODEX_BYTES_PER_TOKEN;
  const estimatedTokens = Math.ceil(bytes.length / CODEX_BYTES_PER_TOKEN);
  if (bytes.length <= budget) return { text, truncated: false, estimatedTokens };
  const headBudget = Math.floor(budget / 2);
  const tailBudget = budget - headBudget;
  const isContinuation = (i: number) => i < bytes.length && (bytes[i]! & 0xc0) === 0x80;
  let headEnd = headBudget; // a character is kept only if it ends within the head budget
  while (headEnd > 0 && isContinuation(headEnd)) headEnd--;
  let tailStart = bytes.length - tailBudget; // the first character starting at or after it
  while (tailStart < bytes.length && isContinuation(tailStart)) tailStart++;
  const removed = Math.ceil((bytes.length - budget) / CODEX_BYTES_PER_TOKEN);
  const marker = `\u2026${removed} tokens truncated\u2026`;
  const out = bytes.subarray(0, headEnd).toString('utf8') + marker + bytes.subarray(tailStart).toString('utf8');
  return { text: out, truncated: true, estimatedTokens: Math.ceil(budget / CODEX_BYTES_PER_TOKEN) };
}

export interface CodexRequest {
  instructions: string;
  input: string;
  tokenLimit: number;
  truncated: boolean;
  /** What Codex believes the rollout costs: bytes / 4 after truncation. */
  estimatedRolloutTokens: number;
}

export async function buildCodexStageOneRequest({ thread, model }: { thread: ThreadInfo; model: string }): Promise<CodexRequest> {
  const [instructions, template, items] = await Promise.all([
    stageOneInstructions(),
    loadTemplate('stage_one_input'),
    codexItems(thread.rolloutPath),
  ]);
  const tokenLimit = stageOneTokenLimit(model);
  const truncation = codexTruncate(JSON.stringify(items), tokenLimit);
  const input = renderTemplate(template, [
    ['rollout_path', thread.rolloutPath],
    ['rollout_cwd', thread.cwd],
    ['rollout_contents', truncation.text],
  ]);
  return { instructions, input, tokenLimit, truncated: truncation.truncated, estimatedRolloutTokens: truncation.estimatedTokens };
}
