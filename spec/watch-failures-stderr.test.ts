// `memories watch` says a run's failure on stderr, as `run` does: a phase 2 that could not reach its model is not
// only a word in the stdout summary line.
import { beforeAll, describe, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { memories, spawnMemories } from './support/cli.ts';
import { memoryHomePerFile } from './support/memory-home.ts';

const t = memoryHomePerFile();
beforeAll(async () => {
  await installFixtureRollouts(t.home);
});

describe('watch and failures', () => {
  it('writes a failed phase 2 to stderr with its reason, beside the run line on stdout', async () => {
    // Phase 1 done with a working model; the daemon's catch-up run then consolidates against a dead one.
    expect((await memories(['run', '--codex-home', t.home, '--base-url', t.server.url, '--phase', '1', '--quiet'])).code).toBe(0);
    const dead = 'http://127.0.0.1:9/v1';
    const watch = spawnMemories(['watch', '--codex-home', t.home, '--base-url', dead, '--quiet']);
    try {
      expect(await watch.line(/^run 1 /)).toMatch(/phase 2 failed/);
      const line = await watch.line(/^memories: run 1: phase 2 failed: /, 'stderr');
      expect(line).toContain(`could not reach the model server at ${dead}`);
    } finally {
      watch.child.kill('SIGTERM');
      await watch.exited;
    }
  });
});
