/**
 * Section 4, live latency: N realtime streams (a clip looped at its native rate, `latest` drop
 * policy) through the real StreamHub and WebSocket gateway. Per-stage latency percentiles from the
 * pipeline's timestamps, serialisation timed on each published result (the gateway's encoder), WS
 * delivery measured by one in-process client, delivered fps and drops per stream, and drift (the
 * capture-to-send median of the first third of the window against the last third).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { encodeDetections } from '../src/serve/protocol.js';
import type { FrameResult, StreamStats } from '../src/types.js';
import { mediaFoldersOf, type Clip } from './inputs.js';
import type { ExecutionProvider } from '../src/config/schema.js';
import { ResultRecorder, startBenchServer } from './liveServer.js';
import { missingStages, stageSamples, stageSummaries } from './stages.js';
import { histogram, rateSeries, r3, sleep, summarize, type Histogram, type Summary } from './stats.js';
import { nowMs } from '../src/clock.js';

export interface LiveStreamStats {
  id: string;
  deliveredFps: number;
  decodedFps: number;
  drops: { policy: number; staleness: number; client: number };
  captureToSend: Summary;
}

export interface LiveRun {
  streams: number;
  clip: string;
  seconds: number;
  /** By latency term and chain stage name (bench/stages.ts). */
  stages: Record<string, Summary>;
  serialisation: Summary;
  wsDelivery: Summary;
  captureToClient: Summary;
  missing: string[];
  meanBatchSize: number;
  perStream: LiveStreamStats[];
  drift: { firstThirdP50: number; lastThirdP50: number };
  histogram: Histogram;
  /** Delivered frames per second over the window, all streams. */
  series: { t: number; fps: number }[];
}

export interface LiveOptions {
  /** Stream i reads clips[i % clips.length]. */
  clips: Clip[];
  modelPath: string;
  providers?: ExecutionProvider[];
  streams: number;
  warmupSeconds: number;
  seconds: number;
  fps?: number;
  video?: boolean;
}

/** A client subscribed to every stream: delivery = receive time - the result's sendTs. */
async function deliveryClient(url: string, streams: string[]): Promise<{ ws: WebSocket; delivery: number[]; captureToClient: number[]; recording: { on: boolean } }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws');
  const delivery: number[] = [];
  const captureToClient: number[] = [];
  const recording = { on: false };
  let subscribed!: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const t = nowMs();
    const m = JSON.parse(data.toString()) as { type: string; ts: number; latency?: { total_ms: number | null } };
    if (m.type === 'subscribed') subscribed();
    if (m.type !== 'detections' || !recording.on) return;
    captureToClient.push(t - m.ts);
    if (m.latency?.total_ms != null) delivery.push(t - (m.ts + m.latency.total_ms));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'subscribe', streams, video: false }));
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('live: the WebSocket client was not subscribed within 10 s')), 10_000).unref());
  await Promise.race([ready, timeout]);
  return { ws, delivery, captureToClient, recording };
}

export async function liveRun(o: LiveOptions): Promise<LiveRun> {
  const bench = await startBenchServer({ modelPath: o.modelPath, mediaFolders: mediaFoldersOf(o.clips), providers: o.providers });
  const ids = Array.from({ length: o.streams }, (_, i) => `live${i + 1}`);
  const recorder = new ResultRecorder(bench.server);
  const serialise: number[] = [];
  const timed = bench.server.hub.results$.subscribe((r) => {
    const t0 = performance.now();
    encodeDetections(r);
    serialise.push(performance.now() - t0);
  });
  let client: Awaited<ReturnType<typeof deliveryClient>> | undefined;
  try {
    for (const [i, id] of ids.entries()) {
      // The detector on every frame (no motion gating): the section measures the whole chain per frame.
      await bench.addStream({ id, url: o.clips[i % o.clips.length].path, realtime: true, loop: true, dropPolicy: 'latest', video: o.video ?? false, motion: { enabled: false }, ...(o.fps ? { fps: o.fps } : {}) });
    }
    client = await deliveryClient(bench.server.url, ids);
    await bench.started(ids);
    await sleep(o.warmupSeconds * 1000);
    const before = new Map(ids.map((id) => [id, bench.server.hub.stats(id)!]));
    serialise.length = 0;
    recorder.start();
    client.recording.on = true;
    const t0 = nowMs();
    await sleep(o.seconds * 1000);
    const results = recorder.stop();
    client.recording.on = false;
    const seconds = (nowMs() - t0) / 1000;
    const after = new Map(ids.map((id) => [id, bench.server.hub.stats(id)!]));
    return summarizeLive(o, results, seconds, before, after, serialise, client.delivery, client.captureToClient, t0);
  } finally {
    client?.ws.terminate();
    timed.unsubscribe();
    recorder.close();
    await bench.close();
  }
}

function summarizeLive(
  o: LiveOptions,
  results: FrameResult[],
  seconds: number,
  before: Map<string, StreamStats>,
  after: Map<string, StreamStats>,
  serialise: number[],
  delivery: number[],
  captureToClient: number[],
  t0: number,
): LiveRun {
  const perStream: LiveStreamStats[] = [...after.keys()].map((id) => {
    const mine = results.filter((r) => r.streamId === id);
    const a = after.get(id)!;
    const b = before.get(id)!;
    return {
      id,
      deliveredFps: r3(mine.length / seconds),
      decodedFps: r3((a.framesDecoded - b.framesDecoded) / seconds),
      drops: { policy: a.drops.policy - b.drops.policy, staleness: a.drops.staleness - b.drops.staleness, client: a.drops.client - b.drops.client },
      captureToSend: summarize(stageSamples(mine).total),
    };
  });
  const c2s = stageSamples(results).total;
  const third = Math.floor(results.length / 3);
  const p50 = (xs: number[]): number => summarize(xs).p50;
  const batches = results.map((r) => r.timing.batchSize ?? 1);
  return {
    streams: o.streams,
    clip: [...new Set(o.clips.slice(0, o.streams).map((c) => c.name))].join(', '),
    seconds: r3(seconds),
    stages: stageSummaries(results),
    serialisation: summarize(serialise),
    wsDelivery: summarize(delivery),
    captureToClient: summarize(captureToClient),
    missing: missingStages(results),
    meanBatchSize: r3(batches.reduce((s, b) => s + b, 0) / Math.max(1, batches.length)),
    perStream,
    drift: { firstThirdP50: p50(c2s.slice(0, third)), lastThirdP50: p50(c2s.slice(-third)) },
    histogram: histogram(c2s),
    series: rateSeries(results.map((r) => r.timing.sendTs ?? 0), 1000, t0),
  };
}
