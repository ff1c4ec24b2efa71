/**
 * A scripted stand-in for `streamlens serve` as the dashboard sees it: the built dashboard files,
 * `GET /api/streams` and a WebSocket speaking docs/protocol.md with whatever the caller scripts
 * (states, stats, frames). For what a real server cannot be made to do on cue (a camera that goes
 * quiet while its state still says streaming, a starved stream) and for replayed page load
 * (bench/dashboardPage.ts). Like the server it sends video only to clients subscribed with video,
 * the smaller JPEG a `maxWidth` asks for, no more frames a second than a `maxFps` asks for (the
 * first due, by capture time, as src/serve/maxFps.ts has it), and, when built with `ackWindow`, keeps at most that many
 * frames of a stream unacknowledged per client (the newest further frame waits and goes out when
 * an acknowledgement opens the window, as on the server). It records what clients send.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { RENDITION_WIDTHS } from '../src/serve/renditionWidths.js';
import sharp from 'sharp';
import { dueUnderMaxFps } from '../src/serve/maxFps.js';
import { wireLatency, type DetectionsMessage, type FrameHeader, type WireObject } from '../src/serve/protocol.js';
import type { StreamState, StreamStats } from '../src/types.js';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

interface Subscription {
  video: boolean;
  maxWidth?: number;
  maxFps?: number;
  /** The capture time (epoch ms) of the newest frame taken, under this subscription or the one before it. */
  lastTakenTs?: number;
  ack: boolean;
  unacked: number[];
  /** The newest frame waiting for the window to open. */
  pending?: CapturedFrame;
}

export interface ReplayClient {
  ws: WebSocket;
  subscriptions: Map<string, Subscription>;
  /** Every text message the client sent, parsed. */
  received: Array<Record<string, unknown>>;
  /** Every subscription change, in order: what the client asked for. */
  maxWidths: Array<{ stream: string; video: boolean; maxWidth: number | undefined; maxFps: number | undefined }>;
  /** Per stream: frames sent with video, frames sent without, frames the window made wait and replaced, frames skipped under `maxFps`. */
  sent: Map<string, SentCounts>;
}

export interface SentCounts {
  video: number;
  detectionsOnly: number;
  held: number;
  skipped: number;
}

export interface ReplayFrame {
  stream: string;
  seq: number;
  width: number;
  height: number;
  objects: WireObject[];
  /** JPEGs of this frame by width (the full one under its own width); none: a frame without video. */
  jpegs?: ReadonlyMap<number, Buffer>;
  /** Capture time (epoch ms), the messages' `ts`; by default when `sendFrame` is called. */
  ts?: number;
}

type CapturedFrame = ReplayFrame & { ts: number };

/** A stream's stats as the server reports them; `o` overrides the healthy defaults. */
export function replayStats(id: string, o: Partial<StreamStats> = {}): StreamStats {
  return {
    id,
    state: 'streaming',
    reconnects: 0,
    framesDecoded: 0,
    framesInferred: 0,
    framesSent: 0,
    fpsIn: 15,
    fpsOut: 15,
    drops: { policy: 0, staleness: 0, client: 0 },
    latency: { p50: 60, p95: 90, p99: 120, max: 150 },
    stages: {},
    ...o,
  };
}

export class ReplayServer {
  readonly clients = new Set<ReplayClient>();
  readonly stats = new Map<string, StreamStats>();
  private readonly http: Server;
  private readonly wss: WebSocketServer;

  private constructor(
    private readonly dashboardDir: string,
    private readonly ackWindow: number | undefined,
  ) {
    this.http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/api/streams') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ streams: [...this.stats.values()].map((s) => ({ ...s, config: { id: s.id, url: `replay://${s.id}`, video: true } })) }));
        return;
      }
      const file = path === '/' ? 'index.html' : path.startsWith('/dashboard/') ? path.slice('/dashboard/'.length) : undefined;
      if (!file || file.includes('/') || file.startsWith('.')) {
        res.writeHead(404).end();
        return;
      }
      try {
        const body = readFileSync(join(this.dashboardDir, file));
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    this.wss = new WebSocketServer({ server: this.http, path: '/ws' });
    this.wss.on('connection', (ws) => this.connected(ws));
  }

