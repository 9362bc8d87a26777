import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['spec/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['spec/support/build-dist.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Vitest runs one file at a time on a 2-CPU machine (CPUs - 1); most files wait on child processes,
    // servers and disks, so two at a time cut the CI run by about a quarter.
    maxWorkers: 2,
  },
});
