// @ts-check
/**
 * Mutation testing of the pure modules (StrykerJS 9 with its vitest runner; docs/testing.md).
 * One module per run, chosen by STRYKER_MODULE (scripts/mutation.mjs runs them all in turn):
 * each module's mutants must be killed by that module's own unit tests, and restricting the
 * test run to those files keeps every mutant's run short.
 */
import { MUTATION_MODULES } from './scripts/mutation-modules.mjs';

const name = process.env.STRYKER_MODULE ?? '';
const module = MUTATION_MODULES[name];
if (!module) throw new Error(`STRYKER_MODULE must be one of ${Object.keys(MUTATION_MODULES).join(', ')}; got '${name}'`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // The tests that run are the module's own (vitest.mutation.config.ts reads STRYKER_MODULE too).
  mutate: module.mutate,
  // Two cores are shared by everything on the machine; STRYKER_CONCURRENCY may lower it to 1.
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
  // A loaded machine slows a run several-fold; a mutant that loops forever still times out.
  timeoutMS: 10_000,
  // Only sources, tests and the files they read are copied into the sandbox.
  ignorePatterns: ['/*', '!/src', '!/test', '!/package.json', '!/tsconfig.json', '!/vitest.mutation.config.ts', '!/scripts', '/test/artifacts'],
  tempDirName: `.stryker-tmp/${name}`,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  thresholds: { high: 90, low: 85, break: null },
  cleanTempDir: 'always',
};
