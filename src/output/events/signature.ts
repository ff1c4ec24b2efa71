/**
 * Webhook signatures. With a secret, each POST carries
 *   x-streamlens-timestamp: <unix seconds when signed>
 *   x-streamlens-signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 * Signing the timestamp with the body lets a receiver refuse replays (an old timestamp) without
 * keeping state; each retry is signed anew.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-streamlens-signature';
export const TIMESTAMP_HEADER = 'x-streamlens-timestamp';

export function signPayload(secret: string, timestamp: number, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The headers to add to a POST of `body`. */
export function signatureHeaders(secret: string, body: string, nowSeconds: number): Record<string, string> {
  const timestamp = Math.floor(nowSeconds);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signPayload(secret, timestamp, body) };
}
