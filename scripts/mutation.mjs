#!/usr/bin/env node
/**
 * `npm run test:mutation [-- module...]`: runs StrykerJS once per pure module (see
 * scripts/mutation-modules.mjs), niced, and prints each module's mutation score and time.
 * Reports: reports/mutation/<module>.html and .json. docs/testing.md explains the survivors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATION_MODULES } from './mutation-modules.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const stryker = join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');
const nice = process.env.STRYKER_NICE ?? '10';

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!MUTATION_MODULES[name]) {
    console.error(`unknown module '${name}'; modules: ${Object.keys(MUTATION_MODULES).join(', ')}`);
    process.exit(2);
  }
}

/** Whether any file can match: the static directory part of each glob exists. */
function present(globs) {
  return globs.some((g) => !g.startsWith('!') && existsSync(join(root, g.split('*')[0])));
}

/** Killed and timed-out mutants over all that ran or had no test (Stryker's "mutation score"). */
function summarise(reportPath) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const count = {};
  for (const file of Object.values(report.files)) for (const m of file.mutants) count[m.status] = (count[m.status] ?? 0) + 1;
  const detected = (count.Killed ?? 0) + (count.Timeout ?? 0);
  const undetected = (count.Survived ?? 0) + (count.NoCoverage ?? 0);
  return { detected, undetected, count, score: detected + undetected ? (100 * detected) / (detected + undetected) : NaN };
}

const rows = [];
let failed = false;
for (const [name, module] of Object.entries(MUTATION_MODULES)) {
  if (wanted.length && !wanted.includes(name)) continue;
  if (!present(module.mutate)) {
    console.log(`\n== ${name}: skipped (no files under ${module.mutate.join(', ')} yet)`);
    continue;
  }
  console.log(`\n== ${name}: ${module.mutate.join(', ')} against ${module.tests.join(', ')}`);
  // Tests read ../../shared (beside the repository) relative to their folder; in the sandbox
  // (.stryker-tmp/<module>/sandbox-*/test) that is .stryker-tmp/<module>/shared.
  const tmp = join(root, '.stryker-tmp', name);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const shared = join(root, '..', 'shared');
  if (existsSync(shared)) symlinkSync(realpathSync(shared), join(tmp, 'shared'));
  const t0 = Date.now();
  const run = spawnSync('nice', ['-n', nice, process.execPath, stryker, 'run', 'stryker.config.mjs'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, STRYKER_MODULE: name },
  });
  const minutes = (Date.now() - t0) / 60_000;
  const report = join(root, 'reports/mutation', `${name}.json`);
  if (run.status !== 0 || !existsSync(report)) {
    console.error(`${name}: stryker exited with ${run.status ?? run.signal}`);
    failed = true;
    continue;
  }
  rows.push({ name, minutes, ...summarise(report) });
}

console.log('\nmodule       score   killed  survived+no-coverage  minutes');
for (const r of rows) {
  console.log(`${r.name.padEnd(12)} ${r.score.toFixed(1).padStart(5)} %  ${String(r.detected).padStart(6)}  ${String(r.undetected).padStart(20)}  ${r.minutes.toFixed(1).padStart(7)}`);
}
process.exit(failed ? 1 : 0);
