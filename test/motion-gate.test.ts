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

  it('calls an object missing from the last run lost, not moving, though it moved within MOVING_SECONDS', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    gate.observe(seen(0, [[1, [100, 100, 140, 140]]]));
    gate.observe(seen(1 / FPS, [[1, [120, 100, 160, 140]]]));
    gate.observe(seen(2 / FPS, []));
    expect(gate.decide('still', 3 / FPS)).toEqual({ run: true, reason: 'lost' });
  });

  it('keeps no state for detections without a track id', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    gate.observe({ pts: 0, ...SIZE, detections: [{ box: [100, 100, 140, 140] }] });
    gate.observe(seen(0.5, []));
    expect(gate.decide('still', 0.6)).toEqual({ run: false, reason: 'still' });
  });

  it('treats each border within EDGE_MARGIN of the frame, inclusive, as the edge', () => {
    const mx = EDGE_MARGIN * SIZE.width;
    const my = EDGE_MARGIN * SIZE.height;
    const { width: w, height: h } = SIZE;
    const boxes: Box[] = [[mx, 200, mx + 40, 240], [300, my, 340, my + 40], [w - mx - 40, 200, w - mx, 240], [300, h - my - 40, 340, h - my]];
    for (const box of boxes) {
      const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
      gate.observe(seen(0, [[1, box]]));
      gate.observe(seen(1, []));
      expect(gate.decide('still', 1.5), `at the edge: ${box.join(', ')}`).toEqual({ run: false, reason: 'still' });
    }
    // Half a margin further in on each side (at the top and bottom the margin is 2 % of the height,
    // less than 2 % of the width): inside, so lost when missing.
    const inside: Box[] = [[mx + 0.5, 200, mx + 40, 240], [300, my + 0.5, 340, my + 40], [w - mx - 40, 200, w - mx - 0.5, 240], [300, h - my - 40, 340, h - my - 0.5]];
    for (const box of inside) {
      const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
      gate.observe(seen(0, [[1, box]]));
      gate.observe(seen(1, []));
      expect(gate.decide('still', 1.5), `inside: ${box.join(', ')}`).toEqual({ run: true, reason: 'lost' });
    }
  });

  it('holds its time bounds exactly (with the slack for sums of frame intervals)', () => {
    const epsilon = 1e-6;
    // Moving: until MOVING_SECONDS after the move, less the slack.
    const moving = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    moving.observe(seen(0, [[1, [100, 100, 140, 140]]]));
    expect(moving.decide('still', MOVING_SECONDS - epsilon - 1e-9)).toEqual({ run: true, reason: 'moving' });
    expect(moving.decide('still', MOVING_SECONDS - epsilon)).toEqual({ run: false, reason: 'still' });
    // Lost: up to lostSeconds after it was last seen, plus the slack.
    const lost = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    lost.observe(seen(0, [[1, [300, 200, 340, 240]]]));
    lost.observe(seen(1, []));
    expect(lost.decide('still', 2 + epsilon)).toEqual({ run: true, reason: 'lost' });
    // Keyframe: from keyframeSeconds after the last run, less the slack; not at the same time again.
    const key = new MotionGate({ keyframeSeconds: 2, lostSeconds: 2 });
    key.observe(seen(0, []));
    expect(key.decide('still', 0)).toEqual({ run: false, reason: 'still' });
    expect(key.decide('still', 2 - epsilon - 1e-9)).toEqual({ run: false, reason: 'still' });
    expect(key.decide('still', 2 - epsilon)).toEqual({ run: true, reason: 'keyframe' });
  });

  it('forgets an object lostSeconds (plus the slack) after it was last seen: back at its spot later, it is new and moving', () => {
    const spot: Box = [300, 200, 340, 240];
    const back = (gone: number): GateDecision => {
      const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 1 });
      gate.observe(seen(0, [[1, spot]]));
      gate.observe(seen(gone, []));
      gate.observe(seen(gone + 0.5, [[1, spot]]));
      return gate.decide('still', gone + 0.6);
    };
    // Kept through a run exactly lostSeconds + slack later: back at its spot, it has not moved since t 0.
    expect(back(1 + 1e-6)).toEqual({ run: false, reason: 'still' });
    // Forgotten by a run after that: back at its spot, it is a new object, which counts as moving.
    expect(back(1.1)).toEqual({ run: true, reason: 'moving' });
  });

  it('calls an object moved at IoU exactly MOVED_IOU with its spot still', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 2 });
    // 90 x 40 shifted by 10: intersection 80 x 40 over union 100 x 40, IoU 0.8.
    const ds = play(gate, ['start', ...still(29)], (f) => [[1, f < 1 ? [100, 100, 190, 140] : [110, 100, 200, 140]]]);
    expect(ran(ds)).toEqual(Array.from({ length: MOVING_SECONDS * FPS }, (_, f) => f));
  });

  it('takes new settings without forgetting', () => {
    const gate = new MotionGate({ keyframeSeconds: 10, lostSeconds: 1 });
    gate.observe(seen(0, []));
    expect(gate.decide('still', 3).run).toBe(false);
    gate.configure({ keyframeSeconds: 2, lostSeconds: 1 });
    expect(gate.decide('still', 3)).toEqual({ run: true, reason: 'keyframe' });
  });
});
