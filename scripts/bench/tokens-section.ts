// Tokens per rollout: what our phase 1 sends for each rollout of the shared corpus, counted with
// the real tokenizer on exactly what buildStageOneRequest returns, next to Codex's target request
// (scripts/bench/codex-target.ts) counted the same way.
import { buildStageOneRequest, stageOneTokenLimit } from '../../services/extraction/stage-one-prompt.ts';
import { countTokens } from '../../services/tokens/tokens.ts';
import type { ThreadInfo } from '../../services/types.ts';
import { buildCodexStageOneRequest } from './codex-target.ts';

/** Context windows as in services/extraction/stage-one-prompt.ts (not exported there). */
export const MODEL_WINDOWS: Record<string, number> = { 'gpt-5.3-codex-spark': 128_000, 'gpt-5.3-codex': 272_000 };
export const EFFECTIVE_WINDOW_PERCENT = 95;

export interface RolloutTokens {
  label: string;
  source: string;
  bytes: number;
  ours: { instructions: number; input: number; total: number; truncated: boolean };
  codex: { total: number; truncated: boolean; estimatedRollout: number; rollout: number };
  tokenLimit: number;
  window: number;
}

/** Tokens of the serialized rollout inside a rendered stage_one_input (template text excluded). */
function contentsOf(input: string): string {
  return /as one JSON array\):\n\n([\s\S]*)\n\nIMPORTANT: the transcript above/.exec(input)?.[1] ?? input;
}

export async function rolloutTokens(label: string, thread: ThreadInfo, model: string): Promise<RolloutTokens> {
  const window = MODEL_WINDOWS[model];
  if (window === undefined) throw new Error(`no context window known for ${model}`);
  const ours = await buildStageOneRequest({ thread, model });
  const instructions = countTokens(ours.instructions);
  const input = countTokens(ours.input);
  const codex = await buildCodexStageOneRequest({ thread, model });
  const codexTotal = countTokens(codex.instructions) + countTokens(codex.input);
  return {
    label,
    source: thread.source,
    bytes: thread.sizeBytes,
    ours: { instructions, input, total: instructions + input, truncated: ours.truncated },
    codex: {
      total: codexTotal,
      truncated: codex.truncated,
      estimatedRollout: codex.estimatedRolloutTokens,
      rollout: countTokens(contentsOf(codex.input)),
    },
    tokenLimit: stageOneTokenLimit(model),
    window,
  };
}

export function effectiveWindow(window: number): number {
  return Math.floor((window * EFFECTIVE_WINDOW_PERCENT) / 100);
}
