import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core machines: keep workers bounded so timing-sensitive integration tests are stable.
    maxWorkers: 2,
  },
});
