/**
 * One WebSocket client: its subscriptions and its backpressure. The server never queues without
 * bound for a client; two limits decide what is sent (docs/protocol.md, flow control):
 *
 * - the byte bound: `bufferedAmount` (bytes accepted by ws.send but not yet written to the
 *   kernel) stays under `bufferBytes`. A detections message is sent only if it fits; otherwise it
 *   waits as the stream's single pending frame, replaced (and counted as dropped) by newer frames'
 *   until there is room: the client gets the newest frame, never a reordered one. Video is dropped
 *   first: a frame's JPEG is sent only if its detections went out and the buffer stays under 3/4
 *   of the bound.
 * - the window, for streams subscribed with `ack`: at most `ackWindow` frames sent and not yet
 *   acknowledged. Beyond it the newest frame waits as the pending frame. Such a frame goes out
 *   whole (detections and video together, when its bytes fit) or waits whole, so the client can
 *   always show, and acknowledge, every frame it gets. Kernel socket buffers hold megabytes the
 *   byte bound never sees; the window is what keeps a slow link's latency small.
 *
 * A client may ask for fewer frames of a stream (subscribe `maxFps`): frames captured sooner than
 * 1/maxFps after the last one it took are skipped for it before either limit sees them. It asked
 * for that, so they are counted apart (`skipped`), not as drops.
 *
 * A frame's analytics events follow its detections when they fit, else they are dropped and
 * counted (they are not replaced by newer ones, and not held by the window: each says something once).
 *
 * A client is judged stuck (closed with 4008) when it has not answered a ping for `stuckTimeoutMs`
 * (it stopped reading, or its queue takes that long to reach it), or could not take even
 * detections under the byte bound for that long. Each ping carries its send time and the pong
 * echoes it, so a pong says how old the ping it answers is: a client that reads, but seconds
 * behind (a slow link, with the kernel's buffers full), answers every ping that late and is
 * judged on that lag, not on when its pongs arrive.
 */
import type WebSocket from 'ws';
import { dueUnderMaxFps } from './maxFps.js';
import { CLOSE_TOO_SLOW, type ClientDrops, type ClientView, type SubscriptionOptions } from './protocol.js';

/**
 * Time a closed client gets to read what is queued (and the close frame) before the socket is cut;
 * one that is reading (its backlog shrank over the last grace) gets another, up to CLOSE_GRACE_MAX_MS.
 */
const CLOSE_GRACE_MS = 2000;
const CLOSE_GRACE_MAX_MS = 10_000;
/** Longest time between pings. */
const MAX_PING_INTERVAL_MS = 1000;
/** Messages sent as text frames, whether given as text or as its UTF-8 bytes. */
const TEXT = { binary: false } as const;
/** A tick this late means the event loop was blocked: pongs may be waiting unread, so nobody is judged on it. */
const LATE_TICK_MS = 500;

/** Bytes a message takes in the send buffer: its payload and the frame header (RFC 6455 5.2; a server's frames are not masked). */
function wireBytes(message: Buffer | string): number {
  const n = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
  return n + (n < 126 ? 2 : n < 65536 ? 4 : 10);
}

/**
 * Room kept under the byte bound for one ping (its payload is the send time in ms: 13 digits, room
 * for 20), so that pings, which judge whether the client is stuck, never wait behind frames and the
 * buffer still stays within the bound. A ping is only sent when it fits, so they cannot pile up.
 */
const PING_ROOM = wireBytes('0'.repeat(20));

export interface ClientSessionOptions {
  bufferBytes: number;
  stuckTimeoutMs: number;
  /** Frames of an acknowledging stream sent and not yet acknowledged, at most. */
  ackWindow: number;
  /** Called for every message dropped for this client, with the stream it belonged to. */
  onDrop(stream: string): void;
  /** The connection under `ws`, corked while a frame's messages are written. */
  socket?: { cork(): void; uncork(): void };
}

/** A frame waiting to be sent (the newest of its stream). */
interface PendingFrame {
  seq: number;
  /** The detections message: its UTF-8 bytes (encoded once for every client) or text. */
  detections: Buffer | string;
  /** Kept only for acknowledged streams; for the others video is dropped at once (the byte bound). */
  video?: Buffer;
}

