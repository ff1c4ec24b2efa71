/**
 * Section 6, WebSocket fan-out: one realtime stream, N clients (metadata only, then with video) in
 * a child process (wsLoad.ts). Delivered rate (messages per client against frames the stream
 * produced), p99 delivery latency (receive - server sendTs) and the server process's CPU over the
 * window (process.cpuUsage: main thread, inference worker and ffmpeg's pipe handling; ffmpeg
 * itself is a separate process) with the main thread's event-loop utilisation (where fan-out
 * runs), against the same window with no client. Then one stuck client
 * (socket paused, never reads) next to N healthy ones: the healthy clients' p99 with and without it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Clip } from './inputs.js';
import { ResultRecorder, startBenchServer, type BenchServer } from './liveServer.js';
import { r3, ratio, sleep, summarize, type Summary } from './stats.js';
import type { LoadReport, LoadSpec } from './wsLoad.js';

export interface FanoutRun {
  clients: number;
  video: boolean;
  stuck: boolean;
  producedFps: number;
  /** Mean over clients of detections received / frames produced. */
  deliveredRatio: number;
  minDeliveredRatio: number;
  videoRatio: number;
  delivery: Summary;
  /** WebSocket handshakes that failed and were retried by the clients, with the last reason. */
  connectRetries: number;
  lastConnectError?: string;
  /** Server process CPU (all threads, including inference), % of one core. */
  serverCpuPercent: number;
  /** Event-loop utilisation of the server's main thread (where fan-out happens), 0..1. */
  mainThreadUtilisation: number;
  /** Mean messages (detections + video) the server dropped per client for backpressure. */
  serverDropsPerClient: number;
  /**
   * The clients received far less than the server handed over (it dropped little for them): the
   * backlog sat in the load generator or the kernel's socket buffers, so the run measures the
   * load generator, not the server.
   */
  loadGeneratorBound: boolean;
  /** Stuck client, as the server sees it at the end of the window. */
  stuckClient?: {
    bufferedAmount: number;
    drops: { video: number; detections: number };
    /** Seconds until the server first dropped messages for the stuck client (null: not within the wait). */
    congestedAfterSeconds: number | null;
  };
}

export interface FanoutResult {
  clip: string;
  idleCpuPercent: number;
  idleMainThreadUtilisation: number;
  runs: FanoutRun[];
  stuckComparison: {
    clients: number;
    p99Without: number;
    p99With: number;
    change: number;
    withinTenPercent: boolean;
    /** The stuck client had reached the server's buffer bound before the window: otherwise the comparison shows nothing. */
    stuckAtBound: boolean;
  };
}

export interface FanoutOptions {
  clip: Clip;
  modelPath: string;
  mediaFolder: string;
  clientCounts: number[];
  stuckClients: number;
  seconds: number;
  /** Longest wait for the stuck client to back up on the server before its window opens. */
  congestionWaitSeconds: number;
}

/** The compiled wsLoad.js next to this module (from source, the copy under dist/). */
function loadScript(): string {
  const url = new URL('./wsLoad.js', import.meta.url);
  if (import.meta.url.endsWith('.ts')) url.pathname = url.pathname.replace(/\/bench\/wsLoad\.js$/, '/dist/bench/wsLoad.js');
  return fileURLToPath(url);
}

/** Runs the client process; `onReady` resolves when the measurement window may open. */
export function runLoad(spec: LoadSpec, onReady: () => Promise<void>, readyWaitSeconds: number): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [loadScript(), JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
    // Connecting (handshakes the server stalls are retried after its 408: allow ~0.5 s per client),
    // the wait before the window, the window, reporting: anything beyond is a hang.
    const killer = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + readyWaitSeconds + 60 + 0.5 * spec.clients) * 1000);
    let out = '';
    let stderr = '';
    let ready = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!ready && out.includes('"ready":true')) {
        ready = true;
        void onReady().then(() => child.stdin.end('go\n'));
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{"clients"')) reject(new Error(`wsLoad exited with ${code ?? signal}: ${stderr.trim().slice(0, 300)}`));
      else resolve(JSON.parse(last) as LoadReport);
    });
  });
}

/**
 * Waits until some client (the stuck one) has messages dropped, i.e. its server-side send buffer
 * reached the bound; the kernel's socket buffers (several MB on loopback) fill first. Seconds
 * waited, or undefined when it did not happen within `maxSeconds`.
 */
async function waitForCongestion(bench: BenchServer, maxSeconds: number): Promise<number | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxSeconds * 1000) {
    if (bench.server.clients().some((c) => c.drops.video + c.drops.detections > 0)) return r3((performance.now() - t0) / 1000);
    await sleep(250);
  }
  return undefined;
}

