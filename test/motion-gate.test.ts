/** The gating rules (src/motion/gate.ts): when the detector runs on a frame and when it does not. */
import { describe, expect, it } from 'vitest';
import { EDGE_MARGIN, MotionGate, MOVED_IOU, MOVING_SECONDS, type GateDecision, type GateObservation } from '../src/motion/gate.js';
import type { MotionKind } from '../src/motion/estimate.js';
import type { Box } from '../src/types.js';

const FPS = 15;
const SIZE = { width: 640, height: 480 };

/** A result the gate takes after a frame at `t`: the detector ran on it unless `skipped`. */
function seen(t: number, objects: Array<[id: number, box: Box]>, skipped = false): GateObservation {
  return { pts: t, ...SIZE, ...(skipped ? { inferred: false } : {}), detections: objects.map(([trackId, box]) => ({ box, trackId })) };
}

/**
 * Plays frames at 15 fps like the motion stage: decide, then observe the frame's result (the
 * detector's boxes from `objects` where it ran, the previous boxes carried where it did not).
 */
function play(gate: MotionGate, kinds: MotionKind[], objects: (f: number) => Array<[number, Box]> = () => [], t0 = 0): GateDecision[] {
  let carried: Array<[number, Box]> = [];
  return kinds.map((kind, f) => {
    const t = t0 + f / FPS;
    const d = gate.decide(kind, t);
    if (d.run) carried = objects(f);
    gate.observe(seen(t, carried, !d.run));
    return d;
  });
}

const still = (n: number): MotionKind[] => Array.from({ length: n }, () => 'still');
const ran = (ds: GateDecision[]): number[] => ds.flatMap((d, f) => (d.run ? [f] : []));

