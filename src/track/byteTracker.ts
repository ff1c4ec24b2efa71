/**
 * ByteTrack-style multi-object tracker with two OC-SORT refinements, in stream time.
 *
 * Each frame (`annotate`, its `step`) reads top to bottom:
 *  1. predict every track to the frame's time;
 *  2. first association: high-score detections against confirmed tracks (tracked and lost), on
 *     1 - IoU x score (ByteTrack's fused cost; IoU of boxes buffered in proportion to the frame
 *     interval), limited by `matchThresh`;
 *  3. second association: low-score detections against the confirmed tracks still unmatched and not
 *     lost, on 1 - IoU, limited by 0.5 (ByteTrack's constant) -- this keeps occluded, low-confidence
 *     objects on their tracks instead of starting new ones;
 *  4. optional recovery (tuning.recoveryMatchThresh > 0, off by default): high-score detections still
 *     unmatched against the remaining confirmed tracks' last OBSERVED boxes (OC-SORT's
 *     observation-centric recovery); it measured neutral on MOT15 (docs/tracker.md);
 *  5. tentative tracks (seen once) against the remaining high-score detections; unmatched ones die;
 *  6. tracks seen once, in the previous frame, still unmatched (tentative, or confirmed on the first
 *     frame) against the remaining high-score detections by centre displacement in sizes
 *     (displacement.ts), gated by a speed: an object that moved more than about half its size has no
 *     IoU with its velocity-less prediction; a match restarts the filter from the two observations;
 *  7. life cycle: unmatched tracked -> lost, lost longer than `lostTrackSeconds` (or than it was
 *     observed) -> removed, remaining detections with score >= `newTrackThresh` -> new tentative tracks;
 *  8. output (`annotate`): every detection of the frame, those taken by confirmed tracks with `trackId`.
 *
 * Matches never cross classes. A re-found lost track re-runs its filter over the gap along virtual
 * observations (OC-SORT's observation-centric re-update). A matched detection that shrank behind
 * another detection of the frame (partly hidden) is measured by its visible edge and most of the
 * predicted size (occlusion.ts), so the hidden side does not drag the centre and velocity.
 *
 * Output boxes are the detector's: a tracked detection reads as the model produced it, like an untracked
 * one and like its mask. The Kalman-filtered box (`config.boxes = 'filtered'`, as official ByteTrack
 * writes) averages out a noisy detector's jitter but lags objects that change speed or direction: it
 * measured better on MOT15's pedestrians and worse on the synthetic scenes (docs/tracker.md).
 */
import { DEFAULT_TRACKER } from '../config/schema.js';
import type { Detection, TrackerConfig } from '../types.js';
import { AssignmentSolver } from './assignment.js';
import { boxIou, bufferedIou } from '../geometry/iou.js';
import { displacementInSizes } from './displacement.js';
import { DEFAULT_KALMAN_NOISE, type KalmanNoise } from './kalman.js';
import { DEFAULT_OCCLUSION_OPTIONS, occlusionAwareBox, type OcclusionOptions } from './occlusion.js';
import { Track } from './track.js';

/** Algorithm constants that are not part of the stream configuration. */
export interface ByteTrackerTuning {
  noise: KalmanNoise;
  /** IoU-distance limit of the second (low-score) association. */
  lowMatchThresh: number;
  /** Fused-cost limit for a tentative track's next detection (ByteTrack 0.7; 0.6 selected on MOT15). */
  tentativeMatchThresh: number;
  /** IoU-distance limit of the recovery association on last observed boxes; 0 disables it. */
  recoveryMatchThresh: number;
  /** Re-run the filter over occlusion gaps when a lost track is found again. */
  reupdateGaps: boolean;
  /** A tracked and a lost track overlapping more than this IoU are one object: the younger is removed. */
  duplicateIou: number;
  /** Partly hidden detections (occlusion.ts): a box shrunk behind another detection keeps its visible edge. */
  occlusion: OcclusionOptions;
  /**
   * A lost track is kept at most this many times as long as it was observed (and never longer than
   * `lostTrackSeconds`): a track seen briefly is weak evidence of an object, and keeping it long lets it
   * take the detection of another one. 0 keeps every lost track `lostTrackSeconds`.
   */
  lostObservedRatio: number;
  /**
   * Buffered IoU (C-BIoU) in time: for the first and the tentative association both boxes are
   * enlarged on each side by this many times the seconds since the previous frame, times their size.
   * Objects move further between frames at low frame rates; the buffer keeps the same motion matchable
   * at 7 and at 30 fps (0.036 of the size at 7 fps, 0.008 at 30 fps). 0 is plain IoU.
   */
  iouBufferRate: number;
  /** Step 6: a track seen once against the detections left, by centre displacement in sizes. */
  displacementGate: DisplacementGate;
}