async function measure(bench: BenchServer, recorder: ResultRecorder, spec: LoadSpec, congestionWaitSeconds = 0): Promise<FanoutRun> {
  // The previous run's clients are gone before this one starts.
  for (let i = 0; i < 100 && bench.server.clients().length > 0; i++) await sleep(100);
  let congestedAfter: number | undefined;
  let cpuPercent = 0;
  let loopUtilisation = 0;
  let stuckClient: { bufferedAmount: number; drops: { video: number; detections: number } } | undefined;
  let serverDrops: number[] = [];
  let window: Promise<void> = Promise.resolve();
  // Everything the stream publishes while the clients run, to count what they should have received.
  recorder.start();
  // The CPU window opens when the clients report ready and lasts as long as theirs.
  const report = await runLoad(spec, async () => {
    if (spec.stuck) congestedAfter = await waitForCongestion(bench, congestionWaitSeconds);
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    window = sleep(spec.seconds * 1000).then(() => {
      const cpu = process.cpuUsage(cpu0);
      cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
      loopUtilisation = performance.eventLoopUtilization(elu0).utilization;
    });
    // Sampled before the clients disconnect at the end of their window.
    setTimeout(() => {
      serverDrops = bench.server.clients().map((c) => c.drops.video + c.drops.detections);
    }, spec.seconds * 950);
    if (spec.stuck) {
      setTimeout(() => {
        const clients = bench.server.clients();
        if (!clients.length) return;
        const worst = clients.reduce((a, b) => (b.drops.video + b.drops.detections > a.drops.video + a.drops.detections ? b : a));
        stuckClient = { bufferedAmount: worst.bufferedAmount, drops: { ...worst.drops } };
      }, spec.seconds * 800);
    }
  }, congestionWaitSeconds);
  await window;
  const results = recorder.stop();
  const [lo, hi] = report.seqRange;
  const expected = results.filter((r) => spec.streams.includes(r.streamId) && r.seq >= lo && r.seq <= hi).length;
  const ratios = report.received.map((r) => (expected > 0 ? r.detections / expected : 0));
  const videoRatios = report.received.map((r) => (expected > 0 ? r.videos / expected : 0));
  const deliveredRatio = ratios.reduce((a, b) => a + b, 0) / Math.max(1, ratios.length);
  // The stuck client's drops are expected; the others' tell whether the server held messages back.
  const healthyDrops = spec.stuck ? [...serverDrops].sort((a, b) => a - b).slice(0, -1) : serverDrops;
  const serverDropsPerClient = healthyDrops.reduce((a, b) => a + b, 0) / Math.max(1, healthyDrops.length);
  const messagesPerClient = expected * (spec.video ? 2 : 1);
  const handedOver = messagesPerClient > 0 ? 1 - serverDropsPerClient / messagesPerClient : 1;
  return {
    clients: spec.clients,
    video: spec.video,
    stuck: spec.stuck,
    producedFps: r3(expected / report.seconds),
    deliveredRatio: r3(deliveredRatio),
    minDeliveredRatio: r3(Math.min(...ratios)),
    videoRatio: r3(videoRatios.reduce((a, b) => a + b, 0) / Math.max(1, videoRatios.length)),
    delivery: summarize(report.delivery),
    connectRetries: report.connectRetries,
    ...(report.lastConnectError ? { lastConnectError: report.lastConnectError } : {}),
    serverDropsPerClient: r3(serverDropsPerClient),
    loadGeneratorBound: deliveredRatio < 0.9 && handedOver - deliveredRatio > 0.2,
    serverCpuPercent: r3(cpuPercent),
    mainThreadUtilisation: r3(loopUtilisation),
    ...(spec.stuck ? { stuckClient: { ...(stuckClient ?? { bufferedAmount: 0, drops: { video: 0, detections: 0 } }), congestedAfterSeconds: congestedAfter ?? null } } : {}),
  };
}

export async function fanoutBench(o: FanoutOptions): Promise<FanoutResult> {
  // Room for the previous run's clients while the server notices they left.
  const maxClients = 2 * Math.max(...o.clientCounts, o.stuckClients) + 10;
  // The stuck client must stay connected (not be closed for slowness) for the whole comparison.
  const bench = await startBenchServer({ modelPath: o.modelPath, mediaFolders: [o.mediaFolder], maxClients, stuckClientTimeoutMs: 3_600_000 });
  const recorder = new ResultRecorder(bench.server);
  const runs: FanoutRun[] = [];
  try {
    // No motion gating: a result for every frame the model keeps up with, whatever the clip shows.
    await bench.addStream({ id: 'fan', url: o.clip.path, realtime: true, loop: true, dropPolicy: 'latest', video: true, motion: { enabled: false } });
    await sleep(2000);
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const idle = process.cpuUsage(cpu0);
    const idleCpuPercent = r3(((idle.user + idle.system) / 1000 / (performance.now() - t0)) * 100);
    const idleMainThreadUtilisation = r3(performance.eventLoopUtilization(elu0).utilization);
    const base = { url: bench.server.url, streams: ['fan'], seconds: o.seconds };
    for (const video of [false, true]) {
      for (const clients of o.clientCounts) runs.push(await measure(bench, recorder, { ...base, clients, video, stuck: false }));
    }
    // Back to back, so both windows see the same machine load as far as possible.
    const without = await measure(bench, recorder, { ...base, clients: o.stuckClients, video: true, stuck: false });
    const withStuck = await measure(bench, recorder, { ...base, clients: o.stuckClients, video: true, stuck: true }, o.congestionWaitSeconds);
    runs.push(without, withStuck);
    const change = ratio(withStuck.delivery.p99 - without.delivery.p99, without.delivery.p99);
    return {
      clip: o.clip.name,
      idleCpuPercent,
      idleMainThreadUtilisation,
      runs,
      stuckComparison: {
        clients: o.stuckClients,
        p99Without: without.delivery.p99,
        p99With: withStuck.delivery.p99,
        change,
        withinTenPercent: change <= 0.1,
        stuckAtBound: withStuck.stuckClient?.congestedAfterSeconds != null,
      },
    };
  } finally {
    recorder.close();
    await bench.close();
  }
}
