/**
 * The `server` section (`--server URL`): a running streamlens server measured from the outside, as
 * its clients see it. Nothing is started or changed on the server: GET requests, WebSocket
 * subscriptions and (with --images) POST /api/detect on a model the server has already loaded.
 *
 *  1. One client subscribes to the streams for the window: per stream delivered fps, detections
 *     per frame, seq gaps, and the end-to-end latency (capture -> received here), using each
 *     message's capture time (`ts`) and the server's clock offset (bench/clockOffset.ts): every
 *     message bounds it from below; a second connection re-subscribes at chosen moments, and the
 *     first frame after each subscription bounds it from above.
 *  2. Fan-out: N clients in a child process (bench/wsLoad.ts) for the same length of window (the
 *     clock probes go on meanwhile).
 *  3. POST /api/detect with autocannon on the user's images, bounded in count and time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import WebSocket from 'ws';
import { nowMs } from '../src/clock.js';
import { ClockOffsetBounds, nextAim, type ClockOffset } from './clockOffset.js';
import { runLoad } from './fanout.js';
import type { LoadReport } from './wsLoad.js';
import { detectLoad, type DetectBody, type HttpRun } from './http.js';
import { serverUrl, wsUrl } from './serverUrl.js';
import { mean, r3, sleep, summarize, type Summary } from './stats.js';

export interface RemoteOptions {
  /** http(s)://host:port of the server (a path prefix is kept). */
  url: string;
  token?: string;
  /** Streams to measure (default: every stream the server lists). */
  streams?: string[];
  /** Length of each measurement window, s. */
  seconds: number;
  /** Fan-out clients (0: no fan-out run). */
  clients: number;
  /** Folder of JPEG/PNG images for POST /api/detect (none: no detect load). */
  images?: string;
  /** autocannon connections, one run each. */
  connections: number[];
  /** Most requests per autocannon run. */
  maxRequests: number;
  /** Most clock probes (re-subscriptions; default 40); 4 per second at most, under the server's rate limit. */
  maxProbes?: number;
  log?: (line: string) => void;
}

export interface RemoteStream {
  id: string;
  state: string;
  /** The stream's source as the server shows it (passwords masked by the server). */
  source: string;
  /** detections messages received in the window. */
  frames: number;
  deliveredFps: number;
  /** What the server reports for the stream (GET /api/streams after the window). */
  serverFpsOut: number | null;
  serverLatency: { p50: number; p95: number; p99: number } | null;
  /** Frames skipped between consecutive seqs received (dropped by the server's drop policy, or for this client). */
  seqGaps: number;
  objectsPerFrame: number;
  /** Detections per label over the window, most frequent first. */
  labels: Record<string, number>;
  /** Capture -> received here, ms (our clock corrected by the offset). */
  endToEnd: Summary;
  /** Capture -> handed to the outputs (the server's own total_ms). */
  serverTotal: Summary;
  /** Handed to the outputs -> received here (network, the server's send path, this client). */
  delivery: Summary;
}

export interface RemoteFanout {
  clients: number;
  seconds: number;
  /** Frames the measured streams sent during the window (the server's framesSent counters). */
  framesSent: number;
  /** Mean over clients of frames received / frames sent. */
  deliveredRatio: number;
  minDeliveredRatio: number;
  delivery: Summary;
  endToEnd: Summary;
  connectRetries: number;
  lastConnectError?: string;
}

export interface RemoteDetect {
  images: number;
  /** The model the requests named (?model=), when the server has several loaded. */
  model: string | null;
  runs: HttpRun[];
}

export interface RemoteResult {
  /** The base URL (never the token). */
  url: string;
  version: string;
  models: { path: string; activeProvider: string; input: string; maxBatch: number | null }[];
  seconds: number;
  clock: ClockOffset & { probes: number; hits: number };
  streams: RemoteStream[];
  fanout?: RemoteFanout;
  detect?: RemoteDetect;
  /** Parts that could not run, with the reason. */
  skipped: string[];
}

