#!/usr/bin/env node
// A receiver for streamlens webhooks that checks each request's signature (docs/analytics.md).
// Node.js only, no packages:
//   STREAMLENS_WEBHOOK_SECRET=s3cret node docs/examples/webhook-receiver.mjs 9000
// and in the streamlens config: "events": {"webhooks": [{"url": "http://127.0.0.1:9000/", "secret": "s3cret"}]}
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** Refuse requests signed longer ago (or further ahead) than this: a captured request cannot be replayed later. */
const TOLERANCE_SECONDS = 300;

/**
 * True when `signature` (x-streamlens-signature) is "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + rawBody)
 * and `timestamp` (x-streamlens-timestamp, unix seconds) is recent. Check the raw bytes, before parsing the JSON.
 */
export function verify(secret, rawBody, timestamp, signature, nowSeconds = Date.now() / 1000) {
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex'));
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** An HTTP server that answers 204 to signed events (handing each to `onEvent`) and 401 to anything else. */
export function createReceiver(secret, onEvent) {
  const seen = new Set(); // event ids: a retry after a lost answer repeats an event
  return createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (req.method !== 'POST' || !verify(secret, raw, req.headers['x-streamlens-timestamp'], req.headers['x-streamlens-signature'])) {
        res.writeHead(401).end();
        return;
      }
      const event = JSON.parse(raw.toString('utf8'));
      if (!seen.has(event.id)) {
        seen.add(event.id);
        if (seen.size > 10_000) seen.delete(seen.values().next().value);
        onEvent(event);
      }
      res.writeHead(204).end();
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.STREAMLENS_WEBHOOK_SECRET;
  if (!secret) {
    console.error('set STREAMLENS_WEBHOOK_SECRET to the webhook\'s "secret"');
    process.exit(2);
  }
  const port = Number(process.argv[2] ?? 9000);
  createReceiver(secret, (e) => console.log(`${e.time ?? ''} ${e.stream} ${e.type} ${e.line ?? e.zone} ${e.direction ?? ''} ${e.label} #${e.track_id}`)).listen(port, '127.0.0.1', () =>
    console.log(`listening on http://127.0.0.1:${port}/`),
  );
}
