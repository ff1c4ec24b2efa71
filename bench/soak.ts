/**
 * Soak benchmark: the real live server in this process with several streams (the demo clip,
 * looped in real time, with video) and WebSocket clients (video, detections only, and one that
 * never reads and is reconnected each time the server cuts it off), sampled every second:
 * RSS, heapUsed (after a full GC; with throttled readers, one forced at each phase start only),
 * active handles (`process.getActiveResourcesInfo()`), live ffmpeg children, frames sent. After
 * the warm-up, growth is judged by the least-squares slope over the second half of the run.
 *
 *   node dist/bench/soak.js [--minutes N] [--streams N] [--fps N] [--clients N] [--throttled N] [--throttled-kbps N]
 *                           [--phase-seconds N] [--series-seconds N] [--profile DIR] [--json file]
 *
 * With `--throttled N`, N more clients read through throttled links (bench/throttledReader.ts: a
 * paced relay per link, all in one process of their own, started once and niced, so that their
 * CPU is neither the server's event loop's nor ahead of it on the cores; half of them
 * acknowledging frames) in every other phase of `--phase-seconds`, starting without them. Each
 * phase with them is judged against the mean of the phases without them on either side (the
 * healthy clients' p95 latency, capture to receipt of detections, pooled over the same clients in
 * every phase, the first seconds of a phase left out while readers come or go): one ratio per
 * such phase, and their geometric mean with a 95 % confidence interval from the phase-to-phase
 * spread (Student's t over the log ratios). Per phase it also records the CPU time of this process
 * (server and healthy clients), of the readers' process and of the whole machine, and the event
 * loop's delay. `--profile DIR` writes a CPU profile of this process for the first judged phase
 * with the readers and the one after it, prints the functions whose self time differs most, and
 * leaves both phases out of the ratio.
 *
 * Through the whole run, every `--series-seconds` or, with throttled readers, every phase (SoakInterval): the healthy clients' latency
 * split into the server's part (capture to handed to the outputs, with its wait/queue/run terms)
 * and delivery (to receipt), frames decoded/inferred/sent, CPU per frame, loop delay, RSS and the
 * machine's busy and stolen cores, so that a drift can be placed; and the p95's slope after warm-up.
 *
 * Exits 1 when a bound is exceeded. `runSoak()` is the same run as a function (the test calls it
 * for ~25 s).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
  /** Frames per second of each stream (the stream's `fps` cap); default the clip's own, 15. */
  fps?: number;
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
  /** Length of a phase with or without the throttled readers. Default 15 s. */
  phaseMs?: number;
  /** Latencies of a phase's first this many ms are not judged (readers connecting or closing). Default 2 s, at most a third of a phase. */
  settleMs?: number;
  /** Largest p95 ratio (with / without throttled readers): the run fails when its confidence interval lies wholly above. Default 1.10. */
  maxLatencyRatio?: number;
  /** Directory for CPU profiles of one phase with the readers and the next one without (see the header). */
  profileDir?: string;
  /** Length of an interval of the latency series (SoakInterval). Default 30 s; with throttled readers each phase is one. */
  seriesMs?: number;
  onInterval?: (i: SoakInterval) => void;
  onSample?: (s: SoakSample) => void;
}

