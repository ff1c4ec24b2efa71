/**
 * The WebSocket protocol (docs/protocol.md): parsing client messages and encoding server
 * messages. Encoders run once per frame; the same string/buffer goes to every client.
 */
import type { AnalyticsEvent, Detection, FrameResult, FrameTiming, StreamStats } from '../types.js';
import type { ModelStats, StreamStateEvent } from '../pipeline/hub.js';
import type { BatcherMetrics } from '../infer/batcher.js';
import { detectionToJson, motionToJson, type DetectionJson, type MotionJson } from '../output/resultJson.js';
import { LATENCY_TERM_NAMES, latencyMs, type LatencyTerm } from '../latency.js';

/** Close codes the server uses besides the standard ones. */
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TOO_MANY_CLIENTS = 1013;

export type ClientMessage =
  | ({ type: 'subscribe'; streams: string[] } & SubscriptionOptions)
  | { type: 'unsubscribe'; streams: string[] }
  /** Per stream, the newest seq consumed: acknowledges that frame and every earlier one. */
  | { type: 'ack'; seqs: Map<string, number> };

export type ErrorCode = 'bad_json' | 'bad_message' | 'unknown_type' | 'unknown_stream' | 'not_subscribed' | 'binary_not_supported' | 'rate_limited';

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

/** How a client takes a stream's frames. */
export interface SubscriptionOptions {
  video: boolean;
  /** The client acknowledges this stream's frames (flow control); absent: it does not. */
  ack?: boolean;
  /** The widest video the client shows (pixels): it gets a smaller JPEG when one is encoded (videoRenditions.ts). */
  maxWidth?: number;
  /** At most this many frames per second (by capture time); the others are skipped for this client, not counted as drops. */
  maxFps?: number;
}

/** Largest `maxWidth` a client may ask for. */
export const MAX_VIDEO_WIDTH = 16384;
/** Bounds of `maxFps`: one frame in ten seconds to any rate a source has. */
export const MIN_FPS = 0.1;
export const MAX_FPS = 1000;

/** The stream id that means every stream, present and future (not a valid stream id). */
export const ALL_STREAMS = '*';