type Json = Record<string, any>;

class RemoteServer {
  constructor(
    readonly base: string,
    private readonly token: string | undefined,
  ) {}

  headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async get(path: string): Promise<Json> {
    const res = await fetch(serverUrl(this.base, path), { headers: this.headers(), signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    if (res.status === 401) throw new Error(`GET /${path} answered 401: ${this.token ? 'the token was refused' : 'the server needs a token (--token)'}`);
    if (!res.ok) throw new Error(`GET /${path} answered ${res.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as Json;
  }

  /** A WebSocket that has received `hello`; messages from then on go to `onMessage`. */
  async connect(onMessage: (m: Json, receivedAt: number) => void): Promise<WebSocket> {
    const ws = new WebSocket(wsUrl(this.base), { headers: this.headers() });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the WebSocket did not open within 15 s')), 15_000);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const receivedAt = nowMs();
        const m = JSON.parse(data.toString()) as Json;
        if (m.type === 'hello') {
          clearTimeout(timer);
          resolve();
        }
        onMessage(m, receivedAt);
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`the WebSocket upgrade answered ${res.statusCode}${res.statusCode === 401 ? (this.token ? ': the token was refused' : ': the server needs a token (--token)') : ''}`));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return ws;
  }
}

/** A frame's send time on the server's clock: capture + capture-to-send. */
function sendStamp(m: Json): number | undefined {
  return typeof m.ts === 'number' && typeof m.latency?.total_ms === 'number' ? m.ts + m.latency.total_ms : undefined;
}

interface Received {
  stream: string;
  seq: number;
  ts: number;
  sendTs: number | undefined;
  receivedAt: number;
  labels: string[];
}

/** Per stream, the server's send stamps seen so far: the next one is predicted from their spacing. */
class FrameClock {
  private readonly stamps = new Map<string, number[]>();

  add(stream: string, sendTs: number): void {
    const list = this.stamps.get(stream) ?? [];
    list.push(sendTs);
    if (list.length > 32) list.shift();
    this.stamps.set(stream, list);
  }

  /** The stream with the most frames so far. */
  busiest(): string | undefined {
    let best: string | undefined;
    for (const [id, list] of this.stamps) if (!best || list.length > this.stamps.get(best)!.length) best = id;
    return best;
  }

  /** The next send stamp after `after` (server clock), from the median spacing of the recent ones. */
  predict(stream: string, after: number): { next: number; interval: number } | undefined {
    const list = this.stamps.get(stream);
    if (!list || list.length < 4) return undefined;
    const gaps = list.slice(1).map((t, i) => t - list[i]).sort((a, b) => a - b);
    const interval = gaps[Math.floor(gaps.length / 2)];
    if (!(interval > 0)) return undefined;
    let next = list[list.length - 1] + interval;
    while (next < after) next += interval;
    return { next, interval };
  }
}

/** Waits until our clock reads `t`: a timer to 2 ms before, then a short spin (timers fire late on a busy machine). */
async function waitUntil(t: number): Promise<void> {
  const ahead = t - nowMs() - 2;
  if (ahead > 0) await sleep(ahead);
  while (nowMs() < t) {
    // spin
  }
}

/**
 * Re-subscribes a second connection to one stream, aimed so that the subscription reaches the
 * server just before a frame is sent (bisection between the offset's bounds): each first frame
 * back bounds the offset from above. Rate: one probe per 250 ms at most (subscribe and unsubscribe
 * are two of the server's ten control messages per second). Runs until `stop` aborts.
 */
async function probeClock(server: RemoteServer, bounds: ClockOffsetBounds, frames: FrameClock, stop: AbortSignal, maxProbes: number): Promise<{ probes: number; hits: number }> {
  let waiting: { stream: string; resolve: (sendTs: number | undefined) => void } | undefined;
  let unsubscribed: (() => void) | undefined;
  const ws = await server.connect((m) => {
    if (m.type === 'detections' && waiting && m.stream === waiting.stream) {
      const w = waiting;
      waiting = undefined;
      w.resolve(sendStamp(m));
    } else if (m.type === 'unsubscribed') unsubscribed?.();
  });
  let probes = 0;
  let hits = 0;
  let previous: { aim: number; hit: boolean } | undefined;
  try {
    while (probes < maxProbes && !stop.aborted) {
      const started = nowMs();
      const stream = frames.busiest();
      if (!stream) {
        await sleep(100);
        continue;
      }
      // Aim only once both bounds exist; the first probe goes out at once and sets the upper bound.
      let aim: number | undefined;
      if (Number.isFinite(bounds.upper)) {
        aim = nextAim(bounds.lower, bounds.upper, previous);
        const p = frames.predict(stream, nowMs() + aim + 5);
        if (p) {
          // Our clock time at which the subscription would reach the server right at the frame's stamp, if offset == aim.
          await waitUntil(p.next - aim);
        } else aim = undefined;
      }
      const first = new Promise<number | undefined>((resolve) => {
        waiting = { stream, resolve };
        setTimeout(() => resolve(undefined), 5000).unref();
      });
      const sentAt = nowMs();
      ws.send(JSON.stringify({ type: 'subscribe', streams: [stream], video: false }));
      const sendTs = await first;
      waiting = undefined;
      probes++;
      if (sendTs !== undefined) {
        bounds.caused(sentAt, sendTs);
        if (aim !== undefined) {
          const hit = sendTs - sentAt <= aim + 0.5;
          if (hit) hits++;
          previous = { aim, hit };
        }
      }
      const gone = new Promise<void>((resolve) => {
        unsubscribed = resolve;
        setTimeout(resolve, 5000).unref();
      });
      ws.send(JSON.stringify({ type: 'unsubscribe', streams: [stream] }));
      await gone;
      await sleep(Math.max(0, 250 - (nowMs() - started)));
    }
  } finally {
    ws.terminate();
  }
  return { probes, hits };
}

function streamResult(view: Json | undefined, id: string, received: Received[], seconds: number, offset: number): RemoteStream {
  const mine = received.filter((r) => r.stream === id);
  let gaps = 0;
  for (let i = 1; i < mine.length; i++) gaps += Math.max(0, mine[i].seq - mine[i - 1].seq - 1);
  const labels: Record<string, number> = {};
  for (const r of mine) for (const l of r.labels) labels[l] = (labels[l] ?? 0) + 1;
  const sorted = Object.fromEntries(Object.entries(labels).sort((a, b) => b[1] - a[1]).slice(0, 10));
  const withSend = mine.filter((r) => r.sendTs !== undefined);
  return {
    id,
    state: String(view?.state ?? 'unknown'),
    source: String(view?.config?.url ?? ''),
    frames: mine.length,
    deliveredFps: r3(mine.length / seconds),
    serverFpsOut: typeof view?.fpsOut === 'number' ? view.fpsOut : null,
    serverLatency: view?.latency && typeof view.latency.p50 === 'number' ? { p50: view.latency.p50, p95: view.latency.p95, p99: view.latency.p99 } : null,
    seqGaps: gaps,
    objectsPerFrame: r3(mean(mine.map((r) => r.labels.length)) || 0),
    labels: sorted,
    endToEnd: summarize(mine.map((r) => r.receivedAt + offset - r.ts)),
    serverTotal: summarize(withSend.map((r) => r.sendTs! - r.ts)),
    delivery: summarize(withSend.map((r) => r.receivedAt + offset - r.sendTs!)),
  };
}

/** The images of a folder that look like JPEG or PNG files (at most 200, read once). */
export function readImages(dir: string): DetectBody[] {
  const files = readdirSync(dir)
    .filter((f) => /^\.(jpe?g|png)$/i.test(extname(f)))
    .sort()
    .slice(0, 200)
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
  if (files.length === 0) throw new Error(`--images ${dir}: no .jpg, .jpeg or .png files`);
  return files.map((f) => ({ bytes: readFileSync(f), contentType: /\.png$/i.test(f) ? 'image/png' : 'image/jpeg' }));
}

function framesSentOf(view: Json, ids: readonly string[]): number {
  return (view.streams as Json[]).filter((s) => ids.includes(s.id)).reduce((a, s) => a + (Number(s.framesSent) || 0), 0);
}

export async function remoteBench(o: RemoteOptions): Promise<RemoteResult> {
  const log = o.log ?? (() => undefined);
  const server = new RemoteServer(o.url, o.token);
  const info = await server.get('api/info');
  const listed = (await server.get('api/streams')).streams as Json[];
  const unknown = (o.streams ?? []).filter((id) => !listed.some((s) => s.id === id));
  if (unknown.length) throw new Error(`--streams: the server has no stream ${unknown.join(', ')} (it has: ${listed.map((s) => s.id).join(', ') || 'none'})`);
  const ids = o.streams?.length ? o.streams : listed.map((s) => String(s.id));
  const skipped: string[] = [];
  const models = ((info.models ?? []) as Json[]).map((m) => ({
    path: String(m.path),
    activeProvider: String(m.activeProvider ?? 'unknown'),
    input: `${m.inputWidth}x${m.inputHeight}`,
    maxBatch: typeof m.maxBatch === 'number' ? m.maxBatch : null,
  }));

  // 1. Delivered fps, detections and end-to-end latency, with the clock offset.
  const bounds = new ClockOffsetBounds();
  const frames = new FrameClock();
  const received: Received[] = [];
  let subscribed!: () => void;
  const isSubscribed = new Promise<void>((resolve) => (subscribed = resolve));
  const ws = await server.connect((m, receivedAt) => {
    if (m.type === 'subscribed') subscribed();
    if (m.type === 'stats' && typeof m.ts === 'number') bounds.received(m.ts, receivedAt);
    if (m.type !== 'detections') return;
    const sendTs = sendStamp(m);
    if (sendTs !== undefined) {
      bounds.received(sendTs, receivedAt);
      frames.add(m.stream, sendTs);
    }
    received.push({ stream: m.stream, seq: m.seq, ts: m.ts, sendTs, receivedAt, labels: ((m.objects ?? []) as Json[]).map((x) => String(x.label ?? x.class)) });
  });
  // The probes run through the stream window and the fan-out window: more upper bounds, a tighter offset.
  const stopProbes = new AbortController();
  let probing: Promise<{ probes: number; hits: number }> = Promise.resolve({ probes: 0, hits: 0 });
  let windowSeconds = o.seconds;
  let inWindow: Received[] = [];
  let fanoutRaw: { report: LoadReport; framesSent: number } | undefined;
  try {
    if (ids.length === 0) {
      skipped.push('streams: the server has no stream');
    } else {
      ws.send(JSON.stringify({ type: 'subscribe', streams: ids, video: false }));
      await Promise.race([isSubscribed, sleep(15_000).then(() => Promise.reject(new Error('not subscribed within 15 s')))]);
      received.length = 0;
      const t0 = nowMs();
      log(`bench:   server: ${ids.length} stream(s) for ${o.seconds} s, clock probes on a second connection`);
      probing = probeClock(server, bounds, frames, stopProbes.signal, o.maxProbes ?? 40);
      await sleep(o.seconds * 1000);
      windowSeconds = (nowMs() - t0) / 1000;
      // Frames received after the window closed are not counted.
      const end = t0 + windowSeconds * 1000;
      inWindow = received.filter((r) => r.receivedAt <= end);

      // 2. Fan-out: the clients' times are corrected by the offset once it is known.
      if (o.clients > 0) {
        log(`bench:   server: fan-out to ${o.clients} client(s) for ${o.seconds} s`);
        let sentBefore = 0;
        let sentAfter = 0;
        let window: Promise<void> = Promise.resolve();
        const report = await runLoad({ url: o.url, token: o.token, streams: ids, clients: o.clients, video: false, stuck: false, seconds: o.seconds }, async () => {
          sentBefore = framesSentOf(await server.get('api/streams'), ids);
          window = sleep(o.seconds * 1000).then(async () => {
            sentAfter = framesSentOf(await server.get('api/streams'), ids);
          });
        }, 0);
        await window;
        fanoutRaw = { report, framesSent: sentAfter - sentBefore };
      }
    }
  } finally {
    stopProbes.abort();
    await probing.catch(() => undefined);
    ws.terminate();
  }
  const clockProbes = await probing.catch(() => ({ probes: 0, hits: 0 }));
  const clock = bounds.result();
  const offset = clock && Number.isFinite(clock.estimateMs) ? clock.estimateMs : 0;
  const after = (await server.get('api/streams')).streams as Json[];
  const streams = ids.map((id) => streamResult(after.find((s) => s.id === id), id, inWindow, windowSeconds, offset));

  let fanout: RemoteFanout | undefined;
  if (fanoutRaw) {
    const { report, framesSent } = fanoutRaw;
    const ratios = report.received.map((r) => (framesSent > 0 ? r.detections / framesSent : 0));
    fanout = {
      clients: report.clients,
      seconds: r3(report.seconds),
      framesSent,
      deliveredRatio: r3(mean(ratios) || 0),
      minDeliveredRatio: r3(ratios.length ? Math.min(...ratios) : 0),
      delivery: summarize(report.delivery.map((d) => d + offset)),
      endToEnd: summarize(report.captureToClient.map((d) => d + offset)),
      connectRetries: report.connectRetries,
      ...(report.lastConnectError ? { lastConnectError: report.lastConnectError } : {}),
    };
  } else if (o.clients > 0) skipped.push('fanout: the server has no stream');

  // 3. POST /api/detect on a model the server has loaded (a request for another would load it).
  let detect: RemoteDetect | undefined;
  if (o.images) {
    const bodies = readImages(o.images);
    if (models.length === 0) {
      skipped.push('detect: the server has no model loaded (the benchmark does not make it load one)');
    } else {
      const model = models.length > 1 ? models[0].path : null;
      const url = serverUrl(o.url, 'api/detect' + (model ? `?model=${encodeURIComponent(model)}` : ''));
      const check = await fetch(url, { method: 'POST', body: new Uint8Array(bodies[0].bytes), headers: { ...server.headers(), 'content-type': bodies[0].contentType }, signal: AbortSignal.timeout(60_000) });
      const text = await check.text();
      if (!check.ok) throw new Error(`POST /api/detect answered ${check.status}: ${text.slice(0, 200)}`);
      const runs: HttpRun[] = [];
      for (const connections of o.connections) {
        const run = await detectLoad({ url, bodies, headers: server.headers(), connections, seconds: o.seconds, maxRequests: o.maxRequests });
        runs.push({ batching: 'server', maxBatch: models[0].maxBatch ?? 0, ...run });
      }
      detect = { images: bodies.length, model, runs };
    }
  }

  return {
    url: o.url,
    version: String(info.version ?? 'unknown'),
    models,
    seconds: r3(windowSeconds),
    clock: { ...(clock ?? { estimateMs: 0, accuracyMs: Infinity, lo: -Infinity, hi: Infinity, lowerSamples: 0, upperSamples: 0, inconsistent: false }), ...clockProbes },
    streams,
    ...(fanout ? { fanout } : {}),
    ...(detect ? { detect } : {}),
    skipped,
  };
}
