import { defineConfig } from 'vitest/config';
import { MUTATION_MODULES } from './scripts/mutation-modules.mjs';

/**
 * The suite's settings for mutation testing (stryker.config.mjs): only the unit tests of the
 * module under test (STRYKER_MODULE) run. They need neither the compiled dist/ nor ffmpeg, so
 * there is no global setup. The tests are chosen here rather than with Stryker's `testFiles`,
 * which in Stryker 9.6 activates static mutants too late (stryker-js issue #6144).
 */
const module = MUTATION_MODULES[process.env.STRYKER_MODULE ?? ''];

export default defineConfig({
  test: {
    include: module ? module.tests : ['test/**/*.test.ts'],
    // Instrumented code on a loaded machine is slow; a mutant that hangs is ended by Stryker's
    // own timeout (stryker.config.mjs) well before this.
    testTimeout: 60_000,
  },
});