export interface SoakSample {
  t: number;
  rssMB: number;
  /** heapUsed after the last full GC (every sample's own, or with throttled readers, the last phase start's). */
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

/**
 * One interval of the series (`seriesMs`, 30 s by default; with throttled readers, one phase) over the whole run, warm-up included:
 * where the healthy clients' latency goes, to tell a drift in the server from one in the
 * measurement. Percentiles are p95 over every detections message the healthy clients got.
 */
export interface SoakInterval {
  /** End of the interval, ms since the start. */
  t: number;
  /** A phase with the throttled readers. */
  readers: boolean;
  /** Detections messages the healthy clients got. */
  messages: number;
  /** Capture (the server reading the frame from ffmpeg) to receipt by the client: p50 and p95. */
  p50: number;
  p95: number;
  /** The server's part, capture to handed to the outputs (`latency.total_ms`), and the terms that add up to most of it. */
  server95: number;
  wait95: number;
  queue95: number;
  run95: number;
  /** Handed to the outputs to receipt (socket, kernel, the clients' event loop), per message. */
  delivery95: number;
  /** Frames the streams decoded, inferred and sent in the interval. */
  decoded: number;
  inferred: number;
  sent: number;
  /** This process's CPU time per frame sent, ms, and the event loop's delay p99, ms. */
  cpuMsPerFrame: number;
  loopP99: number;
  rssMB: number;
  /** CPU cores used by this process and by the whole machine (all processes), and cores the hypervisor took (steal), over the interval. */
  cores: number;
  machineCores?: number;
  stealCores?: number;
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
  /** The healthy clients' latency, split, per interval (SoakInterval). */
  series: SoakInterval[];
  /** Least-squares slope of the intervals' p95 after warm-up, ms per minute (a drift), and the same of the server's part. */
  p95SlopeMsPerMin: number;
  server95SlopeMsPerMin: number;
  /** With throttled readers: the healthy clients' latency in the phases with and without them. */
  throttled?: ThrottledComparison;
  failures: string[];
}

/** One phase after warm-up, with or without the throttled readers. */
export interface SoakPhase {
  with: boolean;
  /** Healthy clients' latency over the judged part of the phase, ms. */
  p50: number;
  p95: number;
  frames: number;
  /** CPU used per second of the phase, in cores: this process (server and healthy clients), the readers' process, the machine. */
  serverCores: number;
  readerCores?: number;
  machineCores?: number;
  /** This process's CPU time per frame the streams sent, ms: what the readers cost it, whatever the machine's load. */
  cpuMsPerFrame: number;
  /** This process's event-loop delay, p99, ms. */
  loopP99: number;
  /** Bytes per second the throttled links passed, all together. */
  readerBytesPerSecond?: number;
  /** CPU-profiled (left out of the ratio). */
  profiled?: boolean;
}

export interface ThrottledComparison {
  readers: number;
  bytesPerSecond: number;
  phases: SoakPhase[];
  /** p95 of each judged phase with the readers over the mean p95 of the phases without them on either side. */
  ratios: number[];
  /** Geometric mean of `ratios`, and its 95 % confidence interval (NaN with fewer than two ratios). */
  ratio: number;
  ci: [number, number];
  /** Mean over the phases of the CPU cores this process used, with and without the readers. */
  serverCores: { with: number; without: number };
  /** This process's CPU time per frame sent, phases with over phases without the readers (as `ratio`). */
  cpuPerFrame: { ratio: number; ci: [number, number] };
  /** Frames the throttled readers received, and how often the server cut one off (a slow one is reconnected in the readers' process). */
  throttledFrames: number;
  throttledCutoffs: number;
  /** With a profile: the functions whose self time differs most between the profiled phases. */
  profile?: string[];
}

/** Two-sided 95 % quantiles of Student's t by degrees of freedom (1..30; beyond, 1.96 is close enough). */
const T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/**
 * Per phase with the readers, its p95 over the mean p95 of the unprofiled phases without them
 * right before and after (one of them at the ends of the run): bracketing cancels the machine's
 * slow drifts. `value` is what is compared (default the p95). Returns those ratios, their geometric mean and its 95 % confidence interval.
 */
export function phaseRatios<P extends Pick<SoakPhase, 'with' | 'profiled'>>(
  phases: readonly P[],
  value: (p: P) => number = (p) => (p as unknown as SoakPhase).p95,
): { ratios: number[]; ratio: number; ci: [number, number] } {
  const ratios: number[] = [];
  phases.forEach((p, i) => {
    if (!p.with || p.profiled) return;
    const around = [phases[i - 1], phases[i + 1]].filter((q) => q && !q.with && !q.profiled).map(value);
    if (around.length) ratios.push(value(p) / (around.reduce((a, b) => a + b, 0) / around.length));
  });
  const logs = ratios.map(Math.log);
  const n = logs.length;
  const m = n ? logs.reduce((a, b) => a + b, 0) / n : NaN;
  if (n < 2) return { ratios, ratio: Math.exp(m), ci: [NaN, NaN] };
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { ratios, ratio: Math.exp(m), ci: [Math.exp(m - half), Math.exp(m + half)] };
}

/** Busy, stolen (by the hypervisor) and total jiffies of all CPUs together (/proc/stat), or undefined without /proc. */
function machineJiffies(): { busy: number; steal: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] ?? 0), steal: f[7] ?? 0, total };
  } catch {
    return undefined;
  }
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
      streams: ids.map((id, i) => ({ id, url: clip.video, loop: true, realtime: true, video: i < Math.max(1, nStreams - 1), ...(o.fps ? { fps: o.fps } : {}) })),
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
  /** Set while a phase is judged (past its settling time). */
  let collecting = false;
  const onHealthy = (data: WebSocket.RawData, isBinary: boolean): void => {
    healthyMessages++;
    if (isBinary) return;
    const text = data.toString();
    if (!text.startsWith('{"type":"detections"')) return;
    const m = JSON.parse(text) as { ts?: number; latency?: Partial<Record<'total_ms' | 'wait_ms' | 'queue_ms' | 'run_ms', number | null>> };
    if (m.ts === undefined) return;
    const ms = nowMs() - m.ts;
    if (collecting) latencies.push(ms);
    const l = m.latency ?? {};
    interval.e2e.push(ms);
    if (l.total_ms != null) {
      interval.server.push(l.total_ms);
      interval.delivery.push(ms - l.total_ms);
    }
    if (l.wait_ms != null) interval.wait.push(l.wait_ms);
    if (l.queue_ms != null) interval.queue.push(l.queue_ms);
    if (l.run_ms != null) interval.run.push(l.run_ms);
  };
  const seriesMs = o.seriesMs ?? 30_000;
  const newInterval = () => ({ e2e: [] as number[], server: [] as number[], delivery: [] as number[], wait: [] as number[], queue: [] as number[], run: [] as number[] });
  let interval = newInterval();
  const series: SoakInterval[] = [];
  const intervalLoop = monitorEventLoopDelay({ resolution: 10 });
  intervalLoop.enable();
  const counts = (): { decoded: number; inferred: number; sent: number } => {
    const all = server.hub.list();
    return { decoded: all.reduce((a, st) => a + st.framesDecoded, 0), inferred: all.reduce((a, st) => a + st.framesInferred, 0), sent: all.reduce((a, st) => a + st.framesSent, 0) };
  };
  let intervalStart = { cpu: process.cpuUsage(), machine: machineJiffies(), at: Date.now(), ...counts() };
  /** Closes the interval in progress: its percentiles and counts into the series. */
  const endInterval = (t: number): void => {
    const i = interval;
    interval = newInterval();
    const now = { cpu: process.cpuUsage(), machine: machineJiffies(), at: Date.now(), ...counts() };
    const cpu = process.cpuUsage(intervalStart.cpu);
    const seconds = (now.at - intervalStart.at) / 1000;
    const m0 = intervalStart.machine;
    const m1 = now.machine;
    const p95 = (xs: number[]): number => (xs.length ? percentile(xs, 0.95) : NaN);
    const entry: SoakInterval = {
      t,
      readers: readersIn,
      messages: i.e2e.length,
      p50: i.e2e.length ? percentile(i.e2e, 0.5) : NaN,
      p95: p95(i.e2e),
      server95: p95(i.server),
      wait95: p95(i.wait),
      queue95: p95(i.queue),
      run95: p95(i.run),
      delivery95: p95(i.delivery),
      decoded: now.decoded - intervalStart.decoded,
      inferred: now.inferred - intervalStart.inferred,
      sent: now.sent - intervalStart.sent,
      cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / Math.max(1, now.sent - intervalStart.sent),
      loopP99: intervalLoop.percentile(99) / 1e6,
      rssMB: process.memoryUsage().rss / MB,
      cores: (cpu.user + cpu.system) / 1e6 / seconds,
      ...(m0 && m1 ? { machineCores: (m1.busy - m0.busy) / 100 / seconds, stealCores: (m1.steal - m0.steal) / 100 / seconds } : {}),
    };
    intervalStart = now;
    intervalLoop.reset();
    series.push(entry);
    o.onInterval?.(entry);
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
  const phaseMs = o.phaseMs ?? 15_000;
  const settleMs = Math.min(o.settleMs ?? 2000, phaseMs / 3);
  const rate = o.throttledBytesPerSecond ?? 64 * 1024;
  const phases: SoakPhase[] = [];
  const readers = nThrottled > 0 ? await readerGroup(server.url, ids, nThrottled, rate) : undefined;
  let readersIn = false;
  let throttledFrames = 0;
  let throttledCutoffs = 0;
  let phase = 0;
  let phaseStart = Date.now();
  let profiling: Session | undefined;
  let profiled = 0;
  const profileTops: { with: boolean; self: Map<string, number> }[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  /** What a phase is judged on, from the end of its settling time. */
  let judging: { at: number; cpu: NodeJS.CpuUsage; machine: ReturnType<typeof machineJiffies>; frames: number } | undefined;
  const framesSent = (): number => server.hub.list().reduce((a, st) => a + st.framesSent, 0);
  const startJudging = async (): Promise<void> => {
    latencies = [];
    collecting = true;
    loopDelay.reset();
    loopDelay.enable();
    // The first judged phase with the readers and the one after it are profiled.
    if (o.profileDir && Date.now() - t0 > warmupMs && profiled < 2 && (readersIn || profiled === 1)) {
      profiling = new Session();
      profiling.connect();
      await profiling.post('Profiler.enable');
      await profiling.post('Profiler.start');
    }
    judging = { at: Date.now(), cpu: process.cpuUsage(), machine: machineJiffies(), frames: framesSent() };
    if (readersIn) await readers?.mark();
  };
  /** Ends the phase in progress (judged once past the warm-up) and starts the next. */
  const nextPhase = async (now: number): Promise<void> => {
    loopDelay.disable();
    collecting = false;
    const j = judging;
    judging = undefined;
    const seconds = j ? (now - j.at) / 1000 : 0;
    const readerUse = readersIn ? await readers?.used() : undefined;
    endInterval(now - t0);
    let wasProfiled = false;
    if (profiling) {
      const { profile } = await profiling.post('Profiler.stop');
      profiling.disconnect();
      profiling = undefined;
      mkdirSync(o.profileDir!, { recursive: true });
      writeFileSync(join(o.profileDir!, `phase-${phase}-${readersIn ? 'with' : 'without'}.cpuprofile`), JSON.stringify(profile));
      profileTops.push({ with: readersIn, self: selfTimes(profile) });
      profiled++;
      wasProfiled = true;
    }
    if (j && now - t0 > warmupMs && latencies.length && seconds > 0) {
      const cpu = process.cpuUsage(j.cpu);
      const m1 = machineJiffies();
      phases.push({
        with: readersIn,
        p50: percentile(latencies, 0.5),
        p95: percentile(latencies, 0.95),
        frames: latencies.length,
        serverCores: (cpu.user + cpu.system) / 1e6 / seconds,
        cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / Math.max(1, framesSent() - j.frames),
        ...(readerUse ? { readerCores: readerUse.cpuMs / 1000 / seconds, readerBytesPerSecond: readerUse.bytes / seconds } : {}),
        ...(j.machine && m1 ? { machineCores: (m1.busy - j.machine.busy) / 100 / seconds } : {}),
        loopP99: loopDelay.percentile(99) / 1e6,
        ...(wasProfiled ? { profiled: true } : {}),
      });
    }
    if (readersIn) {
      const done = await readers!.close();
      throttledFrames += done.frames;
      throttledCutoffs += done.cutoffs;
      readersIn = false;
    }
    phase++;
    if (phase % 2 === 1) {
      await readers!.open();
      readersIn = true;
    }
    latencies = [];
    phaseStart = Date.now();
  };

  const samples: SoakSample[] = [];
  let heapUsedMB = 0;
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < o.durationMs) {
      await sleep(sampleMs);
      // With throttled readers an interval is a phase (nextPhase ends it): each is with or without them.
      if (nThrottled === 0 && Date.now() - t0 >= (series.length + 1) * seriesMs) endInterval(Date.now() - t0);
      if (nThrottled > 0 && Date.now() - phaseStart >= phaseMs) await nextPhase(Date.now());
      if (nThrottled > 0 && !judging && Date.now() - phaseStart >= settleMs) await startJudging();
      // A forced full GC stops the event loop (tens of ms on a loaded machine): with throttled
      // readers only in a phase's settling time, which latencies are not judged on.
      if (nThrottled === 0 || !judging) {
        gc();
        heapUsedMB = process.memoryUsage().heapUsed / MB;
      }
      const mem = process.memoryUsage();
      const s: SoakSample = {
        t: Date.now() - t0,
        rssMB: mem.rss / MB,
        heapUsedMB,
        handles: process.getActiveResourcesInfo().length,
        ffmpeg: liveFfmpegChildren(),
        framesSent: server.hub.list().reduce((a, st) => a + st.framesSent, 0),
        clients: server.clients().length,
        maxBufferedKB: Math.max(0, ...server.clients().map((c) => c.bufferedAmount)) / 1024,
        throttled: nThrottled > 0 && Date.now() - phaseStart < 2 * sampleMs ? undefined : readersIn,
      };
      samples.push(s);
      o.onSample?.(s);
      if (s.clients === nClients + (readersIn ? readers!.connected() : 0) && stuckWs) {
        stuckCutoffs++;
        stuckWs.terminate();
        await stuck();
      }
    }
    if (nThrottled > 0) await nextPhase(Date.now());
    if (nThrottled === 0 && interval.e2e.length) endInterval(Date.now() - t0);
  } finally {
    intervalLoop.disable();
    await readers?.end();
    for (const ws of sockets) ws.terminate();
    await server.close();
  }

  const judged = samples.filter((s) => s.t >= warmupMs);
  const half = judged.slice(Math.floor(judged.length / 2));
  const perMin = (ys: number[]): number => slope(half.map((s) => s.t / 60_000), ys);
  const heapSlope = perMin(half.map((s) => s.heapUsedMB));
  const rssSlope = perMin(half.map((s) => s.rssMB));
  // The throttled readers hold handles of their own (and so do their relays, in this process): phases with and without them are judged apart.
  const spreads = [true, false].map((kind) => ({ kind, hs: judged.filter((s) => s.throttled === kind).map((s) => s.handles) })).filter(({ hs }) => hs.length);
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
    series,
    ...seriesSlopes(series, warmupMs),
    ...(nThrottled > 0 ? { throttled: { ...compare(phases, nThrottled, rate, throttledFrames, throttledCutoffs), ...(profileTops.length ? { profile: profileDiff(profileTops) } : {}) } } : {}),
    failures: [],
  };
  const f = report.failures;
  const maxHeap = o.maxHeapSlopeMBPerMin ?? 3;
  const maxRss = o.maxRssSlopeMBPerMin ?? 30;
  const maxSpread = o.maxHandleSpread ?? 6;
  if (judged.length < 4) f.push(`only ${judged.length} samples after warm-up`);
  if (heapSlope > maxHeap) f.push(`heapUsed grows ${heapSlope.toFixed(2)} MB/min (bound ${maxHeap})`);
  if (rssSlope > maxRss) f.push(`RSS grows ${rssSlope.toFixed(2)} MB/min (bound ${maxRss})`);
  for (const { kind, hs } of spreads) {
    // A reader cut off for being slow reconnects while its old socket has up to 2 s to close: one more handle each.
    const bound = maxSpread + (kind ? nThrottled : 0);
    if (Math.max(...hs) - Math.min(...hs) > bound) f.push(`active handles vary ${Math.min(...hs)}..${Math.max(...hs)} ${kind ? 'with' : 'without'} the throttled readers (bound ${bound})`);
  }
  if (report.ffmpeg.min !== nStreams || report.ffmpeg.max !== nStreams) f.push(`ffmpeg children ${report.ffmpeg.min}..${report.ffmpeg.max}, expected ${nStreams}`);
  if (liveFfmpegChildren() !== 0) f.push(`${liveFfmpegChildren()} ffmpeg children left after close`);
  if (healthyMessages === 0) f.push('healthy clients received nothing');
  const t = report.throttled;
  if (t) {
    const maxRatio = o.maxLatencyRatio ?? 1.1;
    if (!t.phases.some((p) => p.with) || !t.phases.some((p) => !p.with)) f.push('no judged phase with and without throttled readers (run longer)');
    else if (!(t.ci[0] <= maxRatio)) f.push(`healthy clients' p95 is ${t.ratio.toFixed(3)}x with throttled readers, 95 % CI ${t.ci.map((x) => x.toFixed(3)).join('..')}, above the bound ${maxRatio}`);
  }
  return report;
}

