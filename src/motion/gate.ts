/**
 * Motion gating rules (pure): whether the detector runs on a frame. It runs
 *  - on the first frame (no background yet) and whenever the frame has motion;
 *  - while a tracked object moved lately (its box left the spot it stood on within MOVING_SECONDS):
 *    a slow or low-contrast object that the motion estimate misses is still followed;
 *  - while a tracked object was just lost inside the frame (missing from the last detector run,
 *    for up to `lostSeconds`, the tracker's lostTrackSeconds): it is looked for again at once. One
 *    last seen at the frame's edge has left, and leaving is motion anyway;
 *  - at least every `keyframeSeconds`, so an object that appears or stops without motion (behind
 *    a change of light, too small for minArea) is still seen.
 * Otherwise it does not, and the reason is the motion estimate's: still, small or light.
 *
 * What the gate knows of earlier frames comes from their results, taken in frame order
 * (`observe`): detector runs and the tracked objects' boxes. Results are the same whatever the
 * timing, so a decision is too.
 */
import { boxIou } from '../geometry/iou.js';
import type { Box, Detection, MotionRunReason, MotionSkipReason } from '../types.js';
import type { MotionKind } from './estimate.js';

export interface GateSettings {
  /** The detector runs at least this often, seconds of stream time. */
  keyframeSeconds: number;
  /** How long a tracked object that disappeared keeps the detector running, seconds. */
  lostSeconds: number;
}

/** A tracked box whose IoU with the spot its object stood on falls below this has moved. */
export const MOVED_IOU = 0.8;
/** How long after it last moved an object keeps the detector running, seconds. */
export const MOVING_SECONDS = 1;

export type GateDecision = { run: true; reason: MotionRunReason } | { run: false; reason: MotionSkipReason };

/** A box this close to a border (a fraction of the frame's side) is at the frame's edge. */
export const EDGE_MARGIN = 0.02;

/** What a result tells the gate. */
export type GateObservation = { pts: number; width: number; height: number; inferred?: boolean; detections: readonly Pick<Detection, 'box' | 'trackId'>[] };

interface TrackedObject {
  /** Where it stood since it last moved. */
  spot: Box;
  movedAt: number;
  seenAt: number;
  /** Last seen at the frame's edge: when it goes missing, it has left. */
  atEdge: boolean;
}

/** Slack for stream times that are sums of frame intervals (1/15 s does not add up exactly). */
const EPSILON = 1e-6;

export class MotionGate {
  private lastRun: number | undefined;
  private readonly objects = new Map<number, TrackedObject>();

  constructor(private settings: GateSettings) {}

  configure(settings: GateSettings): void {
    this.settings = settings;
  }

  /** Forgets earlier frames: the next decision is a keyframe unless it has motion. */
  reset(): void {
    this.lastRun = undefined;
    this.objects.clear();
  }

  /** Decisions that need nothing from earlier results: the first frame and frames with motion run. */
  static immediate(kind: MotionKind): GateDecision | undefined {
    return kind === 'start' || kind === 'motion' ? { run: true, reason: kind } : undefined;
  }

  /** Whether the detector runs on the frame at `pts` whose estimate is `kind`, given every earlier result. */
  decide(kind: MotionKind, pts: number): GateDecision {
    const now = MotionGate.immediate(kind);
    if (now) return now;
    if (this.lastRun !== undefined) {
      for (const o of this.objects.values()) {
        if (o.seenAt === this.lastRun && pts - o.movedAt < MOVING_SECONDS - EPSILON) return { run: true, reason: 'moving' };
      }
      for (const o of this.objects.values()) {
        if (o.seenAt < this.lastRun && !o.atEdge && pts - o.seenAt <= this.settings.lostSeconds + EPSILON) return { run: true, reason: 'lost' };
      }
    }
    // A stream time that went back (a source that restarted its clock) is a keyframe too.
    if (this.lastRun === undefined || pts < this.lastRun || pts - this.lastRun >= this.settings.keyframeSeconds - EPSILON) return { run: true, reason: 'keyframe' };
    return { run: false, reason: kind as MotionSkipReason };
  }

  /** Takes an earlier frame's result, in frame order. Frames the detector skipped tell nothing new. */
  observe(result: GateObservation): void {
    if (result.inferred === false) return;
    const t = result.pts;
    this.lastRun = t;
    const mx = EDGE_MARGIN * result.width;
    const my = EDGE_MARGIN * result.height;
    for (const d of result.detections) {
      if (d.trackId === undefined) continue;
      const [x1, y1, x2, y2] = d.box;
      const atEdge = x1 <= mx || y1 <= my || x2 >= result.width - mx || y2 >= result.height - my;
      const o = this.objects.get(d.trackId);
      if (!o) {
        this.objects.set(d.trackId, { spot: [...d.box], movedAt: t, seenAt: t, atEdge });
        continue;
      }
      if (boxIou(d.box, 0, o.spot, 0) < MOVED_IOU) {
        o.spot = [...d.box];
        o.movedAt = t;
      }
      o.seenAt = t;
      o.atEdge = atEdge;
    }
    for (const [id, o] of this.objects) if (t - o.seenAt > this.settings.lostSeconds + EPSILON) this.objects.delete(id);
  }
}
