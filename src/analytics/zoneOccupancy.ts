/**
 * The zone rule for one track and one zone: when the track enters, leaves, and loiters.
 *
 * Inside means the anchor is in the polygon (edges included). A track enters after `minFrames`
 * consecutive observed frames inside; it leaves after `minFrames` consecutive observed frames
 * outside and more than the hysteresis margin away from the polygon's edge (frames in that band
 * keep it inside). A visit starts at the first frame of the run that confirmed the entry and ends
 * at the first frame of the run that confirmed the exit; times are stream seconds. One zone_loiter
 * per visit, once its dwell reaches `loiterSeconds`.
 */
import type { ResolvedZone } from './config.js';
import type { Point } from '../geometry/plane.js';
import { distanceToBoundary, pointInPolygon } from '../geometry/plane.js';

export interface ZoneTrackState {
  inside: boolean;
  /** Consecutive frames showing the other state, and the stream time of the first of them. */
  runFrames: number;
  runStart: number;
  /** Stream time the current (or last) visit started and ended. */
  enteredAt: number;
  exitedAt: number;
  loitered: boolean;
  /** The label the visit is counted under in the zone's occupancy. */
  label: string;
}

export function newZoneState(): ZoneTrackState {
  return { inside: false, runFrames: 0, runStart: 0, enteredAt: 0, exitedAt: 0, loitered: false, label: '' };
}

function isInside(zone: ResolvedZone, p: Point): boolean {
  const [x1, y1, x2, y2] = zone.bounds;
  return p[0] >= x1 && p[0] <= x2 && p[1] >= y1 && p[1] <= y2 && pointInPolygon(zone.polygon, p);
}

function isClearlyOutside(zone: ResolvedZone, p: Point, margin: number): boolean {
  const [x1, y1, x2, y2] = zone.bounds;
  if (p[0] < x1 - margin || p[0] > x2 + margin || p[1] < y1 - margin || p[1] > y2 + margin) return true;
  return !pointInPolygon(zone.polygon, p) && distanceToBoundary(zone.polygon, p) > margin;
}

/**
 * One observation at stream time `t`; `margin` is the band outside the edge, in pixels.
 * Returns `enter` or `exit` when this frame completes one (a new visit is counted under `label`).
 */
export function stepZone(s: ZoneTrackState, zone: ResolvedZone, anchor: Point, margin: number, t: number, label: string): 'enter' | 'exit' | undefined {
  const towardChange = s.inside ? isClearlyOutside(zone, anchor, margin) : isInside(zone, anchor);
  if (!towardChange) {
    s.runFrames = 0;
    return undefined;
  }
  if (s.runFrames === 0) s.runStart = t;
  s.runFrames++;
  if (s.runFrames < zone.minFrames) return undefined;
  s.runFrames = 0;
  s.inside = !s.inside;
  if (s.inside) {
    s.enteredAt = s.runStart;
    s.loitered = false;
    s.label = label;
    return 'enter';
  }
  s.exitedAt = s.runStart;
  return 'exit';
}

/** Pts are decimal fractions in binary floating point: a dwell within this of the limit has reached it. */
const TIME_EPSILON = 1e-6;

/** True once per visit, on the first frame its dwell reaches the zone's loiterSeconds. */
export function loiterDue(s: ZoneTrackState, zone: ResolvedZone, t: number): boolean {
  if (!s.inside || s.loitered || zone.loiterSeconds === undefined) return false;
  if (t - s.enteredAt + TIME_EPSILON < zone.loiterSeconds) return false;
  s.loitered = true;
  return true;
}
