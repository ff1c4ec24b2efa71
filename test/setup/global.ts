/**
 * Compiles src/ once before the tests: inference workers and CLI tests run the built JavaScript
 * (worker_threads cannot load TypeScript), so tests exercise what users run.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
}
