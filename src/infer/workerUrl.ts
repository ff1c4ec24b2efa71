/**
 * Worker threads cannot load TypeScript. When this code runs from source (tests, ts loaders),
 * `import.meta.url` is `.../src/<path>.ts`; the worker is then loaded from the compiled copy at
 * `.../dist/src/<path>.js` (the build compiles src/** to dist/src/**).
 */
export function workerUrl(script: string, base: string): URL {
  const url = new URL(script, base);
  if (!new URL(base).pathname.endsWith('.ts')) return url;
  const path = url.pathname;
  const at = path.lastIndexOf('/src/');
  if (at < 0) throw new Error(`workerUrl: ${base} is a .ts file outside src/; cannot locate the compiled worker`);
  url.pathname = `${path.slice(0, at)}/dist${path.slice(at)}`.replace(/\.ts$/, '.js');
  return url;
}
