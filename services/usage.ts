// Token usage arithmetic (pure: machines may use it too).
import type { TokenUsage } from './types.ts';

export const ZERO_USAGE: TokenUsage = { input: 0, cachedInput: 0, output: 0, reasoningOutput: 0, total: 0 };

/** Field-wise sum over finished jobs; like Codex, no failed attempts and no negative values (clamped to 0). */
export function sumFinishedUsage(jobs: ReadonlyArray<{ usage: TokenUsage | null; outcome: string }>): TokenUsage {
  const total = { ...ZERO_USAGE };
  for (const { usage, outcome } of jobs) {
    if (!usage || (outcome !== 'succeeded' && outcome !== 'succeededNoOutput')) continue;
    for (const key of Object.keys(total) as Array<keyof TokenUsage>) total[key] += Math.max(0, usage[key]);
  }
  return total;
}
