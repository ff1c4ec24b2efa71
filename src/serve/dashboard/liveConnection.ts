/**
 * The dashboard's WebSocket: reconnects by itself with backoff when the server goes away and tells
 * the page what it is doing. JSON messages and binary video messages go to separate handlers;
 * subscribing is the page's job, on every `open`. Frames the page has consumed are acknowledged
 * (flow control, docs/protocol.md; frameAcks.ts says which): `acknowledge` notes the newest seq of
 * a stream, and `flushAcks` sends them all in one message, once per drawn screen.
 */
import { backoffDelay } from './backoff.js';
import { describeClose } from './closeReasons.js';
import type { ServerMessage } from './wire.js';

export type ConnectionStatus =
  | { kind: 'connecting' }
  | { kind: 'open' }
  /** `reason`: what happened, in plain words (closeReasons.ts). */
  | { kind: 'reconnecting'; attempt: number; retryAt: number; reason: string };

export interface ConnectionHandlers {
  onStatus(status: ConnectionStatus): void;
  onMessage(msg: ServerMessage): void;
  onVideo(buf: ArrayBuffer): void;
}

export class LiveConnection {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private readonly acks = new Map<string, number>();

  constructor(
    private readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
  }

  send(msg: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Notes that the frame `seq` of `stream` was drawn (sent with the next flushAcks). */
  acknowledge(stream: string, seq: number): void {
    if ((this.acks.get(stream) ?? -1) < seq) this.acks.set(stream, seq);
  }

  /** Sends the acknowledgements noted since the last call, if any, as one message. */
  flushAcks(): void {
    if (this.acks.size === 0) return;
    this.send({ type: 'ack', seqs: Object.fromEntries(this.acks) });
    this.acks.clear();
  }

  private connect(): void {
    if (this.attempt === 0) this.handlers.onStatus({ kind: 'connecting' });
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      // Seqs drawn on the previous connection mean nothing to this one.
      this.acks.clear();
      this.handlers.onStatus({ kind: 'open' });
    };
    ws.onmessage = (ev: MessageEvent<string | ArrayBuffer>) => {
      if (typeof ev.data === 'string') this.handlers.onMessage(JSON.parse(ev.data) as ServerMessage);
      else this.handlers.onVideo(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.stopped) return;
      this.attempt++;
      const delay = backoffDelay(this.attempt);
      const reason = describeClose(ev.code, opened);
      this.handlers.onStatus({ kind: 'reconnecting', attempt: this.attempt, retryAt: Date.now() + delay, reason });
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}
