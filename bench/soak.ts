/**
 * Soak benchmark: the real live server in this process with several streams (the demo clip,
 * looped in real time, with video) and WebSocket clients (video, detections only, and one that
 * never reads and is reconnected each time the server cuts it off), sampled every second:
 * RSS, heapUsed (after a full GC), active handles (`process.getActiveResourcesInfo()`), live
 * ffmpeg children, frames sent. After the warm-up, growth is judged by the least-squares slope
 * over the second half of the run.
 *
 *   node dist/bench/soak.js [--minutes N] [--streams N] [--clients N] [--json file]
 *
 * Exits 1 when a bound is exceeded. `runSoak()` is the same run as a function (the test calls it
 * for ~25 s).
 */
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import { startServer } from '../src/serve/server.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';

export interface SoakOptions {
  durationMs: number;
  /** Samples before this are not judged (startup, JIT, buffers filling). Default: 1/3 of the run, at most 60 s. */
  warmupMs?: number;
  streams?: number;
  /** Healthy clients subscribed to every stream (half with video). Default 3. */
  clients?: number;
  sampleMs?: number;
  /** Bounds (defaults suit minutes-long runs and the ~25 s CI variant alike). */
  maxHeapSlopeMBPerMin?: number;
  maxRssSlopeMBPerMin?: number;
  /** Largest spread of active handles after warm-up. */
  maxHandleSpread?: number;
  onSample?: (s: SoakSample) => void;
}

export interface SoakSample {
  t: number;
  rssMB: number;
  heapUsedMB: number;
  handles: number;
  ffmpeg: number;
  framesSent: number;
  clients: number;
  /** Largest server-side send buffer among the clients (the stuck one), KiB. */
  maxBufferedKB: number;
}

export interface SoakReport {
  durationMs: number;
  streams: number;
  clients: number;
  samples: SoakSample[];
  start: SoakSample;
  end: SoakSample;
  /** Fitted over the judged window (second half of the post-warm-up samples). */
  heapSlopeMBPerMin: number;
  rssSlopeMBPerMin: number;
  handles: { min: number; max: number };
  ffmpeg: { min: number; max: number };
  framesSent: number;
  stuckCutoffs: number;
  healthyMessages: number;
  failures: string[];
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

function gcFunction(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const nStreams = o.streams ?? 3;
  const nClients = o.clients ?? 3;
  const sampleMs = o.sampleMs ?? 1000;
  const warmupMs = o.warmupMs ?? Math.min(60_000, o.durationMs / 3);
  const gc = gcFunction();
  const [clip, model] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  const ids = Array.from({ length: nStreams }, (_, i) => `soak${i}`);
  const config = parseConfig(
    {
      server: { host: '127.0.0.1', port: 0, mediaFolders: [dirname(clip.video)], stuckClientTimeoutMs: 5000, clientBufferBytes: 1024 * 1024 },
      models: { [model]: { providers: ['cpu'], intraOpThreads: 1, maxBatch: 4, maxWaitMs: 5 } },
      streams: ids.map((id, i) => ({ id, url: clip.video, loop: true, realtime: true, video: i < Math.max(1, nStreams - 1) })),
    },
    process.cwd(),
  );
  const log = createLogger({ bench: 'soak' }, 'error');
  const server = await startServer({ config, hub: StreamHub.forConfig(config, log), version: 'soak', log });
  const wsUrl = server.url.replace(/^http/, 'ws') + '/ws';
  let healthyMessages = 0;
  let stuckCutoffs = 0;
  const sockets = new Set<WebSocket>();

  const open = (onMessage?: () => void): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => undefined);
      if (onMessage) ws.on('message', onMessage);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  for (let i = 0; i < nClients; i++) {
    const ws = await open(() => healthyMessages++);
    ws.send(JSON.stringify({ type: 'subscribe', streams: ids, video: i % 2 === 0 }));
  }
  // The stuck client: subscribes to video and never reads. A paused socket never sees its own
  // close, so the sampling loop notices the cut-off on the server side and reconnects it.
  let stuckWs: WebSocket | undefined;
  const stuck = async (): Promise<void> => {
    stuckWs = await open().catch(() => undefined);
    const ws = stuckWs;
    if (!ws) return;
    ws.send(JSON.stringify({ type: 'subscribe', streams: ids, video: true }));
    await sleep(200);
    ws.pause();
  };
  await stuck();