/** Drift of the series after warm-up: least-squares slopes of the intervals' p95 and of the server's part, ms per minute. */
function seriesSlopes(series: SoakInterval[], warmupMs: number): { p95SlopeMsPerMin: number; server95SlopeMsPerMin: number } {
  const judged = series.filter((i) => i.t > warmupMs && Number.isFinite(i.p95));
  const ts = judged.map((i) => i.t / 60_000);
  return { p95SlopeMsPerMin: slope(ts, judged.map((i) => i.p95)), server95SlopeMsPerMin: slope(ts, judged.map((i) => i.server95)) };
}

/** One line of the series (the header is in `summary`). */
function intervalLine(i: SoakInterval): string {
  const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
  const readers = i.readers ? 'with' : 'without';
  return (
    `    ${f0(i.t / 1000).padStart(4)} s ${readers.padEnd(7)} ${String(i.messages).padStart(6)} ${f0(i.p50).padStart(5)} ${f0(i.p95).padStart(5)} | ` +
    `${f0(i.server95).padStart(5)} ${f0(i.wait95).padStart(5)} ${f0(i.queue95).padStart(5)} ${f0(i.run95).padStart(5)} | ${f0(i.delivery95).padStart(5)} | ` +
    `${i.decoded}/${i.inferred}/${i.sent} ${i.cpuMsPerFrame.toFixed(1)} ${f0(i.loopP99)} ${i.rssMB.toFixed(0)} | ` +
    `${i.cores.toFixed(2)}/${i.machineCores?.toFixed(2) ?? '-'}/${i.stealCores?.toFixed(2) ?? '-'}`
  );
}

