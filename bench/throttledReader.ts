/**
 * A WebSocket client on a slow link. The link is a TCP relay on 127.0.0.1 that passes the server's
 * bytes on at `bytesPerSecond` (in 10 ms slices) and reads from the server only as fast as it
 * passes them on, so what the client has not received yet waits in the server's socket buffers,
 * as it would behind a thin WAN link. The client subscribes to one stream with video, optionally
 * acknowledging each frame once it has it whole (docs/protocol.md, flow control), and records the
 * latency of every frame it gets: receive time minus the frame's capture time. All links of a
 * process share one pacing timer (a timer per link would wake the process 100 times a second each).
 *
 * As a script, readers in a process of their own (so that their relays and parsing do not share
 * the measured server's event loop), driven by lines on stdin: `open` connects COUNT readers
 * (reader i reads stream i mod the list, every other one acknowledging; one the server cuts off
 * connects again) and answers `ready`; `stats` answers `{"frames":N,"cutoffs":N,"bytes":N,"cpuMs":N}`
 * (the frames, cut-offs and bytes of the readers since `open`, and this process's CPU time since
 * it started); `close` closes the readers and answers the same. The process exits when stdin ends.
 *
 *   node dist/bench/throttledReader.js URL STREAM[,STREAM...] COUNT BYTES_PER_SECOND
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { nowMs } from '../src/clock.js';

export interface ThrottledReaderOptions {
  /** http://host:port of the server. */
  url: string;
  stream: string;
  bytesPerSecond: number;
  /** Acknowledge frames (subscribe with "ack": true). */
  ack: boolean;
  video?: boolean;
}

const SLICE_MS = 10;
/** The relay holds at most this much of the server's data (a link's own buffer is small). */
const RELAY_BUFFER = 16 * 1024;

/** The one timer that paces every link of this process. */
const pacer = {
  links: new Set<ThrottledLink>(),
  timer: undefined as NodeJS.Timeout | undefined,
  add(link: ThrottledLink): void {
    this.links.add(link);
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const l of this.links) l.pass(now);
    }, SLICE_MS);
    this.timer.unref();
  },
  remove(link: ThrottledLink): void {
    this.links.delete(link);
    if (this.links.size || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  },
};

/** One relayed connection: server -> client bytes paced, client -> server bytes as they come. */
class ThrottledLink {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private lastPass = performance.now();
  /** Bytes the link may pass beyond whole ones already passed. */
  private credit = 0;
  /** Bytes passed to the client. */
  passed = 0;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly bytesPerSecond: number,
  ) {
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      if (this.queued >= RELAY_BUFFER) upstream.pause();
    });
    const end = (): void => {
      pacer.remove(this);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
    pacer.add(this);
  }

  pass(now: number): void {
    // The budget follows the clock, not the timer's count: a busy event loop fires the timer late,
    // and a per-slice budget would then make the link far slower than asked (a real link keeps
    // passing bytes while the reader's process is busy). Capped at a second after a long pause.
    const elapsed = Math.min(now - this.lastPass, 1000);
    this.lastPass = now;
    this.credit += (this.bytesPerSecond * elapsed) / 1000;
    let budget = Math.floor(this.credit);
    this.credit -= budget;
    while (budget > 0 && this.queue.length) {
      const head = this.queue[0];
      const n = Math.min(budget, head.length);
      this.client.write(head.subarray(0, n));
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      this.queued -= n;
      this.passed += n;
      budget -= n;
    }
    if (this.queued < RELAY_BUFFER / 2) this.upstream.resume();
  }
}

/** A relay in front of `target` (host:port) whose connections are throttled links. */
function startRelay(target: URL, bytesPerSecond: number, links: ThrottledLink[]): Promise<Server> {
  const relay = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    links.push(new ThrottledLink(client, upstream, bytesPerSecond));
  });
  return new Promise((resolve) => relay.listen(0, '127.0.0.1', () => resolve(relay)));
}

export class ThrottledReader {
  /** Capture-to-receive latency of each frame received whole (detections, and video when subscribed), ms. */
  readonly latencies: number[] = [];
  /** Received frames' seqs, in order. */
  readonly seqs: number[] = [];
  closeCode: number | undefined;
  private readonly waiting = new Map<number, number>();

