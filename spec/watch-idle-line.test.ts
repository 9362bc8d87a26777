// `memories watch` says how long a rollout must be idle in the unit that states it: 0 s, 30 s, 90 min, 6 h.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDuration } from '../scripts/commands/run-summary.ts';
import { spawnMemories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

describe('the idle window in words', () => {
  it('is written in the largest unit that states it exactly', () => {
    expect([0, 30_000, 90 * 60_000, 6 * 3_600_000, 1_500].map(formatDuration)).toEqual(['0 s', '30 s', '90 min', '6 h', '1.5 s']);
  });

  it('reads 0 s, not 0 h, for watch --idle-minutes 0', async () => {
    const watch = spawnMemories(['watch', '--codex-home', home, '--base-url', 'http://127.0.0.1:1/v1', '--idle-minutes', '0']);
    try {
      expect(await watch.line(/^watching /)).toMatch(/: a rollout is extracted once idle for 0 s$/);
    } finally {
      watch.child.kill('SIGTERM');
      await watch.exited;
    }
  });
});