/**
 * The gate of step 6: a pair matches when the centre moved less than `min(maxSizes, sizesPerSecond x
 * dt)` in sizes (displacement.ts), width and height each differ by at most `sizeRatio`, and the pair
 * is one the overlap steps could not take (`minSizes`). The speed
 * keeps high frame rates as they were (0.25 sizes a frame at 30 fps, which IoU already matches); the
 * cap keeps a long frame interval from gluing a far detection to a new track.
 */
export interface DisplacementGate {
  /** Fastest motion matched, in sizes per second; 0 disables the step. */
  sizesPerSecond: number;
  /** Largest displacement matched, in sizes, however long the frame interval. */
  maxSizes: number;
  /**
   * Pairs that moved less than this (in sizes) take part only when their overlap is too small for the
   * tentative step at any score: the pairs it turned down for their score stay turned down.
   */
  minSizes: number;

  /** Largest ratio of the two boxes' widths, and of their heights. */
  sizeRatio: number;
}

export const DEFAULT_TRACKER_TUNING: ByteTrackerTuning = {
  noise: DEFAULT_KALMAN_NOISE,
  lowMatchThresh: 0.5,
  tentativeMatchThresh: 0.6,
  recoveryMatchThresh: 0,
  reupdateGaps: true,
  duplicateIou: 0.85,
  occlusion: DEFAULT_OCCLUSION_OPTIONS,
  lostObservedRatio: 1,
  iouBufferRate: 0.25,
  displacementGate: { sizesPerSecond: 7.5, maxSizes: 1.5, minSizes: 0.35, sizeRatio: 1.25 },
};

type Cost = 'fusedIou' | 'iou' | 'observedIou' | 'displacement';

/** One tracker per stream: its own id space, ids never reused for the life of the instance. */
export class ByteTracker {
  private config: TrackerConfig;
  private readonly tuning: ByteTrackerTuning;
  private tracks: Track[] = [];
  private nextId = 1;
  /** Tracker time in seconds: sums non-negative pts steps, so a pts reset does not age or revive tracks. */
  private clock = 0;
  private lastPts: number | undefined;
  private frameStep = 0;
  private updates = 0;

  // Reused per frame.
  private readonly solver = new AssignmentSolver();
  private costs = new Float64Array(256);
  private rowToCol = new Int32Array(64);
  private detectionBoxes = new Float64Array(256);
  private readonly measurement = new Float64Array(4);
  private readonly trackCandidates: Track[] = [];
  private readonly highDetections: number[] = [];
  private readonly lowDetections: number[] = [];
  private readonly unmatchedTracks: Track[] = [];
  private readonly detectionTrack: (Track | undefined)[] = [];

  constructor(config: TrackerConfig = DEFAULT_TRACKER, tuning: Partial<ByteTrackerTuning> = {}) {
    this.config = { ...config };
    this.tuning = { ...DEFAULT_TRACKER_TUNING, ...tuning };
  }

  /**
   * Tracks `detections`, the frame at presentation time `t` (seconds), and returns every one of them,
   * in input order: those taken by a confirmed track carry its `trackId` (and, with `boxes`
   * 'filtered', the track's filtered box); the others are returned as they are. This is the tracker's
   * one output: serve, analyze and `mot track` all report it.
   */
  annotate(detections: Detection[], t: number): Detection[] {
    this.step(detections, t);
    const filtered = this.config.boxes === 'filtered';
    return detections.map((det, d) => {
      const track = this.detectionTrack[d];
      // A track removed as a duplicate in this frame no longer reports its detection.
      if (track === undefined || !track.confirmed || track.state === 'removed') return det;
      const b = track.box;
      return { ...det, box: filtered ? [b[0]!, b[1]!, b[2]!, b[3]!] : det.box, trackId: track.id };
    });
  }

