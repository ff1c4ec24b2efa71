/**
 * The recent centres of each track of one stream, for the short trail drawn behind a tracked box:
 * the one definition that the video renderer (output/render/) and the browser dashboard share, so it
 * has no I/O and no Node imports (esbuild bundles it into the dashboard).
 */

export interface TrailOptions {
  /** Centres kept per track. */
  length: number;
  /** A track not seen for this many frames is forgotten. */
  forgetAfterFrames: number;
}

export const DEFAULT_TRAIL_OPTIONS: TrailOptions = { length: 30, forgetAfterFrames: 30 };

/** An object with a box [x1, y1, x2, y2]; which field holds its track id is the caller's (`trackIdOf`). */
export interface BoxedObject {
  readonly box: readonly [number, number, number, number];
}

export class TrackTrails {
  private readonly tracks = new Map<number, { points: Array<[number, number]>; lastFrame: number }>();

  constructor(private readonly options: TrailOptions = DEFAULT_TRAIL_OPTIONS) {}

  /**
   * Adds the centres of one frame's tracked objects (call once per frame, in frame order);
   * `trackIdOf` gives an object's track id, null or undefined for an untracked one.
   */
  update<T extends BoxedObject>(frame: number, objects: readonly T[], trackIdOf: (o: T) => number | null | undefined): void {
    for (const o of objects) {
      const id = trackIdOf(o);
      if (id === null || id === undefined) continue;
      let t = this.tracks.get(id);
      if (!t) this.tracks.set(id, (t = { points: [], lastFrame: frame }));
      t.points.push([(o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2]);
      if (t.points.length > this.options.length) t.points.splice(0, t.points.length - this.options.length);
      t.lastFrame = frame;
    }
    for (const [id, t] of this.tracks) {
      if (frame - t.lastFrame > this.options.forgetAfterFrames || frame < t.lastFrame) this.tracks.delete(id);
    }
  }

  /** Centres, oldest first, in the boxes' pixels; empty for an unknown id. */
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
