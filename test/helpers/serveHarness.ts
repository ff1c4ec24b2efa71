/** Test harness for the live server: a real server on 127.0.0.1:0, real ws clients, real HTTP. */
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { StreamHub } from '../../src/pipeline/streamHub.js';
import { decodeVideoFrame } from '../../src/serve/protocol.js';
import { jpegSize } from '../../src/ingest/jpegStream.js';
import { ensureModel } from '../../src/tools/modelgen/index.js';
import { ensureDemoClip } from '../../src/tools/synth/index.js';
import { until as waitUntil } from './until.js';

export type Json = Record<string, any>;

export async function startTestServer(config: Json, baseDir: string): Promise<RunningServer> {
  const parsed = parseConfig({ ...config, server: { ...(config.server ?? {}), host: '127.0.0.1', port: 0 } }, baseDir);
  const log = createLogger({ test: true }, (process.env.STREAMLENS_LOG_LEVEL as 'info') ?? 'error');
  return startServer({ config: parsed, hub: StreamHub.forConfig(parsed, log), version: 'test', log });
}

export async function api(server: RunningServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; bytes: Buffer; headers: Headers }> {
  const request = (): Promise<Response> =>
    fetch(server.url + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  let res: Response;
  try {
    res = await request();
  } catch (err) {
    // A kept-alive connection the server closed (its keep-alive timeout ran out while the event
    // loop was busy) as the request went out: an idempotent request is sent again (RFC 9112 9.3.1).
    const reset = (err as { cause?: { code?: string } }).cause?.code === 'ECONNRESET';
    if (!(reset && (method === 'GET' || method === 'HEAD'))) throw err;
    res = await request();
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: Json = {};
  if ((res.headers.get('content-type') ?? '').includes('json') && bytes.length) json = JSON.parse(bytes.toString('utf8'));
  return { status: res.status, json, bytes, headers: res.headers };
}

export interface VideoMessage {
  header: { stream: string; seq: number; frame: number; width: number; height: number };
  bytes: number;
  /** Width and height of the JPEG itself (from its frame header). */
  jpegWidth: number | undefined;
  jpegHeight: number | undefined;
}

/** A WebSocket client that records everything it receives. */
export class TestClient {
  readonly detections: Json[] = [];
  readonly states: Json[] = [];
  readonly stats: Json[] = [];
  readonly errors: Json[] = [];
  readonly control: Json[] = [];
  readonly videos: VideoMessage[] = [];
  closeCode: number | undefined;
  closeReason = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const { header, jpeg } = decodeVideoFrame(data as Buffer);
        const size = jpegSize(jpeg);
        this.videos.push({ header, bytes: jpeg.length, jpegWidth: size?.width, jpegHeight: size?.height });
        return;
      }
      const msg = JSON.parse(data.toString()) as Json;
      if (msg.type === 'detections') this.detections.push(msg);
      else if (msg.type === 'state') this.states.push(msg);
      else if (msg.type === 'stats') this.stats.push(msg);
      else if (msg.type === 'error') this.errors.push(msg);
      else this.control.push(msg);
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  static async connect(server: RunningServer, query = ''): Promise<TestClient> {
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/ws' + query);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.waitFor(() => client.control.some((m) => m.type === 'hello'), 5000, 'hello');
    return client;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  async subscribe(streams: string[], video = false): Promise<void> {
    const before = this.control.filter((m) => m.type === 'subscribed').length;
    this.send({ type: 'subscribe', streams, video });
    await this.waitFor(() => this.control.filter((m) => m.type === 'subscribed').length > before, 5000, 'subscribed');
  }

  /** Waits for `pred`, polling every 25 ms (a hang deadline, at least 30 s: helpers/until.ts). */
  waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitUntil(pred, timeoutMs, what, 25);
  }

  close(): void {
    this.ws.terminate();
  }
}

export interface DemoWithWatcher {
  server: RunningServer;
  /** A normal client of the stream, subscribed with video. */
  watcher: TestClient;
  /** Resolves when the watcher got a few more frames and was not closed; throws if not. */
  watcherAlive(): Promise<void>;
}

/**
 * A server that loops the demo clip in real time as stream "demo" (with video) through the
 * built-in detector, under `opts.server` settings and extra `opts.stream` fields, and a watcher
 * that has had its first frames: for tests that abuse or starve other clients and check that the
 * watcher is still served.
 */
export async function startDemoWithWatcher(opts: { server: Json; stream?: Json }): Promise<DemoWithWatcher> {
  const [clip, model] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  const server = await startTestServer(
    {
      models: { [model]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dirname(clip.video)], ...opts.server },
      streams: [{ id: 'demo', url: clip.video, model, loop: true, realtime: true, video: true, ...opts.stream }],
    },
    process.cwd(),
  );
  const watcher = await TestClient.connect(server);
  await watcher.subscribe(['demo'], true);
  await watcher.waitFor(() => watcher.videos.length > 10, 60_000, 'watcher video');
  return {
    server,
    watcher,
    async watcherAlive() {
      const n = watcher.detections.length;
      await watcher.waitFor(() => watcher.closeCode !== undefined || watcher.detections.length > n + 3, 30_000, 'watcher keeps receiving');
      if (watcher.closeCode !== undefined) throw new Error(`the watcher was closed (${watcher.closeCode} ${watcher.closeReason})`);
    },
  };
}

/**
 * The longest event-loop stall of this process from now until stop() (ms). A server started by
 * startTestServer runs in this process: that is how late its own timers (pings, stuck checks)
 * could fire, the loaded machine's share of a time bound, measured in the same window.
 */
export function eventLoopStalls(): { stop(): number } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  return {
    stop() {
      delay.disable();
      return delay.max / 1e6;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits for `pred`, polling every 50 ms (a hang deadline, at least 30 s: helpers/until.ts). */
export function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  return waitUntil(pred, timeoutMs, what, 50);
}

/** ffmpeg processes that are children of this test process (pgrep, independent of our bookkeeping). */
export function ffmpegChildPids(): number[] {
  try {
    const out = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' });
    return out
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        try {
          return /ffmpeg|ffprobe/.test(execFileSync('ps', ['-o', 'comm=', '-p', String(pid)], { encoding: 'utf8' }));
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

export { percentile } from '../../src/percentile.js';