  private step(detections: Detection[], t: number): void {
    const { trackThresh, lowThresh, matchThresh } = this.config;
    const { lowMatchThresh, tentativeMatchThresh, recoveryMatchThresh } = this.tuning;
    const dt = this.advanceClock(t);
    this.updates++;
    for (const track of this.tracks) track.predict(dt, this.tuning.noise);
    this.prepareDetections(detections, trackThresh, lowThresh);

    const pool = this.select((track) => track.confirmed);
    const high = this.highDetections;
    this.associate(pool, high, detections, 'fusedIou', matchThresh);
    const trackedLeft = this.select((track) => track.confirmed && track.state === 'tracked' && !this.matchedNow(track));
    this.associate(trackedLeft, this.lowDetections, detections, 'iou', lowMatchThresh);
    const confirmedLeft = this.select((track) => track.confirmed && !this.matchedNow(track));
    this.associate(confirmedLeft, high, detections, 'observedIou', recoveryMatchThresh);
    const tentative = this.select((track) => !track.confirmed);
    this.associate(tentative, high, detections, 'fusedIou', tentativeMatchThresh);
    const seenOnce = this.select((track) => track.observations === 1 && track.lastUpdate === this.updates - 1);
    const gate = this.tuning.displacementGate;
    this.associate(seenOnce, high, detections, 'displacement', Math.min(gate.maxSizes, gate.sizesPerSecond * dt));

    this.advanceLifeCycle();
    this.startTracks(detections, high);
    this.removeDuplicates();
  }

  /** New settings from the next update on; tracks and ids go on. */
  configure(config: TrackerConfig): void {
    this.config = { ...config };
  }

  /** Drops every track. Ids keep counting, so an id is never given to two objects. */
  reset(): void {
    this.tracks = [];
    this.lastPts = undefined;
    this.updates = 0;
  }

  /** Number of live (tentative, tracked or lost) tracks. */
  get liveTracks(): number {
    return this.tracks.length;
  }

  private advanceClock(t: number): number {
    const dt = this.lastPts === undefined ? 0 : Math.max(0, t - this.lastPts);
    this.lastPts = t;
    this.clock += dt;
    if (dt > 0) this.frameStep = dt;
    return dt;
  }

  /** Splits detection indices by score and caches their boxes; marks every detection unmatched. */
  private prepareDetections(detections: Detection[], trackThresh: number, lowThresh: number): void {
    const n = detections.length;
    if (this.detectionBoxes.length < 4 * n) this.detectionBoxes = new Float64Array(8 * n);
    this.highDetections.length = 0;
    this.lowDetections.length = 0;
    this.detectionTrack.length = n;
    for (let d = 0; d < n; d++) {
      const det = detections[d]!;
      this.detectionTrack[d] = undefined;
      this.detectionBoxes.set(det.box, 4 * d);
      if (det.score >= trackThresh) this.highDetections.push(d);
      else if (det.score >= lowThresh) this.lowDetections.push(d);
    }
  }

  private select(keep: (track: Track) => boolean): Track[] {
    const out = this.trackCandidates;
    out.length = 0;
    for (const track of this.tracks) if (keep(track)) out.push(track);
    return out;
  }

  private matchedNow(track: Track): boolean {
    return track.lastUpdate === this.updates;
  }

