// Builds the phase-1 request for one rollout (spec §2.3 steps 1–3, §2.5, §6.1–§6.2).
// Unlike the spec's target (4 bytes per token, rollout sent unredacted), the rollout is redacted
// before it leaves the machine and is truncated by real o200k token count.
import { loadMemoryItems } from './memory-items.ts';
import { redactDeep } from './redact.ts';
import { loadTemplate, renderTemplate } from './templates.ts';
import { truncateToTokens } from './tokens.ts';
import type { ThreadInfo } from './types.ts';

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
  /** Items left out because they are nested too deeply to redact and serialise. */
  droppedItems: number;
}

export async function buildStageOneRequest({ thread, model }: { thread: ThreadInfo; model: string }): Promise<StageOneRequest> {
  const [instructions, inputTemplate, loaded] = await Promise.all([
    stageOneInstructions(),
    loadTemplate('stage_one_input'),
    loadMemoryItems(thread.rolloutPath),
  ]);
  // Secrets are removed from every string before anything is serialized, so neither the model
  // provider nor a truncation marker boundary can expose one.
  // Item by item, so that one item nested too deeply to walk (a hostile or corrupt line: redaction
  // and JSON.stringify recurse and overflow the stack) is dropped alone instead of failing the
  // whole rollout with "Maximum call stack size exceeded". Same text as stringifying the array.
  const parts: string[] = [];
  let droppedItems = 0;
  for (const item of loaded.items) {
    try {
      parts.push(JSON.stringify(redactDeep(item)));
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      droppedItems++;
    }
  }
  const contents = `[${parts.join(',')}]`;
  const tokenLimit = stageOneTokenLimit(model);
  const truncation = truncateToTokens(contents, tokenLimit);
  const input = renderTemplate(inputTemplate, [
    ['rollout_path', thread.rolloutPath],
    ['rollout_cwd', thread.cwd],
    ['rollout_contents', truncation.text], // untrusted and long: inserted last
  ]);
  return {
    instructions,
    input,
    tokenLimit,
    truncated: truncation.truncated,
    items: parts.length,
    corruptLines: loaded.corruptLines,
    droppedItems,
  };
}
