/**
 * The `/ws` endpoint: accepts WebSocket upgrades, keeps a ClientSession per connection, and fans
 * every result out to the clients subscribed to its stream. It is the server's first result sink
 * ('drop': each client's backpressure drops, newest frame wins; see clientSession.ts). Each frame
 * is encoded once (one JSON text, as UTF-8 bytes, and one binary video message) and the same bytes
 * go to every client.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Subscription } from 'rxjs';
import type { StreamHubApi } from '../pipeline/hub.js';
import type { FrameResult } from '../types.js';
import type { ResultSink } from '../output/sink.js';
import { briefError, type ClientDropCounts, type StreamStatsSource } from './streamStats.js';
import type { ServerSettings } from '../config.js';
import type { Logger } from '../log.js';
import { ClientSession } from './clientSession.js';
import { jpegSize } from '../ingest/jpegStream.js';
import { DEFAULT_STREAM } from '../config.js';
import { planRenditions, VideoRenditions, type RenditionCounts, type RenditionPlan, type Renditions } from './videoRenditions.js';
import { TokenBucket } from './rateLimit.js';
import {
  ALL_STREAMS,
  type ClientDrops,
  type ClientView,
  CLOSE_GOING_AWAY,
  CLOSE_TOO_MANY_CLIENTS,
  encodeDetections,
  encodeEvents,
  encodeError,
  encodeHello,
  encodeState,
  encodeStats,
  encodeSubscribed,
  encodeUnsubscribed,
  encodeVideoFrame,
  isProtocolError,
  parseClientMessage,
} from './protocol.js';

/** Frames of a stream that may wait for their renditions; beyond, a frame goes without (videoRenditions.ts). */
const MAX_FRAMES_WAITING_FOR_RENDITIONS = 2;

export interface ClientInfo extends ClientView {
  streams: string[];
  video: string[];
  /** Streams whose frames the client acknowledges. */
  ack: string[];
  /** Frames sent and not yet acknowledged (acknowledged streams only). */
  unacknowledged: number;
  /** Being closed for being too slow (4008). */
  closing: boolean;
}

export interface WsGatewayDeps {
  hub: StreamHubApi;
  /** Stream stats with client drops, for `stats` and the state sent on subscribe. */
  streams: StreamStatsSource;
  /** Where this gateway counts the messages it drops, per stream. */
  clientDrops: ClientDropCounts;
  settings: ServerSettings;
  log: Logger;
}

export class WsGateway implements ResultSink {
  readonly name = 'websocket';
  readonly backpressure = 'drop';
  private readonly hub: StreamHubApi;
  private readonly streams: StreamStatsSource;
  private readonly clientDrops: ClientDropCounts;
  private readonly settings: ServerSettings;
  private readonly log: Logger;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<ClientSession>();
  /** What each client follows through the hub (a cluster node relays streams running elsewhere only while followed). */
  private readonly follows = new Map<ClientSession, Map<string, { video: boolean; release(): void }>>();
  private readonly subscriptions: Subscription[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  /** Drops of clients that have gone, so totals survive disconnects (for /metrics). */
  private readonly goneDrops: ClientDrops = { video: 0, detections: 0, events: 0 };
  private accepted = 0;
  private closed = false;
  private readonly renditions: VideoRenditions;

  constructor(deps: WsGatewayDeps) {
    const { hub, settings } = deps;
    this.hub = hub;
    this.streams = deps.streams;
    this.clientDrops = deps.clientDrops;
    this.settings = settings;
    this.log = deps.log;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: settings.maxPayloadBytes, clientTracking: false });
    this.renditions = new VideoRenditions({ maxWaiting: MAX_FRAMES_WAITING_FOR_RENDITIONS, log: this.log });
    this.subscriptions.push(
      hub.states$.subscribe((event) =>
        this.guard('state', () => {
          const text = encodeState(event.error !== undefined && this.settings.sourceErrors === 'brief' ? { ...event, error: briefError(event.state) } : event);
          for (const s of this.sessions) {
            // A client subscribed to "*" takes every new stream as it appears.
            if (s.allStreams && !s.subscriptions.has(event.stream) && this.hub.has(event.stream)) {
              s.subscribe([event.stream], s.allStreams);
              this.follow(s, [event.stream], s.allStreams.video);
              s.sendControl(encodeSubscribed([event.stream], s.allStreams, true));
            }
            if (s.subscriptions.has(event.stream)) s.sendControl(text);
          }
        }),
      ),
    );
    this.timers.push(
      setInterval(() => this.sendStats(), settings.statsIntervalMs),
      // Pending frames go out as soon as a congested client's buffer drains; pings; stuck clients.
      setInterval(() => {
        const now = Date.now();
        for (const s of this.sessions) s.tick(now);
      }, 50),
    );
    for (const t of this.timers) t.unref();
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  /** Connections accepted since start. */
  get connectionsAccepted(): number {
    return this.accepted;
  }

  /** Messages dropped for slow clients since start, all clients (present and gone) together, by kind. */
  drops(): ClientDrops {
    const total = { ...this.goneDrops };
    for (const s of this.sessions) {
      total.video += s.drops.video;
      total.detections += s.drops.detections;
      total.events += s.drops.events;
    }
    return total;
  }

