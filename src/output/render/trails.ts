/** The recent centres of each track of one stream, for the short trail drawn behind a tracked box. */
import type { Detection } from '../../types.js';

export interface TrailOptions {
  /** Centres kept per track. */
  length: number;
  /** A track not seen for this many frames is forgotten. */
  forgetAfterFrames: number;
}

export const DEFAULT_TRAIL_OPTIONS: TrailOptions = { length: 30, forgetAfterFrames: 30 };

export class TrackTrails {
  private readonly tracks = new Map<number, { points: Array<[number, number]>; lastFrame: number }>();

  constructor(private readonly options: TrailOptions = DEFAULT_TRAIL_OPTIONS) {}

  /** Adds one frame's tracked detections (call once per frame, in frame order). */
  update(frame: number, detections: readonly Detection[]): void {
    for (const d of detections) {
      if (d.trackId === undefined) continue;
      let t = this.tracks.get(d.trackId);
      if (!t) this.tracks.set(d.trackId, (t = { points: [], lastFrame: frame }));
      t.points.push([(d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2]);
      if (t.points.length > this.options.length) t.points.splice(0, t.points.length - this.options.length);
      t.lastFrame = frame;
    }
    for (const [id, t] of this.tracks) {
      if (frame - t.lastFrame > this.options.forgetAfterFrames || frame < t.lastFrame) this.tracks.delete(id);
    }
  }

  /** Centres, oldest first; empty for an unknown id. */
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
