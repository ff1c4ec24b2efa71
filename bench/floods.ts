/**
 * /healthz under floods (issue 20 item 5): the real live server in this process with demo streams
 * (real time, looped, with video) and a watching WebSocket client; `/healthz` is asked every
 * 20 ms, one request at a time, through phases of the same run:
 *
 * - quiet: nothing else;
 * - snapshots: autocannon (in a process of its own) with 20 connections on a stream's
 *   `snapshot.jpg`;
 * - control: WebSocket clients each sending 10,000 subscribe/unsubscribe messages as fast as they
 *   can, again and again.
 *
 * Reported per phase: /healthz p50/p99/max, the watcher's p95 latency (capture to receipt of
 * detections), and the flood's own rate. The bound is /healthz p99 under 50 ms during each flood;
 * on a machine whose quiet phase is already slower than that (other load), under 1.5x the quiet
 * phase's p99 of the same run.
 *
 *   node dist/bench/floods.js [--seconds N] [--streams N] [--json file]
 *
 * Exits 1 when the bound is exceeded.
 */
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { nowMs } from '../src/clock.js';
import { percentile } from '../src/percentile.js';

export interface FloodOptions {
  /** Length of each phase. Default 15 s. */
  phaseMs?: number;
  streams?: number;
  /** Snapshot flood connections. Default 20. */
  connections?: number;
  /** Control flood: clients, each sending this many messages per burst. Defaults 5 and 10,000. */
  controlClients?: number;
  controlMessages?: number;
  maxHealthzP99Ms?: number;
}

export interface FloodPhase {
  name: 'quiet' | 'snapshots' | 'control';
  healthz: { requests: number; p50: number; p99: number; max: number };
  watcherP95: number;
  /** The server process's event-loop delay (perf_hooks), ms: what the floods block, apart from CPU taken by other processes. */
  loopDelay: { p99: number; max: number };
  /** snapshots: requests/s and p50 ms of the flood; control: messages sent. */
  flood?: { requestsPerSecond?: number; p50?: number; messages?: number };
}

export interface FloodReport {
  streams: number;
  phases: FloodPhase[];
  failures: string[];
}

/** autocannon's command line script. */
function autocannonCli(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('autocannon/autocannon.js');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** /healthz one request at a time every `everyMs` until `stop()`: the latencies, ms. */
function probeHealthz(url: string, everyMs: number): { stop(): Promise<number[]> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await new Promise<void>((resolve) => {
        const req = request(url + '/healthz', { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', () => resolve());
        req.end();
      });
      latencies.push(performance.now() - t);
      await sleep(Math.max(0, everyMs - (performance.now() - t)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return latencies;
    },
  };
}

async function wsClient(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws');
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/**
 * The control flood's clients, in a process of their own (a loop that builds and sends messages
 * would otherwise stall this process's event loop itself): each sends `messages`
 * subscribe/unsubscribe messages as fast as it can, waits for them to leave, and again, until
 * SIGTERM; prints how many it sent.
 */
const CONTROL_FLOOD = `
const WebSocket = require('ws');
const [url, clients, messages, ids] = [process.argv[1], +process.argv[2], +process.argv[3], process.argv[4].split(',')];
let sent = 0, running = true;
process.on('SIGTERM', () => (running = false));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const sockets = await Promise.all(Array.from({ length: clients }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', () => undefined);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  })));
  while (running) {
    for (const ws of sockets) {
      for (let i = 0; i < messages && ws.readyState === WebSocket.OPEN; i++) {
        ws.send(JSON.stringify({ type: i % 2 ? 'unsubscribe' : 'subscribe', streams: [ids[i % ids.length]] }));
        sent++;
      }
      await sleep(0);
    }
    while (running && sockets.some((ws) => ws.bufferedAmount > 0)) await sleep(5);
    await sleep(10);
  }
  for (const ws of sockets) ws.terminate();
  process.stdout.write(String(sent));
})();
`;

/** A child process's standard output once it exits (killed with `signal` when asked to stop, or after `limitMs`). */
function child(args: string[], limitMs: number): { stop(signal?: NodeJS.Signals): Promise<string> } {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], cwd: process.cwd() });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), limitMs);
  return {
    stop: async (signal) => {
      if (signal) proc.kill(signal);
      await exited;
      clearTimeout(timer);
      return out;
    },
  };
}

