/**
 * Issue 20, WebSocket items against a real server (real ffmpeg, real model, real ws clients):
 * flow control with acknowledgements (a throttled reader's latency is bounded by the window, not by
 * socket buffers; a client that stops acknowledging gets nothing more and keeps its connection),
 * a client that stops reading is cut off within stuckClientTimeoutMs (item 4), control-message
 * floods are rate limited (item 5), and unsubscribing from a stream never subscribed gets one
 * answer (item 11); and how a frame is written to a client (one cork per frame).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../src/serve/server.js';
import { ThrottledReader } from '../bench/throttledReader.js';
import { ClientSession } from '../src/serve/clientSession.js';
import { TestClient, api, eventLoopStalls, percentile, sleep, startDemoWithWatcher, until } from './helpers/serveHarness.js';

const STUCK_MS = 6000;
const WINDOW = 2;
let server: RunningServer;
let watcher: TestClient;
let watcherAlive: () => Promise<void>;

beforeAll(async () => {
  ({ server, watcher, watcherAlive } = await startDemoWithWatcher({
    server: { stuckClientTimeoutMs: STUCK_MS, ackWindow: WINDOW, clientMessagesPerSecond: 100 },
    stream: { jpegQuality: 90 },
  }));
});

afterAll(async () => {
  watcher?.close();
  await server?.close();
});

function rawClient(): Promise<{ ws: WebSocket; texts: Record<string, any>[]; videos: number[] }> {
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/ws');
  const client = { ws, texts: [] as Record<string, any>[], videos: [] as number[] };
  ws.on('message', (data, isBinary) => {
    if (isBinary) client.videos.push((data as Buffer).length);
    else client.texts.push(JSON.parse(data.toString()));
  });
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

describe('flow control (acknowledgements)', () => {
  it('a throttled reader that acknowledges sees a latency bounded by the window; one that does not falls behind', async () => {
    // The stream's video bytes per second, from the watcher: the readers get a quarter of it.
    const v0 = watcher.videos.length;
    const t0 = Date.now();
    await sleep(3000);
    const frames = watcher.videos.slice(v0);
    const bytesPerSecond = frames.reduce((n, v) => n + v.bytes, 0) / ((Date.now() - t0) / 1000);
    const frameBytes = Math.max(...frames.map((v) => v.bytes));
    // A quarter of the stream, but enough that a window of frames (and the ping behind it) crosses
    // the link within a third of the stuck timeout, however slowly a loaded machine decodes.
    const fps = frames.length / ((Date.now() - t0) / 1000);
    const rate = Math.round(Math.max(bytesPerSecond / 4, (3 * WINDOW * frameBytes * 1000) / STUCK_MS));
    expect(rate, `the stream (${fps.toFixed(1)} fps) is too slow to outrun a reader`).toBeLessThan(bytesPerSecond / 2);
    const acking = await ThrottledReader.connect({ url: server.url, stream: 'demo', bytesPerSecond: rate, ack: true });
    const plain = await ThrottledReader.connect({ url: server.url, stream: 'demo', bytesPerSecond: rate, ack: false });
    const w0 = watcher.detections.length;
    await until(() => acking.latencies.length >= 40 || Date.now() - t0 > 120_000, 130_000, 'the acknowledging reader to get 40 frames');
    const watcherLatency = watcher.detections.slice(w0).map((d) => d.latency.total_ms as number);
    const ackP95 = percentile(acking.latencies.slice(5), 0.95);
    // The window's bytes over the link, plus what a reader at full speed sees (the pipeline) and scheduling slack.
    const bound = (WINDOW * frameBytes * 1.2 * 1000) / rate + percentile(watcherLatency, 0.95) + 1000;
    const plainLatest = plain.latencies.at(-1) ?? Infinity;
    console.log(
      `stream ${Math.round(bytesPerSecond / 1024)} KiB/s, readers ${Math.round(rate / 1024)} KiB/s, frame <= ${Math.round(frameBytes / 1024)} KiB: ` +
        `acknowledging p95 ${ackP95.toFixed(0)} ms (bound ${bound.toFixed(0)}), ${acking.latencies.length} frames; ` +
        `not acknowledging: ${plain.latencies.length} frames, latest ${plainLatest.toFixed(0)} ms, close ${plain.closeCode}`,
    );
    expect(acking.closeCode).toBeUndefined();
    expect(ackP95).toBeLessThanOrEqual(bound);
    // Newest frames, in order, never a backlog: seqs increase, with gaps (frames replaced while the window was full).
    expect(acking.seqs.every((s, i) => i === 0 || s > acking.seqs[i - 1])).toBe(true);
    expect(acking.seqs.at(-1)! - acking.seqs[0]).toBeGreaterThan(acking.seqs.length);
    // Without acknowledgements the socket buffers fill and the reader falls behind; it answers every
    // ping that late (each ping carries its send time), so the ping rule cuts it off (4008) once it is
    // stuckClientTimeoutMs behind, however regularly its pongs arrive. The close frame waits behind
    // what it has not read: the reader sees the 4008 or its socket cut.
    await until(() => plain.closeCode !== undefined, 30_000, 'the lagging reader to be cut off');
    acking.close();
    plain.close();
    await watcherAlive();
  });

  it('never more than the window unacknowledged; a client that stops acknowledging gets nothing more, stays connected, and then gets the newest frame', async () => {
    const c = await rawClient();
    c.ws.send(JSON.stringify({ type: 'subscribe', streams: ['demo'], video: true, ack: true }));
    await until(() => c.texts.filter((m) => m.type === 'detections').length >= WINDOW, 30_000, 'the first window');
    const subscribed = c.texts.find((m) => m.type === 'subscribed');
    expect(subscribed).toMatchObject({ streams: ['demo'], video: true, ack: true });
    // No acknowledgement: after the window, nothing, for longer than the stuck timeout; the
    // connection stays (pings are answered).
    await sleep(STUCK_MS + 1500);
    const held = c.texts.filter((m) => m.type === 'detections');
    expect(held).toHaveLength(WINDOW);
    expect(c.videos).toHaveLength(WINDOW);
    const info = server.clients().find((x) => x.ack.includes('demo'));
    expect(info?.unacknowledged).toBe(WINDOW);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    // Acknowledging the first frame opens one slot: the newest frame comes, not the next in line.
    const newestBefore = watcher.detections.at(-1)!.seq as number;
    c.ws.send(JSON.stringify({ type: 'ack', seqs: { demo: held[0].seq } }));
    await until(() => c.texts.filter((m) => m.type === 'detections').length > WINDOW, 10_000, 'a frame after the ack');
    const next = c.texts.filter((m) => m.type === 'detections')[WINDOW];
    expect(next.seq).toBeGreaterThanOrEqual(newestBefore);
    expect(next.seq).toBeGreaterThan(held[1].seq + 1);
    // Acknowledging as frames come keeps them coming, at most WINDOW outstanding at any time.
    let maxOutstanding = 0;
    const acker = (data: WebSocket.RawData, isBinary: boolean): void => {
      if (!isBinary) return;
      const n = (data as Buffer).readUInt32BE(0);
      const seq = JSON.parse((data as Buffer).subarray(4, 4 + n).toString()).seq as number;
      maxOutstanding = Math.max(maxOutstanding, ...server.clients().filter((x) => x.ack.includes('demo')).map((x) => x.unacknowledged));
      c.ws.send(JSON.stringify({ type: 'ack', seqs: { demo: seq } }));
    };
    c.ws.on('message', acker);
    c.ws.send(JSON.stringify({ type: 'ack', seqs: { demo: next.seq } }));
    const n0 = c.videos.length;
    await until(() => c.videos.length > n0 + 20, 60_000, '20 more frames while acknowledging');
    expect(maxOutstanding).toBeLessThanOrEqual(WINDOW);
    // Bad acknowledgements are errors, not a disconnect.
    for (const bad of [{ type: 'ack' }, { type: 'ack', seqs: [] }, { type: 'ack', seqs: { demo: -1 } }, { type: 'ack', seqs: { demo: 1.5 } }]) c.ws.send(JSON.stringify(bad));
    await until(() => c.texts.filter((m) => m.type === 'error' && m.code === 'bad_message').length === 4, 10_000, 'four bad_message errors');
    c.ws.terminate();
  });
});

describe('slow and abusive clients', () => {
  it('a client that stops reading is cut off (4008) within stuckClientTimeoutMs, not after the kernel buffers fill', async () => {
    const c = await rawClient();
    c.ws.send(JSON.stringify({ type: 'subscribe', streams: ['demo'], video: true }));
    await until(() => c.videos.length > 2, 30_000, 'video');
    const before = server.clients().length;
    // The server runs in this process: how long its event loop stalled meanwhile is how late its
    // 50 ms stuck check could run (a loaded machine's share, measured in the same window).
    const stalls = eventLoopStalls();
    c.ws.pause();
    const paused = Date.now();
    await until(() => server.clients().length < before || server.clients().some((x) => x.closing), 60_000, 'the server to give up on the client');
    const after = Date.now() - paused;
    const stalledMs = stalls.stop();
    console.log(`stopped reading -> 4008 after ${after} ms (stuckClientTimeoutMs ${STUCK_MS}, longest event-loop stall ${stalledMs.toFixed(0)} ms)`);
    // The timeout counts from the last answered ping (up to one ping interval, 1 s, before the
    // pause), plus a second of slack and the stalls measured above.
    expect(after).toBeLessThan(STUCK_MS + 2000 + stalledMs);
    expect(after).toBeGreaterThanOrEqual(STUCK_MS - 1000 - 100);
    c.ws.terminate();
    await watcherAlive();
  });

  it('a flood of 10,000 subscribe/unsubscribe messages is rate limited; /healthz and other clients keep being served', async () => {
    const c = await rawClient();
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i++) c.ws.send(JSON.stringify({ type: i % 2 ? 'unsubscribe' : 'subscribe', streams: ['demo'], video: true }));
    const health = await api(server, 'GET', '/healthz');
    expect(health.status).toBe(200);
    await until(() => c.texts.some((m) => m.type === 'error' && m.code === 'rate_limited'), 30_000, 'rate_limited');
    await sleep(1000);
    const elapsed = (Date.now() - t0) / 1000;
    const answered = c.texts.filter((m) => m.type === 'subscribed' || m.type === 'unsubscribed').length;
    // A tenth of 100 messages/s after a burst of 20; the rest ignored unparsed.
    expect(answered).toBeLessThanOrEqual(20 + 10 * elapsed + 1);
    expect(answered).toBeGreaterThan(0);
    // At most one rate_limited error a second.
    expect(c.texts.filter((m) => m.code === 'rate_limited').length).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.terminate();
    await watcherAlive();
  });

  it('unsubscribing from a stream never subscribed gets one not_subscribed error, not also "unsubscribed"', async () => {
    const c = await TestClient.connect(server);
    c.send({ type: 'unsubscribe', streams: ['demo'] });
    await c.waitFor(() => c.errors.length === 1, 5000, 'error');
    expect(c.errors[0]).toMatchObject({ code: 'not_subscribed' });
    await c.subscribe(['demo']);
    c.send({ type: 'unsubscribe', streams: ['demo', 'nope'] });
    await c.waitFor(() => c.control.some((m) => m.type === 'unsubscribed') && c.errors.length === 2, 5000, 'unsubscribed + error');
    await sleep(200);
    expect(c.control.filter((m) => m.type === 'unsubscribed')).toEqual([{ type: 'unsubscribed', streams: ['demo'] }]);
    expect(c.errors[1]).toMatchObject({ code: 'not_subscribed', message: 'not subscribed to: nope' });
    c.close();
  });
});

describe('frame writes', () => {
  it("a frame's detections and video are written under one cork; video still goes only under 3/4 of the bound", () => {
    const calls: string[] = [];
    const ws = {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 0,
      send: (m: Buffer | string, o?: { binary?: boolean }) => calls.push(`send ${typeof m === 'string' || o?.binary === false ? 'text' : 'binary'} ${m.length}`),
      on: () => ws,
      ping: () => undefined,
    };
    const socket = { cork: () => calls.push('cork'), uncork: () => calls.push('uncork') };
    const session = new ClientSession(ws as unknown as WebSocket, { bufferBytes: 1000, stuckTimeoutMs: 60_000, ackWindow: 2, onDrop: () => undefined, socket });
    session.subscribe(['a'], { video: true });
    session.deliver('a', 1, Buffer.from('{"type":"detections"}'), Buffer.alloc(600), 0);
    expect(calls).toEqual(['cork', 'send text 21', 'send binary 600', 'uncork']);
    // 100 bytes queued: 100 + 21 + 650 is over 750, so the video is dropped; the detections go.
    calls.length = 0;
    ws.bufferedAmount = 100;
    session.deliver('a', 2, Buffer.from('{"type":"detections"}'), Buffer.alloc(650), 1);
    expect(calls).toEqual(['cork', 'send text 21', 'uncork']);
    expect(session.drops).toEqual({ video: 1, detections: 0, events: 0 });
  });

  it('a client that stops reading: frames, events, control messages and pings together never take its send buffer past the bound', () => {
    // A connection that never drains: each message stays buffered with its frame header, as in ws.
    const header = (n: number): number => (n < 126 ? 2 : n < 65536 ? 4 : 10);
    const bytes = (m: Buffer | string): number => (typeof m === 'string' ? Buffer.byteLength(m) : m.length);
    let pings = 0;
    const ws = {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 0,
      send: (m: Buffer | string) => void (ws.bufferedAmount += bytes(m) + header(bytes(m))),
      ping: (p: string) => void ((ws.bufferedAmount += bytes(p) + 2), pings++),
      close: () => undefined,
      on: () => ws,
    };
    const bound = 16 * 1024;
    const session = new ClientSession(ws as unknown as WebSocket, { bufferBytes: bound, stuckTimeoutMs: 3_600_000, ackWindow: 2, onDrop: () => undefined });
    session.subscribe(['a'], { video: true });
    let max = 0;
    let sent = 0;
    let pingsAtHalf = -1;
    // Detections of 100 to 1,000 bytes (1- and 2-byte lengths in the header), JPEGs, events, stats,
    // a label outside ASCII (more bytes than characters), and a tick every 50 ms: 10 minutes.
    for (let i = 0, now = 1_700_000_000_000; i < 12_000; i++, now += 50) {
      const before = ws.bufferedAmount;
      session.deliver('a', i, `{"type":"detections","label":"${'é'.repeat(50 + (i % 450))}"}`, Buffer.alloc(200 + (i % 7) * 300), now);
      session.deliverEvents('a', `{"type":"events","n":${'9'.repeat(i % 120)}}`);
      session.sendControl(`{"type":"stats","pad":"${'x'.repeat(i % 300)}"}`);
      session.tick(now);
      if (ws.bufferedAmount > before) sent++;
      max = Math.max(max, ws.bufferedAmount);
      if (i === 6000) pingsAtHalf = pings;
    }
    expect(sent).toBeGreaterThan(5);
    expect(max).toBeLessThanOrEqual(bound);
    // Pings went out while there was room, and stopped once the unread ones left none (one a second
    // for 5 minutes otherwise).
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(pings).toBe(pingsAtHalf);
  });
});