/** Parses one client text message; returns the message or the error to send back. */
export function parseClientMessage(text: string): ClientMessage | ProtocolError {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { code: 'bad_json', message: 'message is not valid JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { code: 'bad_message', message: 'message must be a JSON object' };
  const o = v as Record<string, unknown>;
  if (o.type === 'ack') return parseAck(o.seqs);
  if (o.type !== 'subscribe' && o.type !== 'unsubscribe') {
    return { code: 'unknown_type', message: `unknown message type ${JSON.stringify(o.type ?? null)}; expected "subscribe", "unsubscribe" or "ack"` };
  }
  const streams = o.streams;
  if (!Array.isArray(streams) || streams.length === 0 || streams.length > 1000 || !streams.every(isStreamId)) {
    return { code: 'bad_message', message: 'streams: expected a non-empty array of stream ids' };
  }
  if (o.type === 'unsubscribe') return { type: 'unsubscribe', streams: [...new Set(streams as string[])] };
  if (o.video !== undefined && typeof o.video !== 'boolean') return { code: 'bad_message', message: 'video: expected true or false' };
  if (o.ack !== undefined && typeof o.ack !== 'boolean') return { code: 'bad_message', message: 'ack: expected true or false' };
  const maxWidth = o.maxWidth;
  if (maxWidth !== undefined && !(Number.isInteger(maxWidth) && (maxWidth as number) >= 1 && (maxWidth as number) <= MAX_VIDEO_WIDTH)) {
    return { code: 'bad_message', message: `maxWidth: expected an integer from 1 to ${MAX_VIDEO_WIDTH} (pixels)` };
  }
  const maxFps = o.maxFps;
  if (maxFps !== undefined && !(typeof maxFps === 'number' && maxFps >= MIN_FPS && maxFps <= MAX_FPS)) {
    return { code: 'bad_message', message: `maxFps: expected a number from ${MIN_FPS} to ${MAX_FPS} (frames per second)` };
  }
  return {
    type: 'subscribe',
    streams: [...new Set(streams as string[])],
    video: o.video === true,
    ack: o.ack === true,
    ...(maxWidth !== undefined ? { maxWidth: maxWidth as number } : {}),
    ...(maxFps !== undefined ? { maxFps } : {}),
  };
}

function isStreamId(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= 64;
}

function parseAck(seqs: unknown): ClientMessage | ProtocolError {
  const bad: ProtocolError = { code: 'bad_message', message: 'seqs: expected an object of stream ids to frame seqs (integers >= 0)' };
  if (typeof seqs !== 'object' || seqs === null || Array.isArray(seqs)) return bad;
  const out = new Map<string, number>();
  // Own keys only: a "__proto__" key parsed by JSON.parse is an own property like any other.
  for (const [id, seq] of Object.entries(seqs)) {
    if (!isStreamId(id) || !Number.isSafeInteger(seq) || (seq as number) < 0) return bad;
    out.set(id, seq as number);
  }
  return out.size > 1000 ? bad : { type: 'ack', seqs: out };
}

export function isProtocolError(m: ClientMessage | ProtocolError): m is ProtocolError {
  return 'code' in m;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** A frame's latency on the wire: every term of src/latency.ts as `<term>_ms` (0.1 ms, null when unknown). */
export type WireLatency = { [K in LatencyTerm as `${K}_ms`]: number | null };

const WIRE_KEYS = LATENCY_TERM_NAMES.map((term) => `${term}_ms`);

export function wireLatency(t: FrameTiming): WireLatency {
  const out: Record<string, number | null> = {};
  for (let i = 0; i < LATENCY_TERM_NAMES.length; i++) {
    const ms = latencyMs(t, LATENCY_TERM_NAMES[i]);
    out[WIRE_KEYS[i]] = ms === undefined ? null : r1(ms);
  }
  return out as WireLatency;
}

function stagesMs(stages: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name in stages) out[name] = r1(stages[name]);
  return out;
}

/** A detection on the wire (WebSocket and /api/detect): the shared file schema, `track_id` null when untracked. */
export type WireObject = Omit<DetectionJson, 'track_id'> & { track_id: number | null };

export function wireObject(d: Detection): WireObject {
  return { ...detectionToJson(d), track_id: d.trackId ?? null };
}

// ---- Server messages, as sent: the dashboard (src/serve/dashboard/wire.ts) imports these types ----

export interface HelloMessage {
  type: 'hello';
  streams: string[];
}

/** A frame's results; `ts` is its capture time (epoch ms), `pts` its presentation time (s). */
export interface DetectionsMessage {
  type: 'detections';
  stream: string;
  seq: number;
  frame: number;
  pts: number;
  ts: number;
  width: number;
  height: number;
  /** Present (false) when the detector skipped this frame and `objects` were carried forward (motion gating). */
  inferred?: false;
  /** Present on streams with motion gating: the frame's changed fraction, why the detector ran or not, and its motion regions. */
  motion?: MotionJson;
  objects: WireObject[];
  latency: WireLatency & { stages_ms: Record<string, number>; batch: number | null };
}

/** The JSON header of a binary video message; stream/seq as in the frame's `detections` message. */
export interface FrameHeader {
  type: 'frame';
  stream: string;
  seq: number;
  frame: number;
  pts: number;
  ts: number;
  width: number;
  height: number;
}

export type StateMessage = { type: 'state' } & StreamStateEvent;

export interface SubscribedMessage {
  type: 'subscribed';
  streams: string[];
  video: boolean;
  /** Set when the client acknowledges these streams' frames (flow control). */
  ack?: true;
  /** As asked in the subscribe. */
  maxWidth?: number;
  /** As asked in the subscribe. */
  maxFps?: number;
  /** Set when the subscription is `"*"`. */
  all?: true;
}

export interface UnsubscribedMessage {
  type: 'unsubscribed';
  streams: string[];
  all?: true;
}

export interface StatsMessage {
  type: 'stats';
  ts: number;
  streams: StreamStats[];
  models: ModelStats[];
  client: ClientView;
}

/** A client's own figures in `stats`: what its backpressure dropped, frames its `maxFps` skipped (asked for: not drops), its send buffer. */
export interface ClientView {
  drops: ClientDrops;
  skipped: number;
  bufferedAmount: number;
}

export type ErrorMessage = { type: 'error' } & ProtocolError;

/** A frame's analytics events (docs/analytics.md), in the order they happened, after its `detections`. */
export interface EventsMessage {
  type: 'events';
  stream: string;
  seq: number;
  events: AnalyticsEvent[];
}

/** Every text message the server sends. */
export type ServerMessage = HelloMessage | DetectionsMessage | EventsMessage | StateMessage | SubscribedMessage | UnsubscribedMessage | StatsMessage | ErrorMessage;

export function encodeHello(streams: string[]): string {
  return JSON.stringify({ type: 'hello', streams } satisfies HelloMessage);
}

/** `detections` message for one frame. */
export function encodeDetections(r: FrameResult): string {
  const t = r.timing;
  return JSON.stringify({
    type: 'detections',
    stream: r.streamId,
    seq: r.seq,
    frame: r.index,
    pts: r3(r.pts),
    ts: r1(t.captureTs),
    width: r.width,
    height: r.height,
    ...(r.inferred === false ? { inferred: false as const } : {}),
    ...(r.motion ? { motion: motionToJson(r.motion) } : {}),
    objects: r.detections.map(wireObject),
    latency: { ...wireLatency(t), stages_ms: stagesMs(t.stages), batch: t.batchSize ?? null },
  } satisfies DetectionsMessage);
}

/** `events` message: a frame's analytics events (docs/analytics.md), in the order they happened. */
export function encodeEvents(r: FrameResult): string | undefined {
  return r.events?.length ? JSON.stringify({ type: 'events', stream: r.streamId, seq: r.seq, events: r.events } satisfies EventsMessage) : undefined;
}

/**
 * Binary video message: [uint32 big-endian header length N][N bytes UTF-8 JSON header][JPEG].
 * The header is {"type":"frame","stream","seq","frame","pts","ts","width","height"}: the same
 * stream/seq as the frame's `detections` message.
 */
export function encodeVideoFrame(r: FrameResult, jpeg: Uint8Array): Buffer {
  const header = Buffer.from(
    JSON.stringify({ type: 'frame', stream: r.streamId, seq: r.seq, frame: r.index, pts: r3(r.pts), ts: r1(r.timing.captureTs), width: r.width, height: r.height } satisfies FrameHeader),
    'utf8',
  );
  const out = Buffer.allocUnsafe(4 + header.length + jpeg.byteLength);
  out.writeUInt32BE(header.length, 0);
  header.copy(out, 4);
  out.set(jpeg, 4 + header.length);
  return out;
}

/** Splits a binary video message (for clients and tests). */
export function decodeVideoFrame(buf: Uint8Array): { header: FrameHeader; jpeg: Uint8Array } {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.readUInt32BE(0);
  return { header: JSON.parse(view.subarray(4, 4 + n).toString('utf8')), jpeg: view.subarray(4 + n) };
}

export function encodeState(e: StreamStateEvent): string {
  return JSON.stringify({ type: 'state', ...e } satisfies StateMessage);
}

/** Reply to subscribe (also sent when a `"*"` subscription takes a new stream); `all` marks `"*"`. */
export function encodeSubscribed(streams: string[], options: SubscriptionOptions, all: boolean): string {
  return JSON.stringify({
    type: 'subscribed',
    streams,
    video: options.video,
    ...(options.ack ? { ack: true as const } : {}),
    ...(options.maxWidth !== undefined ? { maxWidth: options.maxWidth } : {}),
    ...(options.maxFps !== undefined ? { maxFps: options.maxFps } : {}),
    ...(all ? { all: true as const } : {}),
  } satisfies SubscribedMessage);
}

export function encodeUnsubscribed(streams: string[], all: boolean): string {
  return JSON.stringify({ type: 'unsubscribed', streams, ...(all ? { all: true as const } : {}) } satisfies UnsubscribedMessage);
}

export type ClientDrops = {
  video: number;
  detections: number;
  /** `events` messages that did not fit under the client's bound. */
  events: number;
};

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** A model's batcher metrics as the API reports them: means to 0.01. */
export function batchingView(b: BatcherMetrics): BatcherMetrics {
  return { ...b, meanBatchSize: r2(b.meanBatchSize), queueWaitMs: { mean: r2(b.queueWaitMs.mean), max: r2(b.queueWaitMs.max) } };
}

export function encodeStats(streams: StreamStats[], client: ClientView, models: ModelStats[] = []): string {
  return JSON.stringify({ type: 'stats', ts: Date.now(), streams, models: models.map((m) => ({ ...m, batching: batchingView(m.batching) })), client } satisfies StatsMessage);
}

export function encodeError(e: ProtocolError): string {
  return JSON.stringify({ type: 'error', ...e } satisfies ErrorMessage);
}