/** Self time (ms) per function of a CPU profile, keyed `name url:line`. */
function selfTimes(profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples?: number[]; timeDeltas?: number[] }): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i: the time a sample stands for is the next delta.
  for (let i = 0; i < samples.length; i++) {
    const f = byId.get(samples[i])?.callFrame;
    if (!f) continue;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
    out.set(key, (out.get(key) ?? 0) + (deltas[i + 1] ?? 0) / 1000);
  }
  return out;
}

/** The functions whose self time differs most between the profiled phases with and without the readers. */
function profileDiff(tops: { with: boolean; self: Map<string, number> }[]): string[] {
  const w = tops.find((t) => t.with)?.self;
  const wo = tops.find((t) => !t.with)?.self;
  if (!w || !wo) return [];
  const keys = new Set([...w.keys(), ...wo.keys()]);
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const rows = [...keys].map((k) => ({ k, a: w.get(k) ?? 0, b: wo.get(k) ?? 0 })).sort((x, y) => Math.abs(y.a - y.b) - Math.abs(x.a - x.b));
  return [
    `  profile: self time with the readers ${total(w).toFixed(0)} ms, without ${total(wo).toFixed(0)} ms; largest differences (with / without, ms):`,
    ...rows.slice(0, 15).map((r) => `    ${r.a.toFixed(0).padStart(6)} ${r.b.toFixed(0).padStart(6)}  ${r.k}`),
  ];
}

