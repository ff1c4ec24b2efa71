/** Optional bearer token for the HTTP API and WebSocket: `Authorization: Bearer <token>` or `?token=`. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time check (hashing first makes the comparison length-independent). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

export function requestToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return m ? m[1].trim() : (url.searchParams.get('token') ?? undefined);
}

/** True when no token is configured or the request carries the right one. */
export function isAuthorised(req: IncomingMessage, url: URL, token: string | undefined): boolean {
  return token === undefined || tokenMatches(requestToken(req, url), token);
}
