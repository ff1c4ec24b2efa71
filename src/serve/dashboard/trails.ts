/** The recent centres of each track id of one stream, for the trail drawn behind a tracked box. */
import type { WireObject } from './wire.js';

export interface TrailOptions {
  /** Centres kept per track. */
  length: number;
  /** A track not seen for this many frames (seq) is forgotten. */
  forgetAfterFrames: number;
}

export const defaultTrailOptions: TrailOptions = { length: 30, forgetAfterFrames: 45 };

export class TrackTrails {
  private readonly tracks = new Map<number, { points: Array<[number, number]>; lastSeq: number }>();

  constructor(private readonly options: TrailOptions = defaultTrailOptions) {}

  /** Adds the centres of one frame's tracked objects (call for every detections message, in seq order). */
  update(seq: number, objects: readonly WireObject[]): void {
    for (const o of objects) {
      if (o.track_id === null) continue;
      let t = this.tracks.get(o.track_id);
      if (!t) this.tracks.set(o.track_id, (t = { points: [], lastSeq: seq }));
      t.points.push([(o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2]);
      if (t.points.length > this.options.length) t.points.splice(0, t.points.length - this.options.length);
      t.lastSeq = seq;
    }
    for (const [id, t] of this.tracks) {
      if (seq - t.lastSeq > this.options.forgetAfterFrames || seq < t.lastSeq) this.tracks.delete(id);
    }
  }

  /** Centres, oldest first, in source pixels; empty for an unknown id. */
  trail(trackId: number): ReadonlyArray<readonly [number, number]> {
    return this.tracks.get(trackId)?.points ?? [];
  }

  get size(): number {
    return this.tracks.size;
  }

  clear(): void {
    this.tracks.clear();
  }
}
