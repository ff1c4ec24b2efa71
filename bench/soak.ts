/**
 * Soak benchmark: the real live server in this process with several streams (the demo clip,
 * looped in real time, with video) and WebSocket clients (video, detections only, and one that
 * never reads and is reconnected each time the server cuts it off), sampled every second:
 * RSS, heapUsed (after a full GC), active handles (`process.getActiveResourcesInfo()`), live
 * ffmpeg children, frames sent. After the warm-up, growth is judged by the least-squares slope
 * over the second half of the run.
 *
 *   node dist/bench/soak.js [--minutes N] [--streams N] [--clients N] [--throttled N] [--throttled-kbps N]
 *                           [--phase-seconds N] [--json file]
 *
 * With `--throttled N`, N more clients read through throttled links (bench/throttledReader.ts,
 * in a process of their own; half of them acknowledging frames) in every other phase of `--phase-seconds`, starting without
 * them: the healthy clients' p95 latency (capture to receipt of detections) with the throttled
 * readers over the phases without them is a ratio of the same run, and the spread between the
 * phases without them is its noise.
 *
 * Exits 1 when a bound is exceeded. `runSoak()` is the same run as a function (the test calls it
 * for ~25 s).
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
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
import { nowMs } from '../src/clock.js';
import { percentile } from '../src/percentile.js';
import { ThrottledReader } from './throttledReader.js';

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
  /** Clients on throttled links, present in every other phase (none by default). */
  throttled?: number;
  /** The throttled links' speed, bytes/s. Default 64 KiB/s. */
  throttledBytesPerSecond?: number;
  /** Length of a phase with or without the throttled readers. Default 30 s. */
  phaseMs?: number;
  /** Largest p95 ratio (with / without throttled readers) beyond the run's own noise. Default 1.10. */
  maxLatencyRatio?: number;
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
  /** Taken while the throttled readers (and their relays' handles) were there; undefined just after they came or went (handles settling). */
  throttled: boolean | undefined;
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
  /** With throttled readers: the healthy clients' latency in the phases with and without them. */
  throttled?: ThrottledComparison;
  failures: string[];
}

export interface ThrottledComparison {
  readers: number;
  bytesPerSecond: number;
  /** Healthy clients' p95 latency per phase after warm-up, ms, in run order. */
  phases: { with: boolean; p95: number; frames: number }[];
  p95Without: number;
  p95With: number;
  /** p95With / p95Without. */
  ratio: number;
  /** Spread of the phases without throttled readers around their mean (max - min) / mean. */
  noise: number;
  /** Frames the throttled readers received and how many of them were cut off (4008). */
  throttledFrames: number;
  throttledCutoffs: number;
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

