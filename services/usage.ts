// Token usage arithmetic (pure: machines may use it too).
import type { TokenUsage } from './types.ts';

export const ZERO_USAGE: TokenUsage = { input: 0, cachedInput: 0, output: 0, reasoningOutput: 0, total: 0 };

/**
 * Field-wise sum over finished jobs (succeeded, with or without output). Codex counts neither failed
 * attempts nor negative values (clamped to 0).
 */
export function sumFinishedUsage(jobs: ReadonlyArray<{ usage: TokenUsage | null; outcome: string }>): TokenUsage {
  const total = { ...ZERO_USAGE };
  for (const { usage, outcome } of jobs) {
    if (!usage || (outcome !== 'succeeded' && outcome !== 'succeededNoOutput')) continue;
    total.input += Math.max(0, usage.input);
    total.cachedInput += Math.max(0, usage.cachedInput);
    total.output += Math.max(0, usage.output);
    total.reasoningOutput += Math.max(0, usage.reasoningOutput);
    total.total += Math.max(0, usage.total);
  }
  return total;
}
