import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    // Deadlines for hangs, not for speed: a niced run on a loaded machine is several times slower.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Tests spawn ffmpeg, servers and workers; two cores are the budget.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