  const open = (onMessage?: (data: WebSocket.RawData, isBinary: boolean) => void): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => undefined);
      if (onMessage) ws.on('message', onMessage);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  /** Healthy clients' latencies (capture to receipt of detections) of the phase in progress, ms. */
  let latencies: number[] = [];
  const onHealthy = (data: WebSocket.RawData, isBinary: boolean): void => {
    healthyMessages++;
    if (isBinary) return;
    const text = data.toString();
    if (!text.startsWith('{"type":"detections"')) return;
    const ts = (JSON.parse(text) as { ts?: number }).ts;
    if (ts !== undefined) latencies.push(nowMs() - ts);
  };
  for (let i = 0; i < nClients; i++) {
    const ws = await open(onHealthy);
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

  const nThrottled = o.throttled ?? 0;
  const phaseMs = o.phaseMs ?? 30_000;
  const rate = o.throttledBytesPerSecond ?? 64 * 1024;
  const phases: ThrottledComparison['phases'] = [];
  let readers: ReaderGroup | undefined;
  let throttledFrames = 0;
  let throttledCutoffs = 0;
  let phase = 0;
  let phaseStart = Date.now();
  /** Ends the phase in progress (its latencies are judged once past the warm-up) and starts the next. */
  const nextPhase = async (now: number): Promise<void> => {
    if (now - t0 > warmupMs && latencies.length) phases.push({ with: readers !== undefined, p95: percentile(latencies, 0.95), frames: latencies.length });
    if (readers) {
      const done = await readers.close();
      throttledFrames += done.frames;
      throttledCutoffs += done.cutoffs;
      readers = undefined;
    }
    phase++;
    if (phase % 2 === 1) readers = await openReaders(server.url, ids, nThrottled, rate);
    latencies = [];
    phaseStart = Date.now();
  };

  const samples: SoakSample[] = [];
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < o.durationMs) {
      await sleep(sampleMs);
      if (nThrottled > 0 && Date.now() - phaseStart >= phaseMs) await nextPhase(Date.now());
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
        throttled: nThrottled > 0 && Date.now() - phaseStart < 2 * sampleMs ? undefined : readers !== undefined,
      };
      samples.push(s);
      o.onSample?.(s);
      if (s.clients === nClients + (readers?.connected() ?? 0) && stuckWs) {
        stuckCutoffs++;
        stuckWs.terminate();
        await stuck();
      }
    }
    if (nThrottled > 0) await nextPhase(Date.now());
  } finally {
    await readers?.close();
    for (const ws of sockets) ws.terminate();
    await server.close();
  }

  const judged = samples.filter((s) => s.t >= warmupMs);
  const half = judged.slice(Math.floor(judged.length / 2));
  const perMin = (ys: number[]): number => slope(half.map((s) => s.t / 60_000), ys);
  const heapSlope = perMin(half.map((s) => s.heapUsedMB));
  const rssSlope = perMin(half.map((s) => s.rssMB));
  // The throttled readers' relays hold handles of their own: phases with and without them are judged apart.
  const spreads = [true, false].map((kind) => judged.filter((s) => s.throttled === kind).map((s) => s.handles)).filter((hs) => hs.length);
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
    ...(nThrottled > 0 ? { throttled: compare(phases, nThrottled, rate, throttledFrames, throttledCutoffs) } : {}),
    failures: [],
  };
  const f = report.failures;
  const maxHeap = o.maxHeapSlopeMBPerMin ?? 3;
  const maxRss = o.maxRssSlopeMBPerMin ?? 30;
  const maxSpread = o.maxHandleSpread ?? 6;
  if (judged.length < 4) f.push(`only ${judged.length} samples after warm-up`);
  if (heapSlope > maxHeap) f.push(`heapUsed grows ${heapSlope.toFixed(2)} MB/min (bound ${maxHeap})`);
  if (rssSlope > maxRss) f.push(`RSS grows ${rssSlope.toFixed(2)} MB/min (bound ${maxRss})`);
  for (const hs of spreads) {
    if (Math.max(...hs) - Math.min(...hs) > maxSpread) f.push(`active handles vary ${Math.min(...hs)}..${Math.max(...hs)} (bound ${maxSpread})`);
  }
  if (report.ffmpeg.min !== nStreams || report.ffmpeg.max !== nStreams) f.push(`ffmpeg children ${report.ffmpeg.min}..${report.ffmpeg.max}, expected ${nStreams}`);
  if (liveFfmpegChildren() !== 0) f.push(`${liveFfmpegChildren()} ffmpeg children left after close`);
  if (healthyMessages === 0) f.push('healthy clients received nothing');
  const t = report.throttled;
  if (t) {
    const maxRatio = o.maxLatencyRatio ?? 1.1;
    if (!t.phases.some((p) => p.with) || !t.phases.some((p) => !p.with)) f.push('no judged phase with and without throttled readers (run longer)');
    else if (t.ratio > maxRatio + t.noise) f.push(`healthy clients' p95 is ${t.ratio.toFixed(2)}x with throttled readers (bound ${maxRatio} + noise ${t.noise.toFixed(2)})`);
  }
  return report;
}

/** Throttled readers: in a process of their own when this runs compiled (bench), else in this one (the test). */
interface ReaderGroup {
  /** Readers still connected, as far as this side knows. */
  connected(): number;
  close(): Promise<{ frames: number; cutoffs: number }>;
}

