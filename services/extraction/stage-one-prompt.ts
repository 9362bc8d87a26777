// Builds the phase-1 request for one rollout (spec §2.3, §2.5, §6.1–§6.2), unlike the spec redacted and truncated
// by real o200k token count as it is read, so a rollout of tens of MB is never held whole.
import { citedThreadIds } from '../rollouts/citations.ts';
import { readMemoryItems } from '../rollouts/memory-items.ts';
import { redactedJson } from '../redaction/redact.ts';
import type { LayoutVersion } from '../memory-folder/layout.ts';
import { isInjectedUserText, newLineCounts, partTexts, readRolloutGitBranch } from '../rollouts/rollout-reader.ts';
import { loadTemplate, renderTemplate } from '../templates.ts';
import { HeadTailWindow } from '../tokens/truncation.ts';
import type { ThreadInfo } from '../types.ts';

/** Context windows (tokens) of the models we know; others fall back to the default limit. */
const CONTEXT_WINDOWS: Record<string, number> = {
  'gpt-5.3-codex-spark': 128_000,
  'gpt-5.3-codex': 272_000,
  'gpt-5.2-codex': 272_000,
  'gpt-5.1-codex': 272_000,
  'gpt-5.1-codex-mini': 272_000,
  'gpt-5': 272_000,
  'gpt-5-mini': 272_000,
  'gpt-5.4': 272_000,
  'gpt-5.4-mini': 272_000,
  'gpt-4.1': 1_047_576,
  'gpt-4o': 128_000,
  'gpt-4o-mini': 128_000,
};

/** Share of the window a model can really use (Codex's effective_context_window_percent). */
const EFFECTIVE_WINDOW_PERCENT = 95;
/** Share of the usable window given to the rollout; the rest is prompt and answer. */
const ROLLOUT_WINDOW_PERCENT = 70;
export const DEFAULT_STAGE_ONE_TOKEN_LIMIT = 150_000;

export function stageOneTokenLimit(model: string): number {
  const window = CONTEXT_WINDOWS[model];
  if (window === undefined || window <= 0) return DEFAULT_STAGE_ONE_TOKEN_LIMIT;
  const usable = Math.floor((window * EFFECTIVE_WINDOW_PERCENT) / 100);
  return Math.max(1, Math.floor((usable * ROLLOUT_WINDOW_PERCENT) / 100));
}

/** The phase-1 system instructions (a template without variables). */
export function stageOneInstructions(version: LayoutVersion = 'v1'): Promise<string> {
  return loadTemplate(version === 'v2' ? 'stage_one_system_v2' : 'stage_one_system');
}

export interface StageOneRequest {
  instructions: string;
  /** The user message: the rendered stage_one_input template. */
  input: string;
  tokenLimit: number;
  truncated: boolean;
  /** Response items kept from the rollout. */
  items: number;
  corruptLines: number;
  /** Lines longer than the reader's cap, skipped unread. */
  oversizedLines: number;
  /** Items left out: nested too deeply to redact and serialise, or on an oversized line. */
  droppedItems: number;
  /** Most bytes of the serialized rollout held at once while building: bounded by the token limit, not by the rollout's size. */
  retainedBytes: number;
  /** Threads whose memories the assistant cited in this rollout (services/rollouts/citations.ts). */
  citedThreadIds: string[];
  /** The thread's git branch (v2 sends it as a hint; both layouts write it into the summary header). */
  gitBranch: string | null;
}

export async function buildStageOneRequest({
  thread,
  model,
  tokenLimit = stageOneTokenLimit(model),
  version = 'v1',
}: {
  thread: ThreadInfo;
  model: string;
  tokenLimit?: number;
  version?: LayoutVersion;
}): Promise<StageOneRequest> {
  // Templates first: otherwise their reads wait behind the synchronous rollout work of every job started now.
  const [instructions, inputTemplate, gitBranch] = await Promise.all([
    stageOneInstructions(version),
    loadTemplate(version === 'v2' ? 'stage_one_input_v2' : 'stage_one_input'),
    // Discovery may not know the branch (an index entry from before it was read): the first line says.
    thread.gitBranch !== undefined ? thread.gitBranch : readRolloutGitBranch(thread.rolloutPath).catch(() => null),
  ]);
  const v2 = version === 'v2';
  // The rollout's items as one JSON array cut to `tokenLimit` tokens, holding only a head and tail window.
  const counts = newLineCounts();
  const window = new HeadTailWindow(tokenLimit);
  let items = 0;
  let droppedItems = 0;
  const cited = new Set<string>();
  // v1 sends one JSON array; v2 one item per line, each under a label saying who it came from.
  if (!v2) window.append('[');
  // Only as far as discovery saw it: a session still being appended to is not chased.
  for await (const item of readMemoryItems(thread.rolloutPath, counts, { maxBytes: thread.sizeBytes })) {
    if (item.type === 'message' && item.role === 'assistant') {
      for (const text of partTexts(item)) if (text !== null) for (const id of citedThreadIds(text)) cited.add(id);
    }
    // Redacted before serializing, so no truncation boundary can expose a secret; item by item, so an item nested
    // too deeply to walk (stack overflow) is dropped alone instead of failing the whole rollout.
    let part: string;
    try {
      part = redactedJson(item);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      droppedItems++;
      continue;
    }
    if (v2) window.append(`[${speakerOf(item)}]\n${part}\n`);
    else window.append(items > 0 ? `,${part}` : part);
    items++;
  }
  if (!v2) window.append(']');
  const { text, truncated, retainedBytes } = window.finish();
  const input = renderTemplate(inputTemplate, [
    ['rollout_path', thread.rolloutPath],
    ['rollout_cwd', thread.cwd],
    ['rollout_git_branch', gitBranch ?? 'unknown'],
    ['rollout_contents', text], // untrusted and long: inserted last
  ]);
  const { corruptLines, oversizedLines } = counts;
  return {
    instructions,
    input,
    tokenLimit,
    truncated,
    items,
    corruptLines,
    oversizedLines,
    droppedItems: droppedItems + oversizedLines,
    retainedBytes,
    citedThreadIds: [...cited],
    gitBranch,
  };
}

/** The v2 label of a rollout item, as Codex 0.169 labels its extraction input. */
function speakerOf(item: Record<string, unknown>): string {
  if (item.type !== 'message') return 'tool';
  if (item.role === 'user') {
    const texts = partTexts(item).filter((t): t is string => t !== null);
    return texts.length > 0 && texts.every(isInjectedUserText) ? 'harness context' : 'human user';
  }
  return item.phase === 'commentary' ? 'assistant commentary' : 'assistant final';
}
