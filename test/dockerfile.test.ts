/** The Dockerfile cannot be built here (no Docker engine): check that what it copies and runs exists. */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

function globExists(pattern: string): boolean {
  if (!pattern.includes('*')) return existsSync(join(root, pattern));
  const dir = pattern.slice(0, pattern.lastIndexOf('/'));
  const re = new RegExp('^' + pattern.slice(pattern.lastIndexOf('/') + 1).replace(/\./g, '\\.').replace(/\*/g, '.*') + '$');
  return readdirSync(join(root, dir)).some((f) => re.test(f));
}

describe('Dockerfile', () => {
  it('copies only files that exist in the repository', () => {
    const copies = dockerfile
      .split('\n')
      .filter((l) => /^COPY\s/.test(l) && !l.includes('--from='))
      .flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
    expect(copies.length).toBeGreaterThan(3);
    for (const src of copies) expect({ src, exists: globExists(src) }).toEqual({ src, exists: true });
  });

  it('runs as a non-root user with a health check on /healthz and the CLI entry that the build produces', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(dockerfile).toContain(`"${pkg.bin.streamlens}"`);
    expect(pkg.scripts.build).toBeDefined();
    // The built entry exists after the test setup's build.
    expect(existsSync(join(root, pkg.bin.streamlens))).toBe(true);
  });

  it('uses a Node 22 slim runtime and a multi-stage build, with Debian\'s ffmpeg in the runtime', () => {
    expect(dockerfile).toMatch(/node:22-[a-z]+-slim/);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends ffmpeg/);
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
  });
});

/** The .ts files under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((f) => {
    const rel = `${dir}/${f}`;
    if (statSync(join(root, rel)).isDirectory()) return sources(rel);
    return /\.(ts|mts|mjs)$/.test(f) ? [rel] : [];
  });
}

describe('the product without the benchmark harness', () => {
  it('src/ never imports bench/, the image does not copy it, and every runtime dependency is one src/ uses', () => {
    const imports = sources('src').map((f) => ({ f, text: readFileSync(join(root, f), 'utf8') }));
    for (const { f, text } of imports) expect({ f, importsBench: /from\s+['"](\.\.\/)+bench\/|import\(\s*['"](\.\.\/)+bench\//.test(text) }).toEqual({ f, importsBench: false });
    expect(dockerfile).not.toMatch(/^COPY\s+bench\b/m);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const all = imports.map((i) => i.text).join('\n');
    for (const dep of Object.keys(pkg.dependencies)) {
      expect({ dep, usedBySrc: new RegExp(`(from\\s+|import\\(\\s*|require\\(\\s*)['"]${dep.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(all) }).toEqual({ dep, usedBySrc: true });
    }
  });
});
