import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest ancestor of this module with streamlens' package.json, so the
 * generated-artefact caches (models/, streams/media/) resolve the same from src/ and dist/src/.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'streamlens') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the streamlens repository root (package.json named "streamlens")');
    dir = parent;
  }
}