export class ClientSession {
  readonly subscriptions = new Set<string>();
  readonly videoStreams = new Set<string>();
  /** Per stream, the widest video this client shows (subscribe `maxWidth`). */
  readonly maxWidths = new Map<string, number>();
  readonly drops: ClientDrops = { video: 0, detections: 0, events: 0 };
  /** Frames skipped under this client's own `maxFps` (asked for: not drops). */
  skipped = 0;
  /** Per stream subscribed with `maxFps`: that rate. */
  private readonly rates = new Map<string, number>();
  /**
   * Per subscribed stream, the capture time (epoch ms) of the newest frame taken, whatever the
   * subscription was then: a subscription changed to `maxFps` counts from the last frame taken before.
   */
  private readonly lastTaken = new Map<string, number>();
  /** Streams whose frames this client acknowledges: seqs sent and not yet acknowledged, oldest first. */
  private readonly unacked = new Map<string, number[]>();
  private readonly pending = new Map<string, PendingFrame>();
  private congestedSince: number | undefined;
  private closingForSlowness = false;
  /** Send time of the newest ping answered (or when a pong without our payload came). */
  private answeredPingAt: number;
  /** Send times of the pings not answered yet, oldest first (bounded: a client this far behind is closed). */
  private readonly pings: number[] = [];
  private readonly maxPings: number;
  private lastPingAt = -Infinity;
  private lastTickAt: number;
  private readonly pingIntervalMs: number;

  constructor(
    readonly ws: WebSocket,
    private readonly options: ClientSessionOptions,
    now = Date.now(),
  ) {
    this.answeredPingAt = now;
    this.lastTickAt = now;
    this.pingIntervalMs = Math.min(MAX_PING_INTERVAL_MS, options.stuckTimeoutMs / 4);
    this.maxPings = Math.ceil(options.stuckTimeoutMs / this.pingIntervalMs) + 2;
    ws.on('pong', (data: Buffer) => this.onPong(data));
  }

  /** Subscribed with "*": every stream, including those added later, with these options. */
  allStreams: SubscriptionOptions | undefined;

  subscribe(streams: string[], options: SubscriptionOptions): void {
    for (const s of streams) {
      this.subscriptions.add(s);
      if (options.video) this.videoStreams.add(s);
      else this.videoStreams.delete(s);
      if (options.maxWidth !== undefined) this.maxWidths.set(s, options.maxWidth);
      else this.maxWidths.delete(s);
      if (options.maxFps !== undefined) this.rates.set(s, options.maxFps);
      else this.rates.delete(s);
      // A new subscription starts with an empty window (what was sent before counts no more).
      if (options.ack) this.unacked.set(s, []);
      else this.unacked.delete(s);
      // The frame still waiting was taken under the old options: it goes out under the new ones
      // (without its JPEG when video is now off). It stays the last frame taken, so a new `maxFps`
      // counts from it.
      const waiting = this.pending.get(s);
      if (waiting && !options.video) waiting.video = undefined;
    }
  }

  /** Ends the subscriptions among `streams`; returns those that were subscribed. */
  unsubscribe(streams: Iterable<string>): string[] {
    const ended: string[] = [];
    for (const s of streams) {
      if (!this.subscriptions.delete(s)) continue;
      ended.push(s);
      this.videoStreams.delete(s);
      this.maxWidths.delete(s);
      this.rates.delete(s);
      this.lastTaken.delete(s);
      this.unacked.delete(s);
      this.pending.delete(s);
    }
    return ended;
  }

  wantsVideo(stream: string): boolean {
    return this.videoStreams.has(stream);
  }

  /** Whether this client acknowledges the frames of `stream`. */
  acknowledges(stream: string): boolean {
    return this.unacked.has(stream);
  }

  /**
   * Whether the frame of `stream` captured at `ts` (epoch ms) is due under this client's `maxFps`:
   * 1/maxFps or more after the last frame it took of it, under this subscription or the one before
   * (or the clock went back). Asking does not take it.
   */
  due(stream: string, ts: number): boolean {
    const maxFps = this.rates.get(stream);
    return maxFps === undefined || dueUnderMaxFps(maxFps, this.lastTaken.get(stream), ts);
  }