  /** Smaller JPEGs encoded for clients with `maxWidth`, since start. */
  renditionCounts(): RenditionCounts {
    return { ...this.renditions.counts };
  }

  /** Per-client view for diagnostics: subscriptions, drops and the current send buffer. */
  clients(): ClientInfo[] {
    return [...this.sessions].map((s) => ({
      streams: [...s.subscriptions],
      video: [...s.videoStreams],
      ack: [...s.subscriptions].filter((id) => s.acknowledges(id)),
      ...s.view(),
      unacknowledged: s.unacknowledged,
      closing: s.closing,
    }));
  }

  /** Completes an HTTP upgrade request already authorised by the caller. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket));
  }

  /** One frame to every subscriber: encoded once, the same bytes for all. Never throws. */
  write(result: FrameResult): void {
    this.guard('broadcast', () => this.broadcast(result));
  }

  /** Closes every client with 1001 and stops fan-out. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const sub of this.subscriptions) sub.unsubscribe();
    for (const s of this.sessions) {
      this.unfollow(s);
      s.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      setTimeout(() => s.ws.terminate(), 1000).unref();
    }
    this.sessions.clear();
    this.wss.close();
  }

  private broadcast(result: FrameResult): void {
    if (this.sessions.size === 0) return;
    const stream = result.streamId;
    const plan = this.planRenditions(result);
    const quality = this.hub.settings(stream)?.jpegQuality ?? DEFAULT_STREAM.jpegQuality;
    this.renditions.prepare(stream, result.jpeg, plan?.widths ?? [], quality, (renditions) => this.guard('broadcast', () => this.fanOut(result, plan, renditions)));
  }

  /** The smaller JPEGs this frame needs for the clients that show its stream small (none when nobody does). */
  private planRenditions(result: FrameResult): RenditionPlan | undefined {
    if (!result.jpeg || this.settings.maxRenditionsPerStream === 0) return undefined;
    const asked: number[] = [];
    const stream = result.streamId;
    for (const s of this.sessions) {
      // A client whose maxFps skips this frame needs no rendition of it.
      const w = s.wantsVideo(stream) && s.due(stream, result.timing.captureTs) ? s.maxWidths.get(stream) : undefined;
      if (w !== undefined) asked.push(w);
    }
    if (asked.length === 0) return undefined;
    return planRenditions(jpegSize(result.jpeg)?.width ?? 0, asked, this.settings.maxRenditionsPerStream);
  }

  /** One frame to its subscribers: each video message encoded once per size, the same bytes for all. */
  private fanOut(result: FrameResult, plan: RenditionPlan | undefined, renditions: Renditions): void {
    const stream = result.streamId;
    // Encoded to UTF-8 once here: a string would be encoded again for every client by ws.send.
    const detections = Buffer.from(encodeDetections(result));
    const eventsText = encodeEvents(result);
    const events = eventsText === undefined ? undefined : Buffer.from(eventsText);
    /** Video message by rendition width (undefined: the full JPEG); null: skipped. */
    const videos = new Map<number | undefined, Buffer | null>();
    const videoFor = (width: number | undefined): Buffer | null => {
      let v = videos.get(width);
      if (v === undefined) {
        const jpeg = width === undefined ? result.jpeg! : renditions.get(width);
        videos.set(width, (v = jpeg ? encodeVideoFrame(result, jpeg) : null));
      }
      return v;
    };
    const now = Date.now();
    for (const s of this.sessions) {
      if (!s.subscriptions.has(stream)) continue;
      if (s.takeFrame(stream, result.timing.captureTs)) {
        const video = result.jpeg && s.wantsVideo(stream) ? videoFor(plan?.widthFor(s.maxWidths.get(stream))) : undefined;
        if (video === null) s.dropVideo(stream);
        s.deliver(stream, result.seq, detections, video ?? undefined, now);
      }
      // Events are not thinned by maxFps: each says something once.
      if (events) s.deliverEvents(stream, events);
    }
  }