async function openReaders(url: string, ids: string[], count: number, bytesPerSecond: number): Promise<ReaderGroup> {
  const script = fileURLToPath(new URL('./throttledReader.js', import.meta.url));
  if (import.meta.url.endsWith('.js') && existsSync(script)) {
    const child = spawn(process.execPath, [script, url, ids.join(','), String(count), String(bytesPerSecond)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    while (!out.includes('ready') && child.exitCode === null) await sleep(50);
    return {
      // The server's own count is what the stuck-client check compares with; a reader cut off in
      // the other process is not seen here until the phase ends.
      connected: () => count,
      close: async () => {
        child.kill('SIGTERM');
        await exited;
        const last = out.trim().split('\n').at(-1) ?? '';
        return last.startsWith('{') ? (JSON.parse(last) as { frames: number; cutoffs: number }) : { frames: 0, cutoffs: 0 };
      },
    };
  }
  const readers = await Promise.all(Array.from({ length: count }, (_, i) => ThrottledReader.connect({ url, stream: ids[i % ids.length], bytesPerSecond, ack: i % 2 === 0 })));
  return {
    connected: () => readers.filter((r) => r.closeCode === undefined).length,
    close: async () => {
      const frames = readers.reduce((n, r) => n + r.latencies.length, 0);
      const cutoffs = readers.filter((r) => r.closeCode === 4008).length;
      for (const r of readers) r.close();
      return { frames, cutoffs };
    },
  };
}

function compare(phases: ThrottledComparison['phases'], readers: number, bytesPerSecond: number, throttledFrames: number, throttledCutoffs: number): ThrottledComparison {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  const without = phases.filter((p) => !p.with).map((p) => p.p95);
  const withR = phases.filter((p) => p.with).map((p) => p.p95);
  const p95Without = mean(without);
  const p95With = mean(withR);
  return {
    readers,
    bytesPerSecond,
    phases,
    p95Without,
    p95With,
    ratio: p95Without > 0 ? p95With / p95Without : NaN,
    noise: without.length > 1 && p95Without > 0 ? (Math.max(...without) - Math.min(...without)) / p95Without : 0,
    throttledFrames,
    throttledCutoffs,
  };
}

function summary(r: SoakReport): string {
  const fmt = (s: SoakSample): string => `rss ${s.rssMB.toFixed(1)} MB, heap ${s.heapUsedMB.toFixed(1)} MB, handles ${s.handles}, ffmpeg ${s.ffmpeg}`;
  return [
    `soak: ${(r.durationMs / 60_000).toFixed(1)} min, ${r.streams} streams, ${r.clients} clients + 1 stuck (cut off ${r.stuckCutoffs}x)`,
    `  after warm-up: ${fmt(r.start)}`,
    `  end:           ${fmt(r.end)}`,
    `  slopes (2nd half): heap ${r.heapSlopeMBPerMin.toFixed(2)} MB/min, rss ${r.rssSlopeMBPerMin.toFixed(2)} MB/min; handles ${r.handles.min}..${r.handles.max}`,
    `  frames sent ${r.framesSent}, messages to healthy clients ${r.healthyMessages}`,
    ...(r.throttled
      ? [
          `  throttled readers (${r.throttled.readers} at ${Math.round(r.throttled.bytesPerSecond / 1024)} KiB/s, every other phase): healthy p95 ${r.throttled.p95With.toFixed(1)} ms with, ` +
            `${r.throttled.p95Without.toFixed(1)} ms without = ${r.throttled.ratio.toFixed(3)}x (noise between phases without: ${(r.throttled.noise * 100).toFixed(1)} %); ` +
            `phases ${r.throttled.phases.map((p) => `${p.with ? 'with' : 'without'} ${p.p95.toFixed(0)}`).join(', ')}; throttled frames ${r.throttled.throttledFrames}, cut off ${r.throttled.throttledCutoffs}`,
        ]
      : []),
    r.failures.length ? `  FAIL: ${r.failures.join('; ')}` : '  OK: within the bounds',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      streams: { type: 'string' },
      clients: { type: 'string' },
      throttled: { type: 'string' },
      'throttled-kbps': { type: 'string' },
      'phase-seconds': { type: 'string' },
      json: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes ?? 5);
  let printed = -1;
  const report = await runSoak({
    durationMs: minutes * 60_000,
    streams: values.streams ? Number(values.streams) : undefined,
    clients: values.clients ? Number(values.clients) : undefined,
    throttled: values.throttled ? Number(values.throttled) : undefined,
    throttledBytesPerSecond: values['throttled-kbps'] ? Number(values['throttled-kbps']) * 1024 : undefined,
    phaseMs: values['phase-seconds'] ? Number(values['phase-seconds']) * 1000 : undefined,
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
