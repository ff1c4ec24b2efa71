/**
 * The type of a source, asking the server when the URL alone does not tell: one GET of an HTTP URL
 * for its headers (the body is sniffed for "#EXTM3U" when its type is vague, and read when it is an
 * HLS playlist, for its end marker).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { looksLikeHls, parsePlaylist, readPlaylist, type HlsPlaylist } from './hls.js';
import { httpGet, HttpGetError } from './http.js';
import { SourceError } from './probe.js';
import { typeFromUrl, type SourceProfile } from './sourceType.js';
import { redactUrl, sourceKind } from './sourceUrl.js';

export interface ClassifyOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Bytes sniffed from a body whose content type leaves it open (is it an M3U8 playlist?). */
const SNIFF_BYTES = 7;

/**
 * The source's type. HTTP: one GET, headers only (the body is sniffed for "#EXTM3U" when its type
 * is vague, and read when it is a playlist). Rejects with a SourceError: UNAUTHORIZED for 401/403,
 * UNREACHABLE for other HTTP errors and refused connections, TIMEOUT, CANCELLED.
 */
export async function classifySource(url: string, opts: ClassifyOptions): Promise<SourceProfile> {
  const fromUrl = typeFromUrl(url);
  if (sourceKind(url) !== 'http') return { type: fromUrl };
  const shown = redactUrl(url);
  let answer;
  try {
    answer = await httpGet(url, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      maxBodyBytes: 8 << 20,
      wantBody: (headers, u) => looksLikeHls(u, headers['content-type']),
      sniffBytes: (headers) => (vagueType(headers) ? SNIFF_BYTES : 0),
    });
  } catch (err) {
    if (opts.signal?.aborted) throw new SourceError('CANCELLED', `opening ${shown} cancelled`);
    if (err instanceof HttpGetError && err.timedOut) throw new SourceError('TIMEOUT', `no answer from ${shown} within ${opts.timeoutMs} ms`);
    throw new SourceError('UNREACHABLE', `cannot open ${shown} (${(err as Error).message})`);
  }
  const { status, headers } = answer;
  if (status === 401 || status === 403) {
    // Digest (common on cameras) is ffmpeg's to answer: leave it to ffmpeg, by the URL's looks.
    if (status === 401 && /digest/i.test(String(headers['www-authenticate'] ?? ''))) return { type: fromUrl };
    throw new SourceError('UNAUTHORIZED', `${shown}: HTTP ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'} (wrong or missing credentials)`);
  }
  if (status < 200 || status >= 300) throw new SourceError('UNREACHABLE', `cannot open ${shown} (HTTP ${status})`);
  const contentType = String(headers['content-type'] ?? '');
  const body = answer.body;
  if (looksLikeHls(answer.url, contentType) || body?.subarray(0, SNIFF_BYTES).toString('latin1') === '#EXTM3U') {
    let playlist: HlsPlaylist;
    try {
      playlist = body && body.length > SNIFF_BYTES ? parsePlaylist(body.toString('utf8'), answer.url.href) : await readPlaylist(url, opts);
      if (playlist.variants.length > 0) playlist = await readPlaylist(url, opts);
    } catch (err) {
      throw new SourceError('NOT_VIDEO', `cannot read the HLS playlist ${shown}: ${(err as Error).message}`);
    }
    return { type: playlist.ended ? 'hls-vod' : 'hls-live', playlist };
  }
  if (/^multipart\/x-mixed-replace/i.test(contentType)) return { type: 'mjpeg' };
  // A length means a file (an encoder's live output has none: chunked or until the connection closes).
  if (headers['content-length'] !== undefined && Number(headers['content-length']) > 0) return { type: 'http-file' };
  return { type: 'http-live' };
}

/** A content type that does not say what the body is. */
function vagueType(headers: IncomingHttpHeaders): boolean {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  return type === '' || type.startsWith('text/') || type === 'application/octet-stream';
}
