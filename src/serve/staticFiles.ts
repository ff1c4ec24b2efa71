/**
 * Serves the built dashboard (dist/dashboard/, made by `npm run build:dashboard`): `GET /` is its
 * index.html, `GET /dashboard/<file>` its assets. Only plain file names of that one folder are
 * served (no subfolders, no dot files), so no path can leave it. Assets carry content hashes in
 * their names and are cached for good; index.html is revalidated every time.
 *
 * The files hold no data (everything live comes from the API and /ws, which need the token when
 * one is set), so they are served without the token: the page reads `?token=` and passes it on.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;

/** dist/dashboard of the streamlens checkout this module runs from (src/ under vitest, dist/src/ when built). */
export function defaultDashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'streamlens') return join(dir, 'dist', 'dashboard');
    const up = dirname(dir);
    if (up === dir) throw new Error('staticFiles: cannot find the streamlens package root');
    dir = up;
  }
}

function send(res: ServerResponse, req: IncomingMessage, status: number, headers: Record<string, string | number>, body: Buffer | string): void {
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The file name a dashboard path maps to, or undefined when the path is not the dashboard's. */
export function dashboardFileName(pathname: string): string | undefined {
  if (pathname === '/' || pathname === '/index.html') return 'index.html';
  if (!pathname.startsWith('/dashboard/')) return undefined;
  const name = pathname.slice('/dashboard/'.length);
  return ASSET_NAME.test(name) && contentTypes[extname(name)] !== undefined ? name : '';
}

export function isDashboardPath(pathname: string): boolean {
  return dashboardFileName(pathname) !== undefined;
}

/** Answers a request for which isDashboardPath() holds; never rejects. */
export async function serveDashboard(req: IncomingMessage, res: ServerResponse, url: URL, dir = defaultDashboardDir()): Promise<void> {
  const name = dashboardFileName(url.pathname);
  const text = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, req, 405, { ...text, allow: 'GET, HEAD, OPTIONS' }, `method ${req.method} not allowed\n`);
      return;
    }
    // '' is a /dashboard/ path that is not a plain asset name: never looked up.
    const file = name ? join(dir, name) : undefined;
    const info = file ? await stat(file).catch(() => undefined) : undefined;
    if (!file || !info?.isFile()) {
      send(res, req, 404, text, name === 'index.html' ? 'dashboard not built: run `npm run build`\n' : 'not found\n');
      return;
    }
    const body = await readFile(file);
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    const headers = {
      'content-type': contentTypes[extname(file)],
      'cache-control': name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
      etag,
      'x-content-type-options': 'nosniff',
    };
    if (req.headers['if-none-match'] === etag) send(res, req, 304, headers, '');
    else send(res, req, 200, { ...headers, 'content-length': body.length }, body);
  } catch {
    if (res.headersSent) res.destroy();
    else send(res, req, 500, text, 'internal error\n');
  }
}