  /** Listens on 127.0.0.1 (an ephemeral port unless given), serving the dashboard built into `dashboardDir`. */
  static async start(opts: { dashboardDir: string; ackWindow?: number; port?: number }): Promise<ReplayServer> {
    const s = new ReplayServer(opts.dashboardDir, opts.ackWindow);
    await new Promise<void>((resolve) => s.http.listen(opts.port ?? 0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Adds or replaces a stream's stats (and state), sent to subscribers at the next `sendStats`. */
  setStats(s: StreamStats): void {
    this.stats.set(s.id, s);
  }

  sendState(stream: string, state: StreamState, error?: string): void {
    const s = this.stats.get(stream);
    if (s) this.stats.set(stream, { ...s, state, ...(error ? { lastError: error } : {}) });
    for (const c of this.clients) if (c.subscriptions.has(stream)) c.ws.send(JSON.stringify({ type: 'state', stream, state, ...(error ? { error } : {}) }));
  }

  sendStats(): void {
    for (const c of this.clients) {
      const streams = [...c.subscriptions.keys()].map((id) => this.stats.get(id)).filter((s) => s !== undefined);
      if (streams.length) c.ws.send(JSON.stringify({ type: 'stats', ts: Date.now(), streams, models: [], client: { drops: { video: 0, detections: 0, events: 0 }, skipped: [...c.sent.values()].reduce((n, x) => n + x.skipped, 0), bufferedAmount: c.ws.bufferedAmount } }));
    }
  }

  /** One frame to every subscriber of its stream: detections, then the video its subscription asks for. */
  sendFrame(frame: ReplayFrame): void {
    const f: CapturedFrame = { ...frame, ts: frame.ts ?? Date.now() };
    for (const c of this.clients) {
      const sub = c.subscriptions.get(f.stream);
      if (!sub) continue;
      const counts = this.counts(c, f.stream);
      if (sub.maxFps !== undefined && !dueUnderMaxFps(sub.maxFps, sub.lastTakenTs, f.ts)) {
        counts.skipped++;
        continue;
      }
      sub.lastTakenTs = f.ts;
      if (sub.ack && this.ackWindow !== undefined && sub.unacked.length >= this.ackWindow) {
        // The window is full: the frame waits as the newest, replacing an older waiting one.
        if (sub.pending) counts.held++;
        sub.pending = f;
        continue;
      }
      this.sendTo(c, sub, f);
    }
  }

  private counts(c: ReplayClient, stream: string): SentCounts {
    let counts = c.sent.get(stream);
    if (!counts) c.sent.set(stream, (counts = { video: 0, detectionsOnly: 0, held: 0, skipped: 0 }));
    return counts;
  }

  private sendTo(c: ReplayClient, sub: Subscription, f: CapturedFrame): void {
    const det: DetectionsMessage = {
      type: 'detections',
      stream: f.stream,
      seq: f.seq,
      frame: f.seq,
      pts: f.seq / 15,
      ts: f.ts,
      width: f.width,
      height: f.height,
      objects: f.objects,
      latency: { ...wireLatency({ captureTs: f.ts, stages: {} }), stages_ms: {}, batch: null },
    };
    if (sub.ack) sub.unacked.push(f.seq);
    c.ws.send(JSON.stringify(det));
    const counts = this.counts(c, f.stream);
    const jpeg = sub.video && f.jpegs ? pickJpeg(f.jpegs, f.width, sub.maxWidth) : undefined;
    if (!jpeg) {
      counts.detectionsOnly++;
      return;
    }
    counts.video++;
    const header = Buffer.from(JSON.stringify({ type: 'frame', stream: f.stream, seq: f.seq, frame: f.seq, pts: f.seq / 15, ts: f.ts, width: f.width, height: f.height } satisfies FrameHeader));
    const out = Buffer.allocUnsafe(4 + header.length + jpeg.length);
    out.writeUInt32BE(header.length, 0);
    header.copy(out, 4);
    jpeg.copy(out, 4 + header.length);
    c.ws.send(out);
  }

  /** Closes every client (1001, as a server that shuts down) and stops listening. */
  async close(): Promise<void> {
    for (const c of this.clients) c.ws.close(1001);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private connected(ws: WebSocket): void {
    const client: ReplayClient = { ws, subscriptions: new Map(), received: [], sent: new Map(), maxWidths: [] };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('message', (data, binary) => {
      if (binary) return;
      const msg = JSON.parse(String(data)) as Record<string, unknown>;
      client.received.push(msg);
      if (msg.type === 'subscribe') {
        const streams = (msg.streams as string[]).filter((id) => this.stats.has(id));
        const ack = msg.ack === true && this.ackWindow !== undefined;
        const maxWidth = typeof msg.maxWidth === 'number' ? msg.maxWidth : undefined;
        const maxFps = typeof msg.maxFps === 'number' ? msg.maxFps : undefined;
        for (const id of streams) {
          const prev = client.subscriptions.get(id);
          client.subscriptions.set(id, { video: msg.video === true, ack, unacked: prev?.unacked ?? [], maxWidth, maxFps, lastTakenTs: prev?.lastTakenTs });
          client.maxWidths.push({ stream: id, video: msg.video === true, maxWidth, maxFps });
        }
        ws.send(JSON.stringify({ type: 'subscribed', streams, video: msg.video === true, ...(ack ? { ack: true } : {}), ...(maxFps !== undefined ? { maxFps } : {}) }));
        for (const id of streams) {
          const s = this.stats.get(id)!;
          ws.send(JSON.stringify({ type: 'state', stream: id, state: s.state, ...(s.lastError ? { error: s.lastError } : {}) }));
        }
      } else if (msg.type === 'ack') {
        for (const [id, seq] of Object.entries(msg.seqs as Record<string, number>)) {
          const sub = client.subscriptions.get(id);
          if (!sub) continue;
          sub.unacked = sub.unacked.filter((s) => s > seq);
          const waiting = sub.pending;
          if (waiting && sub.unacked.length < this.ackWindow!) {
            sub.pending = undefined;
            this.sendTo(client, sub, waiting);
          }
        }
      }
    });
    ws.send(JSON.stringify({ type: 'hello', streams: [...this.stats.keys()] }));
  }
}

/** The smallest JPEG at least `maxWidth` wide (the server's rendition ladder), else the full one. */
function pickJpeg(jpegs: ReadonlyMap<number, Buffer>, fullWidth: number, maxWidth: number | undefined): Buffer | undefined {
  if (maxWidth === undefined) return jpegs.get(fullWidth);
  const rung = RENDITION_WIDTHS.find((w) => w >= maxWidth);
  if (rung === undefined || rung >= fullWidth) return jpegs.get(fullWidth);
  return jpegs.get(rung) ?? jpegs.get(fullWidth);
}

/**
 * A camera-like picture (noise over a gradient: JPEG-coded like a real scene, not a flat colour)
 * as JPEGs at its full width and every rendition width below it.
 */
export async function replayJpegs(width: number, height: number, seed: number): Promise<Map<number, Buffer>> {
  const raw = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < raw.length; i += 3) {
    x = (x * 1103515245 + 12345) >>> 0;
    const p = i / 3;
    const g = ((p % width) / width) * 160 + ((Math.floor(p / width) / height) * 60);
    raw[i] = g + (x & 31);
    raw[i + 1] = g + ((x >> 5) & 31);
    raw[i + 2] = 90 + ((x >> 10) & 31);
  }
  const out = new Map<number, Buffer>();
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  out.set(width, await img.clone().jpeg({ quality: 80 }).toBuffer());
  for (const w of RENDITION_WIDTHS.filter((w) => w < width)) out.set(w, await img.clone().resize({ width: w }).jpeg({ quality: 80 }).toBuffer());
  return out;
}
