/** The server's messages as the browser receives them (docs/protocol.md). */
import type { MaskRle, StreamState, StreamStats } from '../../types.js';

export type { MaskRle, StreamState, StreamStats };

export interface WireObject {
  /** [x1, y1, x2, y2] in source pixels. */
  box: [number, number, number, number];
  score: number;
  class: number;
  label: string;
  track_id: number | null;
  mask?: MaskRle;
}

export interface DetectionsMessage {
  type: 'detections';
  stream: string;
  seq: number;
  width: number;
  height: number;
  ts: number;
  objects: WireObject[];
}

export interface FrameHeader {
  type: 'frame';
  stream: string;
  seq: number;
  width: number;
  height: number;
}

export interface StateMessage {
  type: 'state';
  stream: string;
  state: StreamState;
  reconnects: number;
  error?: string;
}

export interface StatsMessage {
  type: 'stats';
  streams: StreamStats[];
  client: { drops: { video: number; detections: number }; bufferedAmount: number };
}

export type ServerMessage =
  | { type: 'hello'; streams: string[] }
  | { type: 'subscribed'; streams: string[]; video: boolean }
  | { type: 'error'; code: string; message: string }
  | DetectionsMessage
  | StateMessage
  | StatsMessage;

/** A stream view from GET /api/streams. */
export interface StreamView extends StreamStats {
  config: { video?: boolean };
}

/** Splits a binary video message: [uint32 BE N][N bytes JSON header][JPEG]. */
export function decodeVideoMessage(buf: ArrayBuffer): { header: FrameHeader; jpeg: Uint8Array } {
  const n = new DataView(buf).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n))) as FrameHeader;
  return { header, jpeg: new Uint8Array(buf, 4 + n) };
}