/** The throttled readers, connected in phases: in a process of their own when this runs compiled (bench), else in this one (the test). */
interface ReaderGroup {
  open(): Promise<void>;
  /** Starts counting the readers' CPU and bytes anew (the judged part of a phase). */
  mark(): Promise<void>;
  /** CPU time of the readers' process and bytes passed since mark(); undefined in this process. */
  used(): Promise<{ cpuMs: number; bytes: number } | undefined>;
  /** Readers still connected, as far as this side knows. */
  connected(): number;
  close(): Promise<{ frames: number; cutoffs: number }>;
  /** Closes the readers, if connected, and their process. */
  end(): Promise<void>;
}

async function readerGroup(url: string, ids: string[], count: number, bytesPerSecond: number): Promise<ReaderGroup> {
  const script = fileURLToPath(new URL('./throttledReader.js', import.meta.url));
  if (import.meta.url.endsWith('.js') && existsSync(script)) {
    const child = spawn(process.execPath, [script, url, ids.join(','), String(count), String(bytesPerSecond)], { stdio: ['pipe', 'pipe', 'inherit'] });
    // Niced: on a busy machine the readers' process yields the cores to the server it measures.
    if (child.pid) setPriority(child.pid, 10);
    const lines: string[] = [];
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const reply = async (command: string): Promise<string> => {
      lines.length = 0;
      child.stdin.write(command + '\n');
      while (!lines.length && child.exitCode === null) await sleep(20);
      if (!lines.length) throw new Error(`throttled readers exited (${child.exitCode}) on ${command}`);
      return lines.shift()!;
    };
    let connected = false;
    let marked = { cpuMs: 0, bytes: 0 };
    const stats = async (): Promise<{ bytes: number; cpuMs: number }> => JSON.parse(await reply('stats')) as { bytes: number; cpuMs: number };
    return {
      open: async () => {
        await reply('open');
        connected = true;
      },
      mark: async () => {
        marked = await stats();
      },
      used: async () => {
        const now = await stats();
        return { cpuMs: now.cpuMs - marked.cpuMs, bytes: now.bytes - marked.bytes };
      },
      // The server's own count is what the stuck-client check compares with; a reader cut off in
      // the other process is not seen here until the phase ends.
      connected: () => (connected ? count : 0),
      close: async () => {
        const done = JSON.parse(await reply('close')) as { frames: number; cutoffs: number };
        connected = false;
        return done;
      },
      end: async () => {
        if (connected) await reply('close');
        child.stdin.end();
        await exited;
      },
    };
  }
  let readers: ThrottledReader[] = [];
  return {
    open: async () => {
      readers = await Promise.all(Array.from({ length: count }, (_, i) => ThrottledReader.connect({ url, stream: ids[i % ids.length], bytesPerSecond, ack: i % 2 === 0 })));
    },
    mark: async () => undefined,
    used: async () => undefined,
    connected: () => readers.filter((r) => r.closeCode === undefined).length,
    close: async () => {
      const frames = readers.reduce((n, r) => n + r.latencies.length, 0);
      const cutoffs = readers.filter((r) => r.closeCode !== undefined).length;
      for (const r of readers) r.close();
      readers = [];
      return { frames, cutoffs };
    },
    end: async () => {
      for (const r of readers) r.close();
      readers = [];
    },
  };
}

