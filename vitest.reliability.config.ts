// The reliability suite: faults, hostile input and secrets, with real processes, real files and the
// bundled local model server. `npm test` runs it after the unit suite (scripts/test.sh); its own
// file suffix (*.reliability.ts) keeps it out of the unit run. RELIABILITY_KILL_ROUNDS sets the
// number of kill -9 rounds (default 20).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['spec/reliability/**/*.reliability.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['spec/support/build-dist.ts'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    // Several files spawn many processes and mount tmpfs; running files one at a time keeps timings
    // (kill points, timeouts) meaningful on a 2-CPU CI machine.
    fileParallelism: false,
  },
});
