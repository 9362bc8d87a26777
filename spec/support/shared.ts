// The team's read-only corpus sits beside the checkout (../shared), on developer machines and in CI.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared');
export const REAL_ROLLOUTS = join(SHARED, 'real-rollouts');
export const V169_ROLLOUTS = join(SHARED, 'codex-0.169-rollouts');

if (!existsSync(REAL_ROLLOUTS)) {
  throw new Error(`the shared rollout corpus is missing: expected ${REAL_ROLLOUTS} (clone this repo next to shared/)`);
}