  private constructor(
    readonly ws: WebSocket,
    private readonly relay: Server,
    private readonly links: ThrottledLink[],
    private readonly options: ThrottledReaderOptions,
  ) {
    ws.on('close', (code) => {
      this.closeCode = code;
      relay.close();
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
  }

  /** Connects through a new throttled link and subscribes; resolves once the server confirmed the subscription. */
  static async connect(options: ThrottledReaderOptions): Promise<ThrottledReader> {
    const links: ThrottledLink[] = [];
    const relay = await startRelay(new URL(options.url), options.bytesPerSecond, links);
    const port = (relay.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const reader = new ThrottledReader(ws, relay, links, options);
    const subscribed = new Promise<void>((resolve) => {
      const onText = (data: WebSocket.RawData, isBinary: boolean): void => {
        if (!isBinary && (JSON.parse(data.toString()) as { type: string }).type === 'subscribed') {
          ws.off('message', onText);
          resolve();
        }
      };
      ws.on('message', onText);
    });
    ws.send(JSON.stringify({ type: 'subscribe', streams: [options.stream], video: options.video ?? true, ack: options.ack }));
    await subscribed;
    return reader;
  }

  /** Bytes the link passed to this client so far. */
  get bytes(): number {
    return this.links.reduce((n, l) => n + l.passed, 0);
  }

  close(): void {
    this.ws.terminate();
    this.relay.close();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const now = nowMs();
    if (isBinary) {
      const n = data.readUInt32BE(0);
      const header = JSON.parse(data.subarray(4, 4 + n).toString('utf8')) as { seq: number; ts: number };
      if (this.waiting.delete(header.seq)) this.received(header.seq, header.ts, now);
      return;
    }
    const m = JSON.parse(data.toString()) as { type: string; seq?: number; ts?: number };
    if (m.type !== 'detections' || m.seq === undefined || m.ts === undefined) return;
    if (this.options.video ?? true) {
      // The frame is whole once its video arrives; a frame whose video was dropped never is.
      this.waiting.set(m.seq, m.ts);
      for (const seq of this.waiting.keys()) if (seq < m.seq - 8) this.waiting.delete(seq);
    } else {
      this.received(m.seq, m.ts, now);
    }
  }

  private received(seq: number, ts: number, now: number): void {
    this.latencies.push(now - ts);
    this.seqs.push(seq);
    if (this.options.ack && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'ack', seqs: { [this.options.stream]: seq } }));
  }
}

async function main(): Promise<void> {
  const [url, streams, count, bytesPerSecond] = process.argv.slice(2);
  const ids = streams.split(',');
  /** The readers of the phase in progress, and those of it that were cut off before. */
  let readers: ThrottledReader[] = [];
  let gone: ThrottledReader[] = [];
  let opened = false;
  // A reader the server cuts off connects again (as a page would) while the phase lasts.
  const connect = async (i: number): Promise<void> => {
    const r = await ThrottledReader.connect({ url, stream: ids[i % ids.length], bytesPerSecond: Number(bytesPerSecond), ack: i % 2 === 0 });
    readers[i] = r;
    r.ws.once('close', () => {
      if (!opened || readers[i] !== r) return;
      gone.push(r);
      connect(i).catch(() => undefined);
    });
  };
  const open = async (): Promise<void> => {
    opened = true;
    await Promise.all(Array.from({ length: Number(count) }, (_, i) => connect(i)));
    process.stdout.write('ready\n');
  };
  const stats = (): string => {
    const cpu = process.cpuUsage();
    const all = [...gone, ...readers];
    return JSON.stringify({
      frames: all.reduce((n, r) => n + r.latencies.length, 0),
      cutoffs: gone.length,
      bytes: all.reduce((n, r) => n + r.bytes, 0),
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  };
  const close = (): void => {
    opened = false;
    const done = stats();
    for (const r of readers) r.close();
    readers = [];
    gone = [];
    process.stdout.write(done + '\n');
  };
  // Commands run one after the other, in the order they came.
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    queue = queue.then(() => (line === 'open' ? open() : line === 'close' ? close() : line === 'stats' ? void process.stdout.write(stats() + '\n') : undefined));
  });
  process.stdin.once('end', () => void queue.then(() => process.exit(0)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`throttledReader: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
