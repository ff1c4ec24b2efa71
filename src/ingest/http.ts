/**
 * One HTTP(S) GET for what ffmpeg cannot tell us before it opens a URL: the response headers (is it
 * a file, an MJPEG camera, a live stream?) and, for HLS, the playlist text. Follows redirects
 * between http and https only, sends the URL's user:password as Basic credentials (as ffmpeg does),
 * and reads at most `maxBodyBytes` of a body it was asked for; any other body is not read.
 * Certificates are not verified, like ffmpeg's own HTTPS (tls_verify=0): only headers and a
 * playlist are read here, the same bytes ffmpeg then reads.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpGetOptions {
  /** Deadline for the answer's headers (and the body, when read), ms. */
  timeoutMs: number;
  /** Read the body up to this many bytes (0: do not read it). */
  maxBodyBytes?: number;
  /** Read the body only when this says so about the headers (default: always, when maxBodyBytes > 0). */
  wantBody?(headers: IncomingHttpHeaders, url: URL): boolean;
  /** Bytes to read to sniff the start of a body whose headers leave its kind open. */
  sniffBytes?(headers: IncomingHttpHeaders, url: URL): number;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** After redirects. */
  url: URL;
  /** The body (up to maxBodyBytes) or the sniffed start of it; undefined when not read. */
  body?: Buffer;
}

/** Why a GET gave no answer: refused, reset, timed out, bad URL, too many redirects. */
export class HttpGetError extends Error {
  override readonly name = 'HttpGetError';
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 5;

export async function httpGet(url: string, opts: HttpGetOptions): Promise<HttpAnswer> {
  let target = new URL(url);
  const deadline = performance.now() + opts.timeoutMs;
  for (let hop = 0; ; hop++) {
    const answer = await getOnce(target, opts, deadline);
    const location = answer.headers.location;
    if (answer.status >= 300 && answer.status < 400 && location && hop < MAX_REDIRECTS) {
      const next = new URL(location, target);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HttpGetError(`redirected to a ${next.protocol} URL`, false);
      // Credentials stay with the host they were given for.
      if (next.host !== target.host) {
        next.username = '';
        next.password = '';
      } else if (!next.username && target.username) {
        next.username = target.username;
        next.password = target.password;
      }
      target = next;
      continue;
    }
    return answer;
  }
}

function getOnce(url: URL, opts: HttpGetOptions, deadline: number): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'streamlens', accept: '*/*' };
    if (url.username) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    const plain = new URL(url);
    plain.username = '';
    plain.password = '';
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (err: Error | undefined, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (err) reject(err);
      else resolve(answer as HttpAnswer);
    };
    const req = request(plain, { method: 'GET', headers, rejectUnauthorized: false }, (res) => onResponse(res));
    const timer = setTimeout(() => finish(new HttpGetError(`no answer within ${opts.timeoutMs} ms`, true)), Math.max(0, deadline - performance.now()));
    const onAbort = (): void => finish(new HttpGetError('cancelled', false));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(new HttpGetError(err.message, false)));
    req.end();

    function onResponse(res: IncomingMessage): void {
      const status = res.statusCode ?? 0;
      const base = { status, headers: res.headers, url };
      const full = status >= 200 && status < 300 && (opts.maxBodyBytes ?? 0) > 0 && (opts.wantBody?.(res.headers, url) ?? true);
      const limit = full ? (opts.maxBodyBytes as number) : status >= 200 && status < 300 ? (opts.sniffBytes?.(res.headers, url) ?? 0) : 0;
      if (limit <= 0) return finish(undefined, base);
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= limit) finish(undefined, { ...base, body: Buffer.concat(chunks).subarray(0, limit) });
      });
      res.on('end', () => finish(undefined, { ...base, body: Buffer.concat(chunks) }));
      res.on('error', (err) => finish(new HttpGetError(err.message, false)));
    }
  });
}