export async function runFloods(o: FloodOptions = {}): Promise<FloodReport> {
  const phaseMs = o.phaseMs ?? 15_000;
  const nStreams = o.streams ?? 2;
  const [clip, model] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  const ids = Array.from({ length: nStreams }, (_, i) => `flood${i}`);
  const config = parseConfig(
    {
      server: { host: '127.0.0.1', port: 0, mediaFolders: [dirname(clip.video)] },
      models: { [model]: { providers: ['cpu'], intraOpThreads: 1 } },
      streams: ids.map((id) => ({ id, url: clip.video, loop: true, realtime: true, video: true })),
    },
    process.cwd(),
  );
  const log = createLogger({ bench: 'floods' }, 'error');
  const server = await startServer({ config, hub: StreamHub.forConfig(config, log), version: 'floods', log });
  const watcher = await wsClient(server.url);
  let watcherLatencies: number[] = [];
  watcher.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(data.toString()) as { type: string; ts?: number };
    if (m.type === 'detections' && m.ts !== undefined) watcherLatencies.push(nowMs() - m.ts);
  });
  watcher.send(JSON.stringify({ type: 'subscribe', streams: ids, video: true }));
  const phases: FloodPhase[] = [];
  try {
    // Every stream has a snapshot to serve before the floods begin.
    const until = Date.now() + 60_000;
    while (!ids.every((id) => server.snapshots.get(id)) && Date.now() < until) await sleep(100);
    await sleep(2000);

    const phase = async (name: FloodPhase['name'], flood: () => { stop(): Promise<FloodPhase['flood']> }): Promise<void> => {
      process.stderr.write(`  ${name}...\n`);
      watcherLatencies = [];
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const probe = probeHealthz(server.url, 20);
      const running = flood();
      await sleep(phaseMs);
      const floodResult = await running.stop();
      const h = await probe.stop();
      delay.disable();
      phases.push({
        name,
        healthz: { requests: h.length, p50: percentile(h, 0.5), p99: percentile(h, 0.99), max: Math.max(...h) },
        watcherP95: percentile(watcherLatencies, 0.95),
        loopDelay: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
        ...(floodResult ? { flood: floodResult } : {}),
      });
    };

    await phase('quiet', () => ({ stop: async () => undefined }));
    await phase('snapshots', () => {
      // autocannon's own process: the load generator does not share the server's event loop.
      const seconds = Math.ceil(phaseMs / 1000);
      const run = child([autocannonCli(), '--json', '-c', String(o.connections ?? 20), '-d', String(seconds), `${server.url}/api/streams/${ids[0]}/snapshot.jpg`], phaseMs + 30_000);
      return {
        stop: async () => {
          const r = JSON.parse((await run.stop()) || '{}') as { requests?: { average: number }; latency?: { p50: number } };
          return { requestsPerSecond: r.requests?.average ?? NaN, p50: r.latency?.p50 ?? NaN };
        },
      };
    });
    await phase('control', () => {
      const wsUrl = server.url.replace(/^http/, 'ws') + '/ws';
      const run = child(['-e', CONTROL_FLOOD, wsUrl, String(o.controlClients ?? 5), String(o.controlMessages ?? 10_000), ids.join(',')], phaseMs + 30_000);
      return { stop: async () => ({ messages: Number(await run.stop('SIGTERM')) }) };
    });
  } finally {
    watcher.terminate();
    await server.close();
  }
  // A loaded machine stalls the event loop without any flood: a flood fails when /healthz p99 is
  // over the bound and also well over the quiet phase's of the same run (the machine's own share).
  const bound = o.maxHealthzP99Ms ?? 50;
  const quiet = phases.find((p) => p.name === 'quiet')?.healthz.p99 ?? 0;
  const failures = phases
    .filter((p) => p.name !== 'quiet' && !(p.healthz.p99 < Math.max(bound, 1.5 * quiet)))
    .map((p) => `${p.name}: /healthz p99 ${p.healthz.p99.toFixed(1)} ms (bound ${bound} ms, or 1.5x the quiet phase's ${quiet.toFixed(1)} ms)`);
  return { streams: nStreams, phases, failures };
}

function summary(r: FloodReport): string {
  const lines = r.phases.map((p) => {
    const flood = p.flood?.requestsPerSecond !== undefined ? `, flood ${p.flood.requestsPerSecond.toFixed(0)} req/s p50 ${p.flood.p50} ms` : p.flood?.messages !== undefined ? `, flood ${p.flood.messages} messages` : '';
    return `  ${p.name.padEnd(9)} /healthz p50 ${p.healthz.p50.toFixed(1)} ms, p99 ${p.healthz.p99.toFixed(1)} ms, max ${p.healthz.max.toFixed(1)} ms (${p.healthz.requests} requests); event-loop delay p99 ${p.loopDelay.p99.toFixed(1)} ms, max ${p.loopDelay.max.toFixed(1)} ms; watcher p95 ${p.watcherP95.toFixed(0)} ms${flood}`;
  });
  return [`floods: ${r.streams} streams`, ...lines, r.failures.length ? `  FAIL: ${r.failures.join('; ')}` : '  OK: /healthz p99 within the bound in every phase'].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, streams: { type: 'string' }, json: { type: 'string' } } });
  const report = await runFloods({
    phaseMs: values.seconds ? Number(values.seconds) * 1000 : undefined,
    streams: values.streams ? Number(values.streams) : undefined,
  });
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.stdout.write(summary(report) + '\n');
  process.exitCode = report.failures.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`floods: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