  /** Takes the frame captured at `ts` for delivery if it is due, else counts it as skipped. */
  takeFrame(stream: string, ts: number): boolean {
    if (!this.due(stream, ts)) {
      this.skipped++;
      return false;
    }
    if (this.subscriptions.has(stream)) this.lastTaken.set(stream, ts);
    return true;
  }

  /** Sends a frame's detections (and video, if subscribed) under the window and the byte bound. */
  deliver(stream: string, seq: number, detections: Buffer | string, video: Buffer | undefined, now: number): void {
    if (!this.subscriptions.has(stream) || !this.isOpen()) return;
    this.flush(now);
    const frame: PendingFrame = { seq, detections, video: video && this.videoStreams.has(stream) ? video : undefined };
    const replaced = this.pending.get(stream);
    if (replaced) {
      this.drop(stream, 'detections');
      if (replaced.video) this.drop(stream, 'video');
      this.wait(stream, frame);
    } else if (this.windowFull(stream)) {
      this.wait(stream, frame);
    } else if (this.fitsFrame(stream, frame)) {
      this.send(stream, frame);
    } else {
      this.wait(stream, frame);
      this.congestedSince ??= now;
    }
    this.checkStuck(now);
  }

  /** A frame's video this client wanted could not be had (its rendition was skipped): counted as dropped. */
  dropVideo(stream: string): void {
    if (this.videoStreams.has(stream)) this.drop(stream, 'video');
  }

  /** Sends a frame's analytics events after its detections: when they fit under the bound, else dropped and counted. */
  deliverEvents(stream: string, events: Buffer | string): void {
    if (!this.subscriptions.has(stream) || !this.isOpen()) return;
    if (this.fits(wireBytes(events), 1)) this.ws.send(events, TEXT);
    else this.drop(stream, 'events');
  }

  /** Takes an acknowledgement: every frame of each stream up to its seq; waiting frames that now fit go out. */
  acknowledge(seqs: Map<string, number>, now: number): void {
    for (const [stream, seq] of seqs) {
      const sent = this.unacked.get(stream);
      if (!sent) continue;
      let n = 0;
      while (n < sent.length && sent[n] <= seq) n++;
      sent.splice(0, n);
    }
    this.flush(now);
  }

  /** Sends small control messages (state, stats, errors) only when they fit; they are not counted. */
  sendControl(text: string): boolean {
    if (!this.isOpen() || !this.fits(wireBytes(text), 1)) return false;
    this.ws.send(text);
    return true;
  }

  /** Sends waiting frames that now fit (window and byte bound); called on every delivery, ack and tick. */
  flush(now: number): void {
    let blocked = false;
    for (const [stream, frame] of this.pending) {
      if (this.windowFull(stream)) continue;
      if (!this.fitsFrame(stream, frame)) {
        blocked = true;
        break;
      }
      this.pending.delete(stream);
      this.send(stream, frame);
    }
    if (!blocked) this.congestedSince = undefined;
    else this.checkStuck(now);
  }

  /** Periodic work: waiting frames, pings, and the stuck check. */
  tick(now: number): void {
    const late = now - this.lastTickAt > LATE_TICK_MS;
    this.lastTickAt = now;
    if (!this.isOpen()) return;
    this.flush(now);
    if (now - this.lastPingAt >= this.pingIntervalMs) {
      this.lastPingAt = now;
      const payload = String(now);
      // A ping that does not fit waits for the next tick: the one before it is still unread.
      if (this.ws.bufferedAmount + wireBytes(payload) <= this.options.bufferBytes) {
        this.pings.push(now);
        if (this.pings.length > this.maxPings) this.pings.shift();
        this.ws.ping(payload);
      }
    }
    if (!late && now - this.answeredPingAt >= this.options.stuckTimeoutMs) this.closeTooSlow();
  }

