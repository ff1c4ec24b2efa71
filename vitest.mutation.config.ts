import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { MUTATION_MODULES } from './scripts/mutation-modules.mjs';

/**
 * The suite's settings for mutation testing (stryker.config.mjs): only the unit tests of the
 * module under test (STRYKER_MODULE) run. They need neither the compiled dist/ nor ffmpeg, so
 * there is no global setup. The tests are chosen here rather than with Stryker's `testFiles`,
 * which in Stryker 9.6 activates static mutants too late (stryker-js issue #6144).
 */
const module = MUTATION_MODULES[process.env.STRYKER_MODULE ?? ''];
const tests: string[] = module ? module.tests : ['test/**/*.test.ts'];

/**
 * Files in the order the module lists them: Stryker stops a mutant's run at its first failing test,
 * so a mutant the quick unit tests kill never reaches a slow end-to-end file listed after them
 * (vitest's own order puts the slowest file first).
 */
class ListedOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const path = relative(f.project.config.root, f.moduleId);
      const i = tests.findIndex((t) => path === t || (t.includes('*') && path.startsWith(t.split('*')[0])));
      return i < 0 ? tests.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: tests,
    sequence: { sequencer: ListedOrder },
    // Instrumented code on a loaded machine is slow; a mutant that hangs is ended by Stryker's
    // own timeout (stryker.config.mjs) well before this.
    testTimeout: 60_000,
  },
});
