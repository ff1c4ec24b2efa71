/**
 * What the Redis relay adds: two `streamlens serve --cluster` nodes on a local redis-server, one
 * stream, a WebSocket client on the node that runs it (local) and one on the other node (remote,
 * relayed through Redis pub/sub), both in the same run. Latency = the client's receive time minus
 * the frame's capture time (one machine, one clock). Also the relay's bandwidth per stream: the
 * bytes of the results and video channels, read by a plain subscriber.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { freePort } from './freePort.js';
import type { Clip } from './inputs.js';
import { r3, sleep, summarize, type Summary } from './stats.js';

export interface RelayRun {
  video: boolean;
  local: Summary;
  remote: Summary;
  /** remote p50 - local p50, remote p99 - local p99 (ms). */
  addedP50: number;
  addedP99: number;
  /** Relay bytes per second for this stream: results channel, and video channel (with video). */
  resultsBytesPerSecond: number;
  videoBytesPerSecond: number;
  framesPerSecond: number;
}

export interface ClusterBenchResult {
  available: boolean;
  reason?: string;
  stream: { clip: string; fps: number; jpegMaxWidth: number };
  runs: RelayRun[];
}

export interface ClusterBenchOptions {
  clip: Clip;
  modelPath: string;
  seconds: number;
  fps: number;
}

const REDIS = process.env.REDIS_SERVER_PATH || '/usr/bin/redis-server';
/** The built CLI (bench runs from dist/bench; under vitest from bench/ beside dist/). */
const cli = (): string => {
  const url = new URL('../src/cli/main.js', import.meta.url);
  if (import.meta.url.endsWith('.ts')) url.pathname = url.pathname.replace(/\/src\/cli\/main\.js$/, '/dist/src/cli/main.js');
  return fileURLToPath(url);
};

function startNode(config: string, redisUrl: string, id: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli(), 'serve', '--config', config, '--port', '0', '--cluster', redisUrl, '--node-id', id], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STREAMLENS_LOG_LEVEL: 'error' } });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${id} did not start: ${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}: ${err}`)));
  });
}

/** Capture-to-receive latencies (ms) of one stream's detections at a client. */
async function subscriber(url: string, stream: string, video: boolean): Promise<{ latencies: number[]; ws: WebSocket }> {
  const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const latencies: number[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(data.toString()) as { type: string; ts: number };
    if (m.type === 'detections') latencies.push(performance.timeOrigin + performance.now() - m.ts);
  });
  ws.send(JSON.stringify({ type: 'subscribe', streams: [stream], video }));
  return { latencies, ws };
}

export async function clusterBench(o: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const stream = { clip: o.clip.name, fps: o.fps, jpegMaxWidth: 640 };
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-cluster-'));
  const port = await freePort();
  const redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = await new Promise<string | undefined>((resolve) => {
    redis.once('error', (err) => resolve(`${REDIS}: ${err.message}`));
    setTimeout(() => resolve(undefined), 300);
  });
  if (failed) return { available: false, reason: `redis-server is needed (apt-get install redis-server): ${failed}`, stream, runs: [] };
  const redisUrl = `redis://127.0.0.1:${port}`;
  const nodes: ChildProcess[] = [];
  try {
    const config = join(dir, 'node.json');
    writeFileSync(config, JSON.stringify({ server: { mediaFolders: [dirname(o.clip.path)] }, models: { [o.modelPath]: { maxBatch: 1 } } }));
    const a = await startNode(config, redisUrl, 'bench-a');
    const b = await startNode(config, redisUrl, 'bench-b');
    nodes.push(a.child, b.child);
    const res = await fetch(`${a.url}/api/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // No motion gating: every frame's result takes the same path, so the relay is all that differs.
      body: JSON.stringify({ id: 'relay', url: o.clip.path, model: o.modelPath, loop: true, realtime: true, fps: o.fps, jpegMaxWidth: stream.jpegMaxWidth, motion: { enabled: false } }),
    });
    if (res.status !== 201) throw new Error(`POST /api/streams: ${res.status} ${await res.text()}`);
    // Which node runs it decides which client is local.
    let owner: string | undefined;
    for (let i = 0; i < 300 && !owner; i++) {
      const s = (await (await fetch(`${a.url}/api/streams/relay`)).json()) as { node?: string; state: string };
      if (s.state === 'streaming') owner = s.node;
      else await sleep(100);
    }
    if (!owner) throw new Error('the stream did not start');
    const [local, remote] = owner === 'bench-a' ? [a, b] : [b, a];

    const runs: RelayRun[] = [];
    for (const video of [false, true]) {
      const bytes = { results: 0, video: 0 };
      const sub = new Redis(redisUrl);
      await sub.subscribe('streamlens:cluster:results:relay', ...(video ? ['streamlens:cluster:video:relay'] : []));
      sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        if (channel.toString().includes(':video:')) bytes.video += message.length;
        else bytes.results += message.length;
      });
      const l = await subscriber(local.url, 'relay', video);
      const r = await subscriber(remote.url, 'relay', video);
      // The owner learns of new listeners within a heartbeat: measure after that.
      await sleep(2000);
      l.latencies.length = 0;
      r.latencies.length = 0;
      bytes.results = 0;
      bytes.video = 0;
      const t0 = performance.now();
      await sleep(o.seconds * 1000);
      const seconds = (performance.now() - t0) / 1000;
      const ls = summarize(l.latencies);
      const rs = summarize(r.latencies);
      runs.push({
        video,
        local: ls,
        remote: rs,
        addedP50: r3(rs.p50 - ls.p50),
        addedP99: r3(rs.p99 - ls.p99),
        resultsBytesPerSecond: Math.round(bytes.results / seconds),
        videoBytesPerSecond: Math.round(bytes.video / seconds),
        framesPerSecond: r3(l.latencies.length / seconds),
      });
      l.ws.close();
      r.ws.close();
      sub.disconnect();
    }
    return { available: true, stream, runs };
  } finally {
    for (const n of nodes) n.kill('SIGTERM');
    await Promise.all(nodes.map((n) => (n.exitCode === null ? new Promise((r) => n.once('exit', r)) : undefined)));
    redis.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