describe('motion gating rules', () => {
  it('runs on the first frame, then exactly every keyframe interval on still frames', () => {
    const gate = new MotionGate({ keyframeSeconds: 2, lostSeconds: 2 });
    const ds = play(gate, ['start', ...still(99)]);
    // 2 s at 15 fps = 30 frames; stream times add up inexactly (30 / 15 is not exactly 2 in sums of 1/15).
    expect(ran(ds)).toEqual([0, 30, 60, 90]);
    expect(ds[0]).toEqual({ run: true, reason: 'start' });
    expect(ds[30]).toEqual({ run: true, reason: 'keyframe' });
    expect(ds[1]).toEqual({ run: false, reason: 'still' });
  });

  it('gives the estimate as the reason for a skip, and runs every motion frame', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    const ds = play(gate, ['start', 'small', 'light', 'motion', 'motion', 'still']);
    expect(ds.map((d) => `${d.run ? 'run' : 'skip'}:${d.reason}`)).toEqual(['run:start', 'skip:small', 'skip:light', 'run:motion', 'run:motion', 'skip:still']);
    expect(MotionGate.immediate('motion')).toEqual({ run: true, reason: 'motion' });
    expect(MotionGate.immediate('still')).toBeUndefined();
  });

  it('with keyframeSeconds 0 runs on every frame', () => {
    const gate = new MotionGate({ keyframeSeconds: 0, lostSeconds: 2 });
    expect(ran(play(gate, ['start', ...still(9)]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('counts only frames the detector ran on toward the keyframe interval', () => {
    const gate = new MotionGate({ keyframeSeconds: 1, lostSeconds: 2 });
    gate.observe(seen(0, []));
    // Skipped frames (inferred false) after it do not restart the interval.
    for (let f = 1; f < 15; f++) gate.observe(seen(f / FPS, [], true));
    expect(gate.decide('still', 14 / FPS).run).toBe(false);
    expect(gate.decide('still', 15 / FPS)).toEqual({ run: true, reason: 'keyframe' });
  });

  it('keeps running while a tracked object moves and for MOVING_SECONDS after it stopped', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    // A 40 px object moving 10 px per frame for 20 frames (IoU between frames 0.6 < MOVED_IOU), then standing.
    const at = (f: number): Box => [100 + 10 * Math.min(f, 20), 100, 140 + 10 * Math.min(f, 20), 140];
    const ds = play(gate, ['start', ...still(59)], (f) => [[1, at(f)]]);
    const stopped = 20;
    const until = stopped + Math.round(MOVING_SECONDS * FPS);
    expect(ran(ds)).toEqual(Array.from({ length: until }, (_, f) => f));
    expect(ds[5]).toEqual({ run: true, reason: 'moving' });
    expect(ds[until]).toEqual({ run: false, reason: 'still' });
  });

  it('calls an object that shifts by less than MOVED_IOU still', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    // 1 px of jitter on a 40 px box: IoU about 0.95.
    const ds = play(gate, ['start', ...still(59)], (f) => [[1, [100 + (f % 2), 100, 140 + (f % 2), 140]]]);
    expect(1 - 2 / 41).toBeGreaterThan(MOVED_IOU);
    // New objects count as having just moved: the detector follows them for MOVING_SECONDS, then rests.
    expect(ran(ds)).toEqual(Array.from({ length: MOVING_SECONDS * FPS }, (_, f) => f));
  });

  it('runs for up to lostSeconds after a tracked object goes missing inside the frame', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    gate.observe(seen(0, [[7, [300, 200, 340, 240]]]));
    gate.observe(seen(2, [[7, [300, 200, 340, 240]]]));
    // The next run does not see it.
    gate.observe(seen(3, []));
    expect(gate.decide('still', 3.5)).toEqual({ run: true, reason: 'lost' });
    expect(gate.decide('still', 4)).toEqual({ run: true, reason: 'lost' });
    // lostSeconds after it was last seen (t 2), it is given up.
    expect(gate.decide('still', 4.01)).toEqual({ run: false, reason: 'still' });
  });

  it('does not look for an object last seen at the edge of the frame (it left)', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    const margin = EDGE_MARGIN * SIZE.width;
    gate.observe(seen(0, [[1, [SIZE.width - 30, 200, SIZE.width - margin + 0.5, 240]], [2, [margin + 1, 100, 60, 140]]]));
    gate.observe(seen(1, [[1, [SIZE.width - 30, 200, SIZE.width - margin + 0.5, 240]], [2, [margin + 1, 100, 60, 140]]]));
    gate.observe(seen(1.5, []));
    // 1 was at the right edge: gone. 2 was inside (just): lost.
    expect(gate.decide('still', 2)).toEqual({ run: true, reason: 'lost' });
    gate.observe(seen(2, [[2, [margin + 1, 100, 60, 140]]]));
    expect(gate.decide('still', 2.5)).toEqual({ run: false, reason: 'still' });
  });

  it('forgets objects gone longer than lostSeconds, and everything on reset', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 1 });
    gate.observe(seen(0, [[1, [300, 200, 340, 240]]]));
    gate.observe(seen(0.5, []));
    expect(gate.decide('still', 1)).toEqual({ run: true, reason: 'lost' });
    gate.observe(seen(1.6, []));
    expect(gate.decide('still', 1.7)).toEqual({ run: false, reason: 'still' });
    gate.reset();
    expect(gate.decide('still', 1.8)).toEqual({ run: true, reason: 'keyframe' });
  });

  it('runs a keyframe when stream time goes back', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 1 });
    gate.observe(seen(50, []));
    expect(gate.decide('still', 51).run).toBe(false);
    expect(gate.decide('still', 1)).toEqual({ run: true, reason: 'keyframe' });
  });

  it('takes new settings without forgetting', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 1 });
    gate.observe(seen(0, []));
    expect(gate.decide('still', 3).run).toBe(false);
    gate.configure({ keyframeSeconds: 2, lostSeconds: 1 });
    expect(gate.decide('still', 3)).toEqual({ run: true, reason: 'keyframe' });
  });
});