  /** A failure while serving one event must not take the pipeline (or the process) down. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, what }, 'websocket fan-out failed');
    }
  }

  private accept(ws: WebSocket, socket: Duplex): void {
    if (this.sessions.size >= this.settings.maxClients) {
      ws.close(CLOSE_TOO_MANY_CLIENTS, 'too many clients');
      return;
    }
    const session = new ClientSession(ws, {
      bufferBytes: this.settings.clientBufferBytes,
      stuckTimeoutMs: this.settings.stuckClientTimeoutMs,
      ackWindow: this.settings.ackWindow,
      onDrop: (stream) => this.clientDrops.add(stream),
      socket,
    });
    this.sessions.add(session);
    this.accepted++;
    const limits = new MessageLimits(this.settings.clientMessagesPerSecond);
    ws.on('message', (data, isBinary) => {
      const now = Date.now();
      // Over the limit, a message is not even parsed: a flood costs the event loop next to nothing.
      if (!limits.messages.take(now)) return void this.rateLimited(session, limits, now);
      this.onMessage(session, limits, data, isBinary, now);
    });
    ws.on('close', (code) => {
      this.unfollow(session);
      if (this.sessions.delete(session)) {
        this.goneDrops.video += session.drops.video;
        this.goneDrops.detections += session.drops.detections;
        this.goneDrops.events += session.drops.events;
      }
      this.log.debug({ code, drops: session.drops }, 'client closed');
    });
    ws.on('error', (err) => this.log.debug({ err }, 'client error'));
    session.sendControl(encodeHello(this.hub.ids()));
  }

  private onMessage(session: ClientSession, limits: MessageLimits, data: WebSocket.RawData, isBinary: boolean, now: number): void {
    if (isBinary) {
      session.sendControl(encodeError({ code: 'binary_not_supported', message: 'send JSON text messages' }));
      return;
    }
    const msg = parseClientMessage(data.toString());
    if (isProtocolError(msg)) {
      session.sendControl(encodeError(msg));
      return;
    }
    if (msg.type === 'ack') {
      session.acknowledge(msg.seqs, now);
      return;
    }
    if (!limits.control.take(now)) return void this.rateLimited(session, limits, now);
    const all = msg.streams.includes(ALL_STREAMS);
    const named = msg.streams.filter((id) => id !== ALL_STREAMS);
    if (msg.type === 'subscribe') {
      const known = all ? this.hub.ids() : named.filter((id) => this.hub.has(id));
      const unknown = named.filter((id) => !this.hub.has(id));
      if (unknown.length) session.sendControl(encodeError({ code: 'unknown_stream', message: `unknown stream(s): ${unknown.join(', ')}` }));
      const options = {
        video: msg.video,
        ack: msg.ack,
        ...(msg.maxWidth !== undefined ? { maxWidth: msg.maxWidth } : {}),
        ...(msg.maxFps !== undefined ? { maxFps: msg.maxFps } : {}),
      };
      if (all) session.allStreams = options;
      session.subscribe(known, options);
      this.follow(session, known, msg.video);
      session.sendControl(encodeSubscribed(known, options, all));
      for (const id of known) {
        const stats = this.streams.stats(id);
        if (stats) session.sendControl(encodeState({ stream: id, state: stats.state, reconnects: stats.reconnects, ...(stats.lastError ? { error: stats.lastError } : {}) }));
      }
      return;
    }
    if (all) session.allStreams = undefined;
    const ended = session.unsubscribe(all ? [...session.subscriptions] : named);
    this.unfollow(session, ended);
    // Each id is answered once: ended (in `unsubscribed`) or not subscribed (an error).
    const notSubscribed = named.filter((id) => !ended.includes(id));
    if (notSubscribed.length) session.sendControl(encodeError({ code: 'not_subscribed', message: `not subscribed to: ${notSubscribed.join(', ')}` }));
    if (ended.length || all) session.sendControl(encodeUnsubscribed(ended, all));
  }

  /** At most one `rate_limited` error a second while a client keeps over its limit. */
  private rateLimited(session: ClientSession, limits: MessageLimits, now: number): void {
    if (now - limits.lastWarnedAt < 1000) return;
    limits.lastWarnedAt = now;
    session.sendControl(
      encodeError({ code: 'rate_limited', message: `over ${this.settings.clientMessagesPerSecond} messages/s (subscribe/unsubscribe: a tenth of that): messages ignored` }),
    );
  }

  /** Tells the hub what a client follows now (with or without video). */
  private follow(session: ClientSession, streams: string[], video: boolean): void {
    if (!this.hub.follow) return;
    let held = this.follows.get(session);
    if (!held) this.follows.set(session, (held = new Map()));
    for (const id of streams) {
      const prev = held.get(id);
      if (prev?.video === video) continue;
      prev?.release();
      held.set(id, { video, release: this.hub.follow(id, { video }) });
    }
  }

  /** Releases what a client followed: `streams`, or everything. */
  private unfollow(session: ClientSession, streams?: string[]): void {
    const held = this.follows.get(session);
    if (!held) return;
    for (const id of streams ?? [...held.keys()]) {
      held.get(id)?.release();
      held.delete(id);
    }
    if (held.size === 0) this.follows.delete(session);
  }

  private sendStats(): void {
    for (const s of this.sessions) {
      if (s.subscriptions.size === 0) continue;
      const streams = [...s.subscriptions].flatMap((id) => this.streams.stats(id) ?? []);
      const models = this.hub.modelStats([...s.subscriptions].flatMap((id) => this.hub.settings(id)?.model ?? []));
      s.sendControl(encodeStats(streams, s.view(), models));
    }
  }
}

/** A client's message budgets: every message, and subscribe/unsubscribe (which cost replies and state) a tenth of it. */
class MessageLimits {
  readonly messages: TokenBucket;
  readonly control: TokenBucket;
  lastWarnedAt = -Infinity;

  constructor(perSecond: number, now = Date.now()) {
    this.messages = new TokenBucket(perSecond, 2 * perSecond, now);
    this.control = new TokenBucket(perSecond / 10, Math.max(1, perSecond / 5), now);
  }
}
