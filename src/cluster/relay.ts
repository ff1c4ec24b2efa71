/**
 * Results on the wire between nodes (Redis pub/sub): the owner of a stream publishes each result
 * on `results:<stream>` (JSON, without pixels) while some node listens there, and on
 * `video:<stream>` (the same JSON plus the frame's JPEG) while some node's clients want its video.
 * A node listens on at most one of the two per stream, so it gets each frame once.
 *
 * Video message: [uint32 big-endian JSON length N][N bytes JSON][JPEG].
 */
import type { FrameResult } from '../types.js';

/** A result without what never crosses the wire (pixels; the JPEG travels beside it). */
function wireResult(r: FrameResult): Omit<FrameResult, 'jpeg' | 'source'> {
  const { jpeg: _jpeg, source: _source, ...rest } = r;
  return rest;
}

export function encodeRelayedResult(r: FrameResult): string {
  return JSON.stringify(wireResult(r));
}

export function encodeRelayedVideo(r: FrameResult, jpeg: Uint8Array): Buffer {
  const json = Buffer.from(encodeRelayedResult(r), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length + jpeg.byteLength);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  out.set(jpeg, 4 + json.length);
  return out;
}

export function decodeRelayedResult(payload: Buffer | string): FrameResult {
  return JSON.parse(payload.toString()) as FrameResult;
}

export function decodeRelayedVideo(payload: Buffer): FrameResult {
  const n = payload.readUInt32BE(0);
  const result = JSON.parse(payload.subarray(4, 4 + n).toString('utf8')) as FrameResult;
  result.jpeg = payload.subarray(4 + n);
  return result;
}

/** How many of this node's clients follow each stream, and how many of them want its video. */
export class Followers {
  private readonly counts = new Map<string, { all: number; video: number }>();

  add(stream: string, video: boolean): () => void {
    const c = this.counts.get(stream) ?? { all: 0, video: 0 };
    c.all++;
    if (video) c.video++;
    this.counts.set(stream, c);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      c.all--;
      if (video) c.video--;
      if (c.all === 0) this.counts.delete(stream);
    };
  }

  /** The channel kind this node needs for a stream: none, results only, or results with video. */
  need(stream: string): 'results' | 'video' | undefined {
    const c = this.counts.get(stream);
    if (!c) return undefined;
    return c.video > 0 ? 'video' : 'results';
  }

  streams(): string[] {
    return [...this.counts.keys()];
  }
}

/** Adds `offset` to the track ids of a result's detections and events (a stream's ids stay unique across nodes). */
export function offsetTrackIds(r: FrameResult, offset: number): number {
  let max = 0;
  if (offset === 0) {
    for (const d of r.detections) if (d.trackId !== undefined && d.trackId > max) max = d.trackId;
    return max;
  }
  r.detections = r.detections.map((d) => {
    if (d.trackId === undefined) return d;
    const trackId = d.trackId + offset;
    if (trackId > max) max = trackId;
    return { ...d, trackId };
  });
  if (r.events) r.events = r.events.map((e) => ({ ...e, track_id: e.track_id + offset }));
  return max;
}