  const samples: SoakSample[] = [];
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < o.durationMs) {
      await sleep(sampleMs);
      gc();
      const mem = process.memoryUsage();
      const s: SoakSample = {
        t: Date.now() - t0,
        rssMB: mem.rss / MB,
        heapUsedMB: mem.heapUsed / MB,
        handles: process.getActiveResourcesInfo().length,
        ffmpeg: liveFfmpegChildren(),
        framesSent: server.hub.list().reduce((a, st) => a + st.framesSent, 0),
        clients: server.clients().length,
        maxBufferedKB: Math.max(0, ...server.clients().map((c) => c.bufferedAmount)) / 1024,
      };
      samples.push(s);
      o.onSample?.(s);
      if (s.clients === nClients && stuckWs) {
        stuckCutoffs++;
        stuckWs.terminate();
        await stuck();
      }
    }
  } finally {
    for (const ws of sockets) ws.terminate();
    await server.close();
  }

  const judged = samples.filter((s) => s.t >= warmupMs);
  const half = judged.slice(Math.floor(judged.length / 2));
  const perMin = (ys: number[]): number => slope(half.map((s) => s.t / 60_000), ys);
  const heapSlope = perMin(half.map((s) => s.heapUsedMB));
  const rssSlope = perMin(half.map((s) => s.rssMB));
  const handles = judged.map((s) => s.handles);
  const ffmpeg = judged.map((s) => s.ffmpeg);
  const report: SoakReport = {
    durationMs: o.durationMs,
    streams: nStreams,
    clients: nClients,
    samples,
    start: judged[0] ?? samples[0],
    end: samples[samples.length - 1],
    heapSlopeMBPerMin: heapSlope,
    rssSlopeMBPerMin: rssSlope,
    handles: { min: Math.min(...handles), max: Math.max(...handles) },
    ffmpeg: { min: Math.min(...ffmpeg), max: Math.max(...ffmpeg) },
    framesSent: samples.at(-1)?.framesSent ?? 0,
    stuckCutoffs,
    healthyMessages,
    failures: [],
  };
  const f = report.failures;
  const maxHeap = o.maxHeapSlopeMBPerMin ?? 3;
  const maxRss = o.maxRssSlopeMBPerMin ?? 30;
  const maxSpread = o.maxHandleSpread ?? 6;
  if (judged.length < 4) f.push(`only ${judged.length} samples after warm-up`);
  if (heapSlope > maxHeap) f.push(`heapUsed grows ${heapSlope.toFixed(2)} MB/min (bound ${maxHeap})`);
  if (rssSlope > maxRss) f.push(`RSS grows ${rssSlope.toFixed(2)} MB/min (bound ${maxRss})`);
  if (report.handles.max - report.handles.min > maxSpread) f.push(`active handles vary ${report.handles.min}..${report.handles.max} (bound ${maxSpread})`);
  if (report.ffmpeg.min !== nStreams || report.ffmpeg.max !== nStreams) f.push(`ffmpeg children ${report.ffmpeg.min}..${report.ffmpeg.max}, expected ${nStreams}`);
  if (liveFfmpegChildren() !== 0) f.push(`${liveFfmpegChildren()} ffmpeg children left after close`);
  if (healthyMessages === 0) f.push('healthy clients received nothing');
  return report;
}

function summary(r: SoakReport): string {
  const fmt = (s: SoakSample): string => `rss ${s.rssMB.toFixed(1)} MB, heap ${s.heapUsedMB.toFixed(1)} MB, handles ${s.handles}, ffmpeg ${s.ffmpeg}`;
  return [
    `soak: ${(r.durationMs / 60_000).toFixed(1)} min, ${r.streams} streams, ${r.clients} clients + 1 stuck (cut off ${r.stuckCutoffs}x)`,
    `  after warm-up: ${fmt(r.start)}`,
    `  end:           ${fmt(r.end)}`,
    `  slopes (2nd half): heap ${r.heapSlopeMBPerMin.toFixed(2)} MB/min, rss ${r.rssSlopeMBPerMin.toFixed(2)} MB/min; handles ${r.handles.min}..${r.handles.max}`,
    `  frames sent ${r.framesSent}, messages to healthy clients ${r.healthyMessages}`,
    r.failures.length ? `  FAIL: ${r.failures.join('; ')}` : '  OK: no growth beyond the bounds',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string' }, streams: { type: 'string' }, clients: { type: 'string' }, json: { type: 'string' } } });
  const minutes = Number(values.minutes ?? 5);
  let printed = -1;
  const report = await runSoak({
    durationMs: minutes * 60_000,
    streams: values.streams ? Number(values.streams) : undefined,
    clients: values.clients ? Number(values.clients) : undefined,
    onSample: (s) => {
      const block = Math.floor(s.t / 30_000);
      if (block === printed) return;
      printed = block;
      process.stderr.write(`  ${Math.round(s.t / 1000)} s: rss ${s.rssMB.toFixed(1)} MB, heap ${s.heapUsedMB.toFixed(1)} MB, handles ${s.handles}, ffmpeg ${s.ffmpeg}, stuck client buffer ${s.maxBufferedKB.toFixed(0)} KiB\n`);
    },
  });
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.stdout.write(summary(report) + '\n');
  process.exitCode = report.failures.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