  private onPong(data: Buffer): void {
    const sent = Number(data.toString());
    const i = data.length ? this.pings.indexOf(sent) : -1;
    if (i < 0) {
      // Not one of our pings' payloads (a client that answers without echoing it): as of now.
      this.answeredPingAt = Date.now();
      return;
    }
    this.answeredPingAt = sent;
    this.pings.splice(0, i + 1);
  }

  /** True once the session was closed for being too slow. */
  get closing(): boolean {
    return this.closingForSlowness;
  }

  /** This client's own figures, as its `stats` messages and the server's client list show them. */
  view(): ClientView {
    return { drops: { ...this.drops }, skipped: this.skipped, bufferedAmount: this.bufferedAmount };
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Frames sent and not yet acknowledged, over the acknowledging streams. */
  get unacknowledged(): number {
    let n = 0;
    for (const sent of this.unacked.values()) n += sent.length;
    return n;
  }

  private wait(stream: string, frame: PendingFrame): void {
    if (frame.video && !this.unacked.has(stream)) {
      // Video is dropped first: only acknowledged streams keep it waiting with its detections.
      this.drop(stream, 'video');
      frame.video = undefined;
    }
    this.pending.set(stream, frame);
  }

  private send(stream: string, frame: PendingFrame): void {
    const acked = this.unacked.get(stream);
    acked?.push(frame.seq);
    // An acknowledged frame fitted as a whole; otherwise video goes only under 3/4 of the bound
    // (judged before the detections are written, as if they were queued already).
    const video = frame.video && (acked || this.fits(wireBytes(frame.detections) + wireBytes(frame.video), 0.75)) ? frame.video : undefined;
    if (frame.video && !video) this.drop(stream, 'video');
    // A frame's messages leave in one write (one system call per frame, not per message).
    this.options.socket?.cork();
    try {
      this.ws.send(frame.detections, TEXT);
      if (video) this.ws.send(video);
    } finally {
      this.options.socket?.uncork();
    }
  }

  private windowFull(stream: string): boolean {
    const acked = this.unacked.get(stream);
    return acked !== undefined && acked.length >= this.options.ackWindow;
  }

  /** Whether a frame can go now: its detections (or, acknowledged, the whole frame) under the bound. */
  private fitsFrame(stream: string, frame: PendingFrame): boolean {
    const bytes = wireBytes(frame.detections) + (this.unacked.has(stream) && frame.video ? wireBytes(frame.video) : 0);
    return this.fits(bytes, 1);
  }

  /**
   * `bytes` (as wireBytes counts them) fit under `share` of the bound less the ping's room, or
   * nothing is buffered at all (one message larger than the bound still goes out).
   */
  private fits(bytes: number, share: number): boolean {
    const buffered = this.ws.bufferedAmount;
    return buffered === 0 || buffered + bytes <= (this.options.bufferBytes - PING_ROOM) * share;
  }

  private drop(stream: string, kind: keyof ClientDrops): void {
    this.drops[kind]++;
    this.options.onDrop(stream);
  }

  private isOpen(): boolean {
    return !this.closingForSlowness && this.ws.readyState === this.ws.OPEN;
  }

  private checkStuck(now: number): void {
    if (this.congestedSince === undefined || now - this.congestedSince < this.options.stuckTimeoutMs) return;
    this.closeTooSlow();
  }

  private closeTooSlow(): void {
    this.closingForSlowness = true;
    this.ws.close(CLOSE_TOO_SLOW, 'too slow: client did not read for too long');
    // A client that does not read will not complete the closing handshake either: cut it off. One
    // that reads again is let through its backlog (bounded, nothing new is sent) to learn why.
    const since = Date.now();
    let backlog = this.ws.bufferedAmount;
    const check = (): void => {
      if (this.ws.readyState === this.ws.CLOSED) return;
      const now = this.ws.bufferedAmount;
      if (now < backlog && Date.now() - since + CLOSE_GRACE_MS <= CLOSE_GRACE_MAX_MS) {
        backlog = now;
        setTimeout(check, CLOSE_GRACE_MS).unref();
        return;
      }
      this.ws.terminate();
    };
    setTimeout(check, CLOSE_GRACE_MS).unref();
  }
}