function compare(phases: SoakPhase[], readers: number, bytesPerSecond: number, throttledFrames: number, throttledCutoffs: number): ThrottledComparison {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  const cores = (w: boolean): number => mean(phases.filter((p) => p.with === w).map((p) => p.serverCores));
  const { ratio, ci } = phaseRatios(phases, (p) => p.cpuMsPerFrame);
  return { readers, bytesPerSecond, phases, ...phaseRatios(phases), serverCores: { with: cores(true), without: cores(false) }, cpuPerFrame: { ratio, ci }, throttledFrames, throttledCutoffs };
}

function throttledSummary(t: ThrottledComparison): string[] {
  const f1 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(2));
  const decided = !(t.ci[1] <= 1.1) ? (!(t.ci[0] <= 1.1) ? 'above 1.10' : 'not shown within 1.10') : 'within 1.10';
  return [
    `  throttled readers: ${t.readers} at ${Math.round(t.bytesPerSecond / 1024)} KiB/s, every other phase; they got ${t.throttledFrames} frames, ${t.throttledCutoffs} cut off`,
    `  healthy clients' p95 with / without them: ${t.ratio.toFixed(3)}x, 95 % CI ${t.ci.map((x) => x.toFixed(3)).join('..')} (${decided}), from ${t.ratios.length} phases: ${t.ratios.map((x) => x.toFixed(3)).join(' ')}`,
    `  this process's CPU (server + healthy clients): ${t.serverCores.with.toFixed(3)} cores with, ${t.serverCores.without.toFixed(3)} without; ` +
      `per frame sent, with / without: ${t.cpuPerFrame.ratio.toFixed(3)}x, 95 % CI ${t.cpuPerFrame.ci.map((x) => x.toFixed(3)).join('..')}`,
    '  phases (p50/p95 ms, frames, cores: this process / readers / machine, CPU ms per frame sent, loop delay p99 ms, link KiB/s):',
    ...t.phases.map(
      (p) =>
        `    ${(p.with ? 'with' : 'without').padEnd(7)} ${p.p50.toFixed(0)}/${p.p95.toFixed(0)} ${p.frames} ${f1(p.serverCores)}/${f1(p.readerCores)}/${f1(p.machineCores)} ${p.cpuMsPerFrame.toFixed(1)} ${p.loopP99.toFixed(0)}` +
        `${p.readerBytesPerSecond !== undefined ? ' ' + (p.readerBytesPerSecond / 1024).toFixed(0) : ''}${p.profiled ? ' (profiled)' : ''}`,
    ),
    ...(t.profile ?? []),
  ];
}

