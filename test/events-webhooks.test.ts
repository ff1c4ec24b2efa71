/**
 * The webhook event output against local HTTP receivers: headers and the HMAC signature (checked
 * with the receiver example of docs/analytics.md), retries on 500, a receiver that never answers,
 * 4xx, connection refused, type filters, and a bounded shutdown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSink } from '../src/output/events/webhookSink.js';
import { DEFAULT_WEBHOOK, type WebhookSettings } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { lineCross, resultWith } from './helpers/eventFixtures.js';
import { until } from './helpers/serveHarness.js';
// @ts-expect-error: a plain .mjs example without types
import { createReceiver, verify } from '../docs/examples/webhook-receiver.mjs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const log = createLogger({ test: 'webhooks' }, 'silent');

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** A receiver that records every request and answers with `answer(n)` (n = 0-based request count); undefined = never answer. */
async function receiver(answer: (n: number) => number | undefined): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(got.length);
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      if (status !== undefined) res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?x=1`, got, server };
}

describe('webhook sink', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function sink(url: string, extra: Partial<WebhookSettings> = {}): WebhookSink {
    const s = new WebhookSink({
      settings: { ...DEFAULT_WEBHOOK, url, retry: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0 }, ...extra },
      index: 0,
      version: 'test',
      log,
    });
    cleanup.push(() => s.close());
    return s;
  }

  function serve(server: Server): void {
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
  }

  it('POSTs each event as its JSON, in order, signed over timestamp and raw body', async () => {
    const r = await receiver(() => 204);
    serve(r.server);
    const s = sink(r.url, { secret: 's3cret' });
    const events = [lineCross('gate'), lineCross('gate', { type: 'zone_enter', zone: 'bay' } as never), lineCross('gate')];
    s.write(resultWith('gate', events.slice(0, 2)));
    s.write(resultWith('gate', events.slice(2)));
    await until(() => r.got.length === 3, 5000, 'three requests');
    expect(r.got.map((g) => JSON.parse(g.body))).toEqual(events);
    for (const [i, g] of r.got.entries()) {
      expect(g.headers['content-type']).toBe('application/json');
      expect(g.headers['user-agent']).toBe('streamlens/test');
      expect(g.headers['x-streamlens-event']).toBe(events[i].type);
      expect(g.headers['x-streamlens-event-id']).toBe(events[i].id);
      expect(g.headers['x-streamlens-attempt']).toBe('1');
      const ts = g.headers['x-streamlens-timestamp'] as string;
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(10);
      expect(verify('s3cret', Buffer.from(g.body), ts, g.headers['x-streamlens-signature'])).toBe(true);
      // Another secret, another body, or the same request replayed later do not verify.
      expect(verify('other', Buffer.from(g.body), ts, g.headers['x-streamlens-signature'])).toBe(false);
      expect(verify('s3cret', Buffer.from(g.body + ' '), ts, g.headers['x-streamlens-signature'])).toBe(false);
      expect(verify('s3cret', Buffer.from(g.body), ts, g.headers['x-streamlens-signature'], Number(ts) + 301)).toBe(false);
    }
    await until(() => s.eventStats()[0].published === 3, 5000, 'published');
    expect(s.eventStats()[0]).toMatchObject({ sink: 'webhooks[0]', retries: 0, dropped: {}, queueDepth: 0 });
  });

  it('sends no signature headers without a secret, and only the configured types', async () => {
    const r = await receiver(() => 200);
    serve(r.server);
    const s = sink(r.url, { types: ['zone_enter'] });
    s.write(resultWith('gate', [lineCross('gate'), lineCross('gate', { type: 'zone_enter', zone: 'bay' } as never), lineCross('gate')]));
    await until(() => s.eventStats()[0].published === 1, 5000, 'one delivery');
    expect(r.got).toHaveLength(1);
    expect(JSON.parse(r.got[0].body).type).toBe('zone_enter');
    expect(r.got[0].headers['x-streamlens-signature']).toBeUndefined();
    expect(r.got[0].headers['x-streamlens-timestamp']).toBeUndefined();
  });

  it('retries a 500 with backoff and a fresh signature, then counts the delivery', async () => {
    const r = await receiver((n) => (n === 0 ? 500 : 200));
    serve(r.server);
    const s = sink(r.url, { secret: 'k' });
    const e = lineCross('gate');
    s.write(resultWith('gate', [e]));
    await until(() => s.eventStats()[0].published === 1, 5000, 'the retried delivery');
    expect(r.got).toHaveLength(2);
    expect(r.got.map((g) => g.headers['x-streamlens-attempt'])).toEqual(['1', '2']);
    expect(r.got.map((g) => g.body)).toEqual([JSON.stringify(e), JSON.stringify(e)]);
    expect(r.got[1].at - r.got[0].at).toBeGreaterThanOrEqual(45); // the first backoff step, 50 ms
    expect(verify('k', Buffer.from(r.got[1].body), r.got[1].headers['x-streamlens-timestamp'], r.got[1].headers['x-streamlens-signature'])).toBe(true);
    expect(s.eventStats()[0]).toMatchObject({ retries: 1, dropped: {} });
  });

  it('drops a 4xx answer without retrying it', async () => {
    const r = await receiver(() => 404);
    serve(r.server);
    const s = sink(r.url);
    s.write(resultWith('gate', [lineCross('gate')]));
    await until(() => s.eventStats()[0].dropped.rejected === 1, 5000, 'the rejection');
    expect(r.got).toHaveLength(1);
    expect(s.eventStats()[0]).toMatchObject({ published: 0, retries: 0 });
  });

  it('a receiver that never answers: bounded queue, timeouts counted, write() never waits', async () => {
    const r = await receiver(() => undefined);
    serve(r.server);
    const s = sink(r.url, { timeoutMs: 150, maxAttempts: 2, maxQueue: 3 });
    // write() returns nothing to await; the queue and the drops are counted when it returns.
    for (let i = 0; i < 20; i++) expect(s.write(resultWith('gate', [lineCross('gate')]))).toBeUndefined();
    // One in delivery, three waiting, the rest dropped oldest first.
    expect(s.eventStats()[0]).toMatchObject({ queueDepth: 4, dropped: { queue_full: 16 } });
    await until(() => (s.eventStats()[0].dropped.failed ?? 0) === 4, 10_000, 'every attempt to time out');
    expect(r.got).toHaveLength(8); // 4 events x 2 attempts
    expect(s.eventStats()[0]).toMatchObject({ published: 0, retries: 4, queueDepth: 0 });
  });

  it('attempts at a receiver that never answers end at their timeout also while garbage collection runs', async () => {
    // Node 20's fetch loses a composed AbortSignal (AbortSignal.any of a timeout) to garbage
    // collection: the attempt then never ends. Collect often while the attempts run.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const r = await receiver(() => undefined);
    serve(r.server);
    const s = sink(r.url, { timeoutMs: 150, maxAttempts: 1, maxQueue: 10 });
    for (let i = 0; i < 5; i++) s.write(resultWith('gate', [lineCross('gate')]));
    const collecting = setInterval(gc, 5);
    try {
      await until(() => (s.eventStats()[0].dropped.failed ?? 0) === 5, 30_000, 'five attempts to time out');
    } finally {
      clearInterval(collecting);
    }
    expect(r.got).toHaveLength(5);
    expect(s.eventStats()[0]).toMatchObject({ published: 0, retries: 0, queueDepth: 0 });
  });

  it('a refused connection is retried, then counted as failed', async () => {
    const r = await receiver(() => 200);
    const url = r.url;
    await new Promise<void>((resolve) => r.server.close(() => resolve()));
    const s = sink(url, { maxAttempts: 3 });
    s.write(resultWith('gate', [lineCross('gate')]));
    await until(() => s.eventStats()[0].dropped.failed === 1, 5000, 'the failure');
    expect(s.eventStats()[0].retries).toBe(2);
  });

  it('close() gives up within its bound on a receiver that never answers', async () => {
    const r = await receiver(() => undefined);
    serve(r.server);
    const s = sink(r.url, { timeoutMs: 60_000 });
    for (let i = 0; i < 3; i++) s.write(resultWith('gate', [lineCross('gate')]));
    await until(() => r.got.length === 1, 5000, 'the first request');
    const t0 = Date.now();
    await s.close();
    // The bound is 2 s; without it close() would sit out the 60 s request timeout. Half of that
    // is the line, so a loaded machine's slow timers do not count.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(s.eventStats()[0]).toMatchObject({ dropped: { closed: 3 }, queueDepth: 0 });
  });

  it('the documented receiver accepts signed events once and refuses unsigned ones', async () => {
    const got: unknown[] = [];
    const server: Server = createReceiver('s3cret', (e: unknown) => got.push(e));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serve(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const s = sink(url, { secret: 's3cret' });
    const e = lineCross('gate');
    s.write(resultWith('gate', [e, e])); // the same id twice: a retry after a lost answer
    await until(() => s.eventStats()[0].published === 2, 5000, 'both deliveries');
    expect(got).toEqual([e]);
    const wrong = sink(url, { secret: 'other', maxAttempts: 1 });
    wrong.write(resultWith('gate', [lineCross('gate')]));
    await until(() => wrong.eventStats()[0].dropped.rejected === 1, 5000, 'the 401');
    expect(got).toHaveLength(1);
  });
});