  /**
   * Optimal assignment of `tracks` to the still-unmatched detections among `candidates` under `cost`;
   * matched tracks take their detection, and matched detection indices are removed from `candidates`.
   */
  private associate(tracks: Track[], candidates: number[], detections: Detection[], cost: Cost, limit: number): void {
    const rows = tracks.length;
    const cols = candidates.length;
    // Costs are >= 0, so a limit <= 0 admits no pair.
    if (rows === 0 || cols === 0 || limit <= 0) return;
    if (this.costs.length < rows * cols) this.costs = new Float64Array(2 * rows * cols);
    if (this.rowToCol.length < rows) this.rowToCol = new Int32Array(2 * rows);
    const costs = this.costs;
    const boxes = this.detectionBoxes;
    const buffer = cost === 'fusedIou' || cost === 'displacement' ? this.tuning.iouBufferRate * this.frameStep : 0;
    const gate = this.tuning.displacementGate;
    for (let r = 0; r < rows; r++) {
      const track = tracks[r]!;
      const trackBox = cost === 'observedIou' ? track.lastObservation : track.box;
      for (let c = 0; c < cols; c++) {
        const d = candidates[c]!;
        const det = detections[d]!;
        let value = Infinity;
        const sameClass = det.class === track.detection.class;
        if (sameClass) {
          const iou = buffer > 0 ? bufferedIou(trackBox, 0, boxes, d, buffer) : boxIou(trackBox, 0, boxes, d);
          if (cost === 'fusedIou') value = 1 - iou * det.score;
          else if (cost !== 'displacement') value = 1 - iou;
          else {
            // Only pairs the overlap steps could not match: too little overlap at any score, or moved
            // far enough that overlap is the wrong measure. Closer pairs were rejected for their score.
            const moved = displacementInSizes(track.lastObservation, det.box, gate.sizeRatio);
            if (1 - iou >= this.tuning.tentativeMatchThresh || moved >= gate.minSizes) value = moved;
          }
        }
        costs[r * cols + c] = value;
      }
    }
    this.solver.solve(costs, rows, cols, this.rowToCol, limit);
    for (let r = 0; r < rows; r++) {
      const c = this.rowToCol[r]!;
      if (c < 0) continue;
      const d = candidates[c]!;
      const track = tracks[r]!;
      const det = detections[d]!;
      if (cost === 'displacement') track.observeMotion(det, this.clock, this.frameStep, this.tuning.noise);
      else {
        const measured = occlusionAwareBox(track.box, det.box, boxes, detections.length, this.tuning.occlusion, this.measurement);
        track.observe(det, measured, this.clock, this.frameStep, this.tuning.noise, this.tuning.reupdateGaps);
      }
      this.detectionTrack[d] = track;
      track.lastUpdate = this.updates;
      if (!track.confirmed) track.id = this.nextId++;
    }
    let kept = 0;
    for (let c = 0; c < cols; c++) {
      const d = candidates[c]!;
      if (this.detectionTrack[d] === undefined) candidates[kept++] = d;
    }
    candidates.length = kept;
  }

  /** Unmatched tracked -> lost; unmatched tentative -> removed; lost for too long -> removed. */
  private advanceLifeCycle(): void {
    const survivors = this.unmatchedTracks;
    survivors.length = 0;
    for (const track of this.tracks) {
      if (!this.matchedNow(track)) {
        if (!track.confirmed) track.state = 'removed';
        else if (this.clock - track.lastSeenTime > this.lostLifetime(track)) track.state = 'removed';
        else track.state = 'lost';
      }
      if (track.state !== 'removed') survivors.push(track);
    }
    this.tracks.length = 0;
    for (const track of survivors) this.tracks.push(track);
  }

  /** Seconds a lost track is kept: lostTrackSeconds, or less for a track observed only briefly. */
  private lostLifetime(track: Track): number {
    const ratio = this.tuning.lostObservedRatio;
    const max = this.config.lostTrackSeconds;
    return ratio > 0 ? Math.min(max, ratio * track.observedSeconds) : max;
  }

  private startTracks(detections: Detection[], unmatchedHigh: number[]): void {
    for (const d of unmatchedHigh) {
      const det = detections[d]!;
      if (det.score < this.config.newTrackThresh) continue;
      const track = new Track(det, this.clock, this.tuning.noise);
      // Objects present in the very first frame are confirmed at once (as ByteTrack): there is no
      // earlier frame that could have confirmed them.
      if (this.updates === 1) {
        track.state = 'tracked';
        track.id = this.nextId++;
      }
      track.lastUpdate = this.updates;
      this.detectionTrack[d] = track;
      this.tracks.push(track);
    }
  }

  /** A tracked and a lost track on the same spot are one object: keep the one followed for longer. */
  private removeDuplicates(): void {
    const limit = this.tuning.duplicateIou;
    let removed = false;
    for (const a of this.tracks) {
      if (a.state !== 'tracked' || !a.confirmed) continue;
      for (const b of this.tracks) {
        if (b.state !== 'lost') continue;
        if (boxIou(a.box, 0, b.box, 0) <= limit) continue;
        const younger = this.clock - a.startTime > this.clock - b.startTime ? b : a;
        younger.state = 'removed';
        removed = true;
      }
    }
    if (removed) this.tracks = this.tracks.filter((track) => track.state !== 'removed');
  }

}
