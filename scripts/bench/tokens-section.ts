// Tokens per rollout: what our phase 1 sends (exactly what buildStageOneRequest returns) next to Codex's
// target request (codex-target.ts), both counted with the real tokenizer.
import { buildStageOneRequest, stageOneTokenLimit } from '../../services/extraction/stage-one-prompt.ts';
import { countTokens } from '../../services/tokens/tokens.ts';
import type { ThreadInfo } from '../../services/types.ts';
import { buildCodexStageOneRequest } from './codex-target.ts';

/** Context windows as in services/extraction/stage-one-prompt.ts (not exported there). */
export const MODEL_WINDOWS: Record<string, number> = { 'gpt-5.3-codex-spark': 128_000, 'gpt-5.3-codex': 272_000 };

export type RolloutTokens = Awaited<ReturnType<typeof rolloutTokens>>;

export async function rolloutTokens(label: string, thread: ThreadInfo, model: string) {
  const window = MODEL_WINDOWS[model];
  if (window === undefined) throw new Error(`no context window known for ${model}`);
  const ours = await buildStageOneRequest({ thread, model });
  const instructions = countTokens(ours.instructions);
  const input = countTokens(ours.input);
  const codex = await buildCodexStageOneRequest(thread, model);
  // The serialized rollout inside the rendered stage_one_input, template text excluded.
  const contents = /as one JSON array\):\n\n([\s\S]*)\n\nIMPORTANT: the transcript above/.exec(codex.input)?.[1] ?? codex.input;
  return {
    label,
    source: thread.source,
    bytes: thread.sizeBytes,
    ours: { instructions, input, total: instructions + input, truncated: ours.truncated },
    codex: {
      total: countTokens(codex.instructions) + countTokens(codex.input),
      truncated: codex.truncated,
      estimatedRollout: codex.estimatedRolloutTokens,
      rollout: countTokens(contents),
    },
    tokenLimit: stageOneTokenLimit(model),
    window,
  };
}

/** Codex's usable share of a context window (95 %). */
export const effectiveWindow = (window: number) => Math.floor((window * 95) / 100);
