// The reliability suite (`npm run test:reliability`): faults, hostile input and secrets, with real
// processes, real files and the bundled local model server. Kept out of `npm test` by its file
// suffix (*.reliability.ts does not match spec/**/*.test.ts). RELIABILITY_KILL_ROUNDS sets the
// number of kill -9 rounds (default 20).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The store checks that no transaction changed a kept document without writing it.
    env: { MEMORIES_STORE_AUDIT: '1' },
    include: ['spec/reliability/**/*.reliability.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    // Several files spawn many processes and mount tmpfs; running files one at a time keeps timings
    // (kill points, timeouts) meaningful on a 2-CPU CI machine.
    fileParallelism: false,
  },
});
