// Builds the phase-1 request for one rollout (spec §2.3 steps 1–3, §2.5, §6.1–§6.2).
// Unlike the spec's target (4 bytes per token, rollout sent unredacted), the rollout is redacted
// before it leaves the machine and is truncated by real o200k token count, as it is read: a
// rollout of tens of MB is never held whole.
import { citedThreadIds } from '../rollouts/citations.ts';
import { readMemoryItems } from '../rollouts/memory-items.ts';
import { redactedJson } from '../redaction/redact.ts';
import { type LineCounts, newLineCounts, partTexts } from '../rollouts/rollout-reader.ts';
import { loadTemplate, renderTemplate } from '../templates.ts';
import { HeadTailWindow, type StreamedTruncation } from '../tokens/truncation.ts';
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

/** The phase-1 system instructions (the template is used as is: it has no variables). */
export function stageOneInstructions(): Promise<string> {
  return loadTemplate('stage_one_system');
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
}

export async function buildStageOneRequest({
  thread,
  model,
  tokenLimit = stageOneTokenLimit(model),
}: {
  thread: ThreadInfo;
  model: string;
  /** Defaults to the model's limit. */
  tokenLimit?: number;
}): Promise<StageOneRequest> {
  // The templates first: read once per process, their reads would otherwise wait behind this
  // job's (synchronous) rollout work and that of every job started with it.
  const [instructions, inputTemplate] = await Promise.all([stageOneInstructions(), loadTemplate('stage_one_input')]);
  const contents = await truncatedContents(thread, tokenLimit);
  const input = renderTemplate(inputTemplate, [
    ['rollout_path', thread.rolloutPath],
    ['rollout_cwd', thread.cwd],
    ['rollout_contents', contents.truncation.text], // untrusted and long: inserted last
  ]);
  return {
    instructions,
    input,
    tokenLimit,
    truncated: contents.truncation.truncated,
    items: contents.items,
    corruptLines: contents.counts.corruptLines,
    oversizedLines: contents.counts.oversizedLines,
    droppedItems: contents.droppedItems + contents.counts.oversizedLines,
    retainedBytes: contents.truncation.retainedBytes,
    citedThreadIds: contents.cited,
  };
}

interface TruncatedContents {
  truncation: StreamedTruncation;
  cited: string[];
  items: number;
  droppedItems: number;
  counts: LineCounts;
}

/**
 * The rollout's kept items as one JSON array, `[item,item,…]`, cut to `tokenLimit` tokens. Items
 * are read, redacted and serialized one at a time, and only a head window and a tail ring of the
 * text are held (HeadTailWindow), so a rollout of any size costs memory bounded by the limit.
 */
async function truncatedContents(thread: ThreadInfo, tokenLimit: number): Promise<TruncatedContents> {
  const counts = newLineCounts();
  const window = new HeadTailWindow(tokenLimit);
  let items = 0;
  let droppedItems = 0;
  const cited = new Set<string>();
  window.append('[');
  // Only as far as discovery saw it: a session still being appended to is not chased.
  for await (const item of readMemoryItems(thread.rolloutPath, counts, { maxBytes: thread.sizeBytes })) {
    if (item.type === 'message' && item.role === 'assistant') {
      for (const text of partTexts(item)) if (text !== null) for (const id of citedThreadIds(text)) cited.add(id);
    }
    // Secrets are removed from every string before anything is serialized, so neither the model
    // provider nor a truncation marker boundary can expose one.
    // Item by item, so that one item nested too deeply to walk (a hostile or corrupt line: redaction
    // and JSON.stringify recurse and overflow the stack) is dropped alone instead of failing the
    // whole rollout with "Maximum call stack size exceeded". Same text as stringifying the array.
    let part: string;
    try {
      part = redactedJson(item);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      droppedItems++;
      continue;
    }
    if (items > 0) window.append(',');
    window.append(part);
    items++;
  }
  window.append(']');
  return { truncation: window.finish(), cited: [...cited], items, droppedItems, counts };
}
