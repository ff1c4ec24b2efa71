// @ts-check
/**
 * Builds the dashboard into dist/dashboard/: type-checks the browser sources (their own tsconfig,
 * DOM lib), bundles main.ts and dashboard.css with esbuild under content-hashed names, and writes
 * index.html pointing at them (so the server can cache the assets forever and index.html never).
 * Importable (`buildDashboard()`, e.g. from a test setup) and runnable (`node build.mjs`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const srcDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(srcDir, '..', '..', '..');

/**
 * @param {{ outDir?: string, typecheck?: boolean }} [options]
 * @returns {Promise<{ outDir: string, files: string[] }>}
 */
export async function buildDashboard(options = {}) {
  const outDir = options.outDir ?? join(repoRoot, 'dist', 'dashboard');
  if (options.typecheck !== false) {
    execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(srcDir, 'tsconfig.json')], { stdio: 'inherit' });
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(srcDir, 'main.ts'), style: join(srcDir, 'dashboard.css') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  /** @type {Record<string, string>} */
  const built = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (meta.entryPoint) built[basename(meta.entryPoint)] = basename(file);
  }
  const html = readFileSync(join(srcDir, 'index.html'), 'utf8')
    .replace('{{app.js}}', `/dashboard/${built['main.ts']}`)
    .replace('{{style.css}}', `/dashboard/${built['dashboard.css']}`);
  writeFileSync(join(outDir, 'index.html'), html);
  return { outDir, files: ['index.html', ...Object.keys(result.metafile.outputs).map((f) => basename(f))] };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outDir, files } = await buildDashboard();
  process.stdout.write(`dashboard: ${files.length} files in ${outDir}\n`);
}
