/**
 * The line rule for one track and one line: which side the track is on, and when a change of side
 * is a crossing.
 *
 * A track's side changes only after its anchor has been more than the hysteresis margin beyond
 * the line, on the other side, for `minFrames` consecutive observed frames (a frame inside the
 * margin band, or back on the old side, starts the count again). The change is a crossing
 * when the move from the last anchor clearly on the old side to the first anchor clearly on the
 * new side passes through the segment (not its extension); `in` is from side −1 to side +1. A
 * track's first side (or its first after a discontinuity) is not a crossing.
 */
import type { ResolvedLine } from './config.js';
import type { Point } from '../geometry/plane.js';
import { crossingPosition, signedDistance } from '../geometry/plane.js';

export type Side = -1 | 0 | 1;

export interface LineTrackState {
  /** Confirmed side; 0 while unknown. */
  side: Side;
  /** Anchor of the last frame the track was clearly on `side`. */
  lastClear: Point | undefined;
  /** The run of frames clearly on the other side: which side, how many frames, first anchor. */
  runSide: Side;
  runFrames: number;
  runStart: Point | undefined;
}

export function newLineState(): LineTrackState {
  return { side: 0, lastClear: undefined, runSide: 0, runFrames: 0, runStart: undefined };
}

/** Frames counted toward a change are forgotten (a new owner of the state, a discontinuity). */
export function clearRun(s: LineTrackState): void {
  s.runSide = 0;
  s.runFrames = 0;
  s.runStart = undefined;
}

/**
 * One observation of the track's anchor; `margin` is the dead band's half width in pixels.
 * Returns the direction when this frame completes a crossing.
 */
export function stepLine(s: LineTrackState, line: ResolvedLine, anchor: Point, margin: number): 'in' | 'out' | undefined {
  const d = signedDistance(line.from, line.to, anchor);
  const clear: Side = d > margin ? 1 : d < -margin ? -1 : 0;
  if (clear === 0) {
    clearRun(s);
    return undefined;
  }
  if (clear === s.side) {
    s.lastClear = anchor;
    clearRun(s);
    return undefined;
  }
  if (s.runSide === clear) s.runFrames++;
  else {
    s.runSide = clear;
    s.runFrames = 1;
    s.runStart = anchor;
  }
  if (s.runFrames < line.minFrames) return undefined;
  const previous = s.side;
  const before = s.lastClear;
  const after = s.runStart!;
  s.side = clear;
  s.lastClear = anchor;
  clearRun(s);
  if (previous === 0 || !before) return undefined;
  const t = crossingPosition(line.from, line.to, before, after);
  if (t === undefined || t < 0 || t > 1) return undefined;
  return clear > 0 ? 'in' : 'out';
}
