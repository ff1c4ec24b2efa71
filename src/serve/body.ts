/** Reads a JSON request body with a size limit; the server's request timeout bounds the time. */
import type { IncomingMessage } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Response headers that go with the error (Retry-After, ...). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The request's media type, lower case, without parameters ("application/json; charset=utf-8" -> "application/json"). */
export function mediaType(req: IncomingMessage): string | undefined {
  const type = req.headers['content-type'];
  return type === undefined ? undefined : type.split(';')[0].trim().toLowerCase();
}

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (mediaType(req) !== 'application/json') throw new HttpError(415, 'expected Content-Type: application/json');
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new HttpError(413, `body larger than ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new HttpError(413, `body larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client went away or the request timeout cut it off mid-body: its problem, not a 500.
    throw new HttpError(408, 'request body incomplete (aborted or timed out)');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}