function summary(r: SoakReport): string {
  const fmt = (s: SoakSample): string => `rss ${s.rssMB.toFixed(1)} MB, heap ${s.heapUsedMB.toFixed(1)} MB, handles ${s.handles}, ffmpeg ${s.ffmpeg}`;
  return [
    `soak: ${(r.durationMs / 60_000).toFixed(1)} min, ${r.streams} streams, ${r.clients} clients + 1 stuck (cut off ${r.stuckCutoffs}x)`,
    `  after warm-up: ${fmt(r.start)}`,
    `  end:           ${fmt(r.end)}`,
    `  slopes (2nd half): heap ${r.heapSlopeMBPerMin.toFixed(2)} MB/min, rss ${r.rssSlopeMBPerMin.toFixed(2)} MB/min; handles ${r.handles.min}..${r.handles.max}`,
    `  frames sent ${r.framesSent}, messages to healthy clients ${r.healthyMessages}`,
    `  healthy clients' latency per ${r.series.length > 1 ? ((r.series[1].t - r.series[0].t) / 1000).toFixed(0) : '-'} s (ms; p95 drift after warm-up ${r.p95SlopeMsPerMin.toFixed(1)} ms/min, server's part ${r.server95SlopeMsPerMin.toFixed(1)} ms/min):`,
    '       t readers  msgs    p50   p95 | server p95: all  wait queue   run | delivery p95 | frames decoded/inferred/sent, CPU ms/frame, loop p99 ms, rss MB | cores: this process/machine/steal',
    ...r.series.map(intervalLine),
    ...(r.throttled ? throttledSummary(r.throttled) : []),
    r.failures.length ? `  FAIL: ${r.failures.join('; ')}` : '  OK: within the bounds',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      streams: { type: 'string' },
      fps: { type: 'string' },
      clients: { type: 'string' },
      throttled: { type: 'string' },
      'throttled-kbps': { type: 'string' },
      'phase-seconds': { type: 'string' },
      profile: { type: 'string' },
      'series-seconds': { type: 'string' },
      json: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes ?? 5);
  let printed = -1;
  const report = await runSoak({
    durationMs: minutes * 60_000,
    streams: values.streams ? Number(values.streams) : undefined,
    fps: values.fps ? Number(values.fps) : undefined,
    clients: values.clients ? Number(values.clients) : undefined,
    throttled: values.throttled ? Number(values.throttled) : undefined,
    throttledBytesPerSecond: values['throttled-kbps'] ? Number(values['throttled-kbps']) * 1024 : undefined,
    phaseMs: values['phase-seconds'] ? Number(values['phase-seconds']) * 1000 : undefined,
    profileDir: values.profile,
    seriesMs: values['series-seconds'] ? Number(values['series-seconds']) * 1000 : undefined,
    onInterval: (i) => process.stderr.write(intervalLine(i) + '\n'),
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
