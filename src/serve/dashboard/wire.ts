/**
 * The server's messages as the browser receives them (docs/protocol.md): the server's own types
 * (type-only imports, erased by esbuild, so no server code reaches the bundle), and the decoder of
 * the binary video message for the browser's ArrayBuffer.
 */
import type { FrameHeader } from '../protocol.js';

export type { AnalyticsCounts, AnalyticsEvent, MaskRle, StreamState, StreamStats } from '../../types.js';
export type { MotionJson } from '../../output/resultJson.js';
export type { DetectionsMessage, EventsMessage, FrameHeader, ServerMessage, StateMessage, StatsMessage, WireObject } from '../protocol.js';
export type { AnalyticsView, StreamView } from '../httpApi.js';
/** A stream's analytics settings as PUT takes them (fields left out get their defaults). */
export type { AnalyticsInput as WireAnalyticsConfig } from '../../config/schema.js';

/** Splits a binary video message: [uint32 BE N][N bytes JSON header][JPEG]. */
export function decodeVideoMessage(buf: ArrayBuffer): { header: FrameHeader; jpeg: Uint8Array } {
  const n = new DataView(buf).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n))) as FrameHeader;
  return { header, jpeg: new Uint8Array(buf, 4 + n) };
}
