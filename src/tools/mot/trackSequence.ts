/**
 * Runs the tracker over a sequence of MOTChallenge public detections and produces MOTChallenge result
 * rows. Frame f (1-based) is presented at t = (f - 1) / frameRate seconds. The rows are what serve and
 * analyze report for the same detections: `ByteTracker.annotate`'s detections that carry a track id.
 */
import { DEFAULT_TRACKER } from '../../config/schema.js';
import { ByteTracker, type ByteTrackerTuning } from '../../track/byteTracker.js';
import type { Detection, TrackerConfig } from '../../types.js';
import type { MotRow, SeqInfo } from './formats.js';

/**
 * Optional MOT output filter, as official ByteTrack applies in its MOTChallenge scripts: pedestrian
 * boxes wider than `maxAspect` x their height, or smaller than `minArea` square pixels, are not written
 * (they are almost always false positives for the "pedestrian" class). The tracker still tracks them.
 */
export interface MotOutputFilter {
  maxAspect: number;
  minArea: number;
}

export const BYTETRACK_MOT_FILTER: MotOutputFilter = { maxAspect: 1.6, minArea: 10 };

export interface TrackSequenceOptions {
  config?: TrackerConfig;
  tuning?: Partial<ByteTrackerTuning>;
  filter?: MotOutputFilter;
  /** Receives each frame's update time in milliseconds (for benchmarks). */
  onUpdateTime?: (ms: number) => void;
}

/** Groups det rows into per-frame Detection lists (class 0, "pedestrian"), index f - 1 for frame f. */
export function detectionsByFrame(rows: MotRow[], seqLength: number): Detection[][] {
  const frames: Detection[][] = Array.from({ length: seqLength }, () => []);
  for (const r of rows) {
    if (r.frame > seqLength) throw new Error(`detection frame ${r.frame} is beyond seqLength ${seqLength}`);
    frames[r.frame - 1]!.push({ box: [r.x, r.y, r.x + r.w, r.y + r.h], score: r.score, class: 0, label: 'pedestrian' });
  }
  return frames;
}

export function trackSequence(frames: Detection[][], info: SeqInfo, options: TrackSequenceOptions = {}): MotRow[] {
  const tracker = new ByteTracker(options.config ?? DEFAULT_TRACKER, options.tuning);
  const out: MotRow[] = [];
  const filter = options.filter;
  for (let f = 0; f < frames.length; f++) {
    const start = options.onUpdateTime ? performance.now() : 0;
    const annotated = tracker.annotate(frames[f]!, f / info.frameRate);
    if (options.onUpdateTime) options.onUpdateTime(performance.now() - start);
    for (const det of annotated) {
      if (det.trackId === undefined) continue;
      const [x1, y1, x2, y2] = det.box;
      const w = x2 - x1;
      const h = y2 - y1;
      if (filter && (w / h > filter.maxAspect || w * h <= filter.minArea)) continue;
      out.push({ frame: f + 1, id: det.trackId, x: x1, y: y1, w, h, score: det.score });
    }
  }
  return out;
}
