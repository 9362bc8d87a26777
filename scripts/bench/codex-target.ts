// COMPARISON ONLY: what Codex's target pipeline would send for one rollout (spec §2.3–§2.5). Unlike ours it keeps
// injected AGENTS.md / <skill> parts, does not redact, and truncates by bytes at an estimated 4 bytes per token.
import { readRolloutLines, responseItemOf } from '../../services/rollouts/rollout-reader.ts';
import { stageOneInstructions, stageOneTokenLimit } from '../../services/extraction/stage-one-prompt.ts';
import { loadTemplate, renderTemplate } from '../../services/templates.ts';
import type { ThreadInfo } from '../../services/types.ts';
import { KEPT_KINDS } from '../../services/rollouts/memory-items.ts';

const CODEX_BYTES_PER_TOKEN = 4;

/** Codex's item filter: the kind table and "no developer messages", nothing else. */
async function codexItems(path: string): Promise<Record<string, unknown>[]> {
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
function codexTruncate(text: string, limitTokens: number) {
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

/** estimatedRolloutTokens: what Codex believes the rollout costs, bytes / 4 after truncation. */
export async function buildCodexStageOneRequest(thread: ThreadInfo, model: string) {
  const [instructions, template, items] = await Promise.all([
    stageOneInstructions(),
    loadTemplate('stage_one_input'),
    codexItems(thread.rolloutPath),
  ]);
  const truncation = codexTruncate(JSON.stringify(items), stageOneTokenLimit(model));
  const input = renderTemplate(template, [
    ['rollout_path', thread.rolloutPath],
    ['rollout_cwd', thread.cwd],
    ['rollout_contents', truncation.text],
  ]);
  return { instructions, input, truncated: truncation.truncated, estimatedRolloutTokens: truncation.estimatedTokens };
}
