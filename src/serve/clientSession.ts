/**
 * One WebSocket client: its subscriptions and its backpressure. The server never queues without
 * bound for a client; `bufferedAmount` (bytes accepted by ws.send but not yet written to the
 * kernel) is kept under `bufferBytes`:
 *
 * - a detections message is sent only if it fits under the bound; otherwise it waits as the
 *   stream's single pending message, replaced (and counted as dropped) by newer frames' until
 *   there is room: the client gets the newest frame, never a reordered one;
 * - video is dropped first: a frame's JPEG is sent only if its detections went out and the buffer
 *   stays under 3/4 of the bound;
 * - a client that cannot take even detections for `stuckTimeoutMs` is closed with 4008;
 * - a frame's analytics events follow its detections when they fit, else they are dropped and counted.
 */
import type WebSocket from 'ws';
import { CLOSE_TOO_SLOW, type ClientDrops, type SubscriptionOptions } from './protocol.js';

/** Time a closed client gets to read what is queued (and the close frame) before the socket is cut. */
const CLOSE_GRACE_MS = 2000;

export interface ClientSessionOptions {
  bufferBytes: number;
  stuckTimeoutMs: number;
  /** Called for every message dropped for this client, with the stream it belonged to. */
  onDrop(stream: string): void;
}

export class ClientSession {
  readonly subscriptions = new Set<string>();
  readonly videoStreams = new Set<string>();
  /** Per stream, the widest video this client shows (subscribe `maxWidth`). */
  readonly maxWidths = new Map<string, number>();
  readonly drops: ClientDrops = { video: 0, detections: 0, events: 0 };
  private readonly pending = new Map<string, string>();
  private congestedSince: number | undefined;
  private closingForSlowness = false;

  constructor(
    readonly ws: WebSocket,
    private readonly options: ClientSessionOptions,
  ) {}

  /** Subscribed with "*": every stream, including those added later, with these options. */
  allStreams: SubscriptionOptions | undefined;

  subscribe(streams: string[], options: SubscriptionOptions): void {
    for (const s of streams) {
      this.subscriptions.add(s);
      if (options.video) this.videoStreams.add(s);
      else this.videoStreams.delete(s);
      if (options.maxWidth !== undefined) this.maxWidths.set(s, options.maxWidth);
      else this.maxWidths.delete(s);
    }
  }

  unsubscribe(streams: string[]): void {
    for (const s of streams) {
      this.subscriptions.delete(s);
      this.videoStreams.delete(s);
      this.maxWidths.delete(s);
      this.pending.delete(s);
    }
  }

  wantsVideo(stream: string): boolean {
    return this.videoStreams.has(stream);
  }

  /** Sends a frame's detections (and video, if subscribed) under the backpressure rules. */
  deliver(stream: string, detections: string, video: Buffer | undefined, now: number): void {
    if (!this.subscriptions.has(stream) || !this.isOpen()) return;
    this.flush(now);
    if (this.pending.has(stream)) {
      this.pending.set(stream, detections);
      this.drop(stream, 'detections');
    } else if (this.fits(detections.length, 1)) {
      this.ws.send(detections);
    } else {
      this.pending.set(stream, detections);
      this.congestedSince ??= now;
    }
    if (video && this.videoStreams.has(stream)) {
      if (!this.pending.has(stream) && this.fits(video.length, 0.75)) this.ws.send(video);
      else this.drop(stream, 'video');
    }
    this.checkStuck(now);
  }

  /** A frame's video this client wanted could not be had (its rendition was skipped): counted as dropped. */
  dropVideo(stream: string): void {
    if (this.videoStreams.has(stream)) this.drop(stream, 'video');
  }

  /**
   * Sends a frame's analytics events after its detections. Events are not replaced by newer ones
   * (each says something once): sent when they fit under the bound, else dropped and counted.
   */
  deliverEvents(stream: string, events: string): void {
    if (!this.subscriptions.has(stream) || !this.isOpen()) return;
    if (this.fits(events.length, 1)) this.ws.send(events);
    else this.drop(stream, 'events');
  }

  /** Sends small control messages (state, stats, errors) only when they fit; they are not counted. */
  sendControl(text: string): boolean {
    if (!this.isOpen() || !this.fits(text.length, 1)) return false;
    this.ws.send(text);
    return true;
  }

  /** Sends waiting detections that now fit; called on every delivery and periodically. */
  flush(now: number): void {
    for (const [stream, message] of this.pending) {
      if (!this.fits(message.length, 1)) break;
      this.ws.send(message);
      this.pending.delete(stream);
    }
    if (this.pending.size === 0) this.congestedSince = undefined;
    else this.checkStuck(now);
  }

  /** True once the session was closed for being too slow. */
  get closing(): boolean {
    return this.closingForSlowness;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  private fits(bytes: number, share: number): boolean {
    return this.ws.bufferedAmount + bytes <= this.options.bufferBytes * share;
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
    this.closingForSlowness = true;
    this.ws.close(CLOSE_TOO_SLOW, 'too slow: client did not read for too long');
    // A client that does not read will not complete the closing handshake either.
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}
