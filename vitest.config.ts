import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The store checks that no transaction changed a kept document without writing it.
    env: { MEMORIES_STORE_AUDIT: '1' },
    include: ['spec/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
