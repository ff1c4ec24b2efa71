import { describe, expect, it } from 'vitest';
import { AssignmentSolver, solveAssignment } from '../src/track/assignment.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { ByteTracker, DEFAULT_TRACKER_TUNING } from '../src/track/byteTracker.js';
import { boxIou, bufferedIou, iouMatrix } from '../src/geometry/iou.js';
import { DEFAULT_KALMAN_NOISE, boxToXyah, kalmanInitiate, kalmanPredict, kalmanUpdate, xyahToBox, type KalmanNoise } from '../src/track/kalman.js';
import { DEFAULT_OCCLUSION_OPTIONS, coversSide, occlusionAwareBox, type OcclusionOptions } from '../src/track/occlusion.js';
import type { Box, Detection, TrackerConfig } from '../src/types.js';

describe('iou', () => {
  it('computes exact overlaps', () => {
    const a = [0, 0, 10, 10, 0, 0, 2, 2];
    const b = [5, 0, 15, 10, 20, 20, 30, 30, 0, 0, 10, 10];
    const m = iouMatrix(a, 2, b, 3);
    // 50 / (100 + 100 - 50); disjoint; identical; 2x2 inside 10x10 = 4 / 100; 5..15 misses 0..2.
    expect(Array.from(m)).toEqual([50 / 150, 0, 1, 0, 0, 4 / 100]);
    expect(boxIou([0, 0, 4, 2], 0, [2, 1, 6, 5], 0)).toBe(2 / (8 + 16 - 2));
    expect(boxIou([0, 0, 10, 10], 0, [10, 0, 20, 10], 0)).toBe(0); // touching edges
    expect(boxIou([5, 5, 5, 9], 0, [0, 0, 10, 10], 0)).toBe(0); // zero-width box
    // Overlapping in x, apart in y: no overlap (not a negative one).
    expect(boxIou([0, 0, 10, 10], 0, [0, 20, 10, 30], 0)).toBe(0);
  });

  it('counts a box of at most machine epsilon area as empty, in either place (TrackEval guard)', () => {
    const unit = [0, 0, 1, 1];
    const side = 2 ** -26; // side * side === Number.EPSILON
    const tiny = [0.5, 0.5, 0.5 + side, 0.5 + side];
    expect(boxIou(tiny, 0, unit, 0)).toBe(0);
    expect(boxIou(unit, 0, tiny, 0)).toBe(0);
    // Twice as wide: 2^-51 > epsilon, an ordinary box inside the unit square.
    const small = [0.5, 0.5, 0.5 + 2 * side, 0.5 + side];
    expect(boxIou(small, 0, unit, 0)).toBe(2 ** -51);
    expect(boxIou(unit, 0, small, 0)).toBe(2 ** -51);
  });

  it('iouMatrix writes its aCount x bCount cells and nothing past them in a larger buffer', () => {
    const out = new Float64Array(9).fill(-1);
    iouMatrix([0, 0, 10, 10, 0, 0, 5, 10], 2, [0, 0, 10, 10, 5, 0, 10, 10], 2, out);
    expect(Array.from(out)).toEqual([1, 0.5, 0.5, 0, -1, -1, -1, -1, -1]);
  });

  it('buffers both boxes by a fraction of their own size (C-BIoU)', () => {
    const a = [0, 0, 10, 10];
    const b = [12, 0, 22, 10];
    expect(bufferedIou(a, 0, b, 0, 0)).toBe(0);
    expect(bufferedIou(a, 0, b, 0, 0.1)).toBe(0); // [-1,-1,11,11] and [11,-1,23,11] touch
    // [-2,-2,12,12] and [10,-2,24,12]: 2 x 14 = 28 over 196 + 196 - 28 = 364.
    expect(bufferedIou(a, 0, b, 0, 0.2)).toBeCloseTo(28 / 364, 12);
    // Each box by its own size: [0,0,4,2] -> [-1,-0.5,5,2.5] (18); [4,0,6,2] -> [3.5,-0.5,6.5,2.5] (9); 1.5 x 3 = 4.5 shared.
    expect(bufferedIou([0, 0, 4, 2], 0, [4, 0, 6, 2], 0, 0.25)).toBeCloseTo(4.5 / (18 + 9 - 4.5), 12);
    // Heights differ and the boxes are offset in y: [0,1,4,3] -> [-1,0.5,5,3.5] (18); [2,2,6,6] ->
    // [1,1,7,7] (36); 4 x 2.5 = 10 shared.
    expect(bufferedIou([0, 1, 4, 3], 0, [2, 2, 6, 6], 0, 0.25)).toBeCloseTo(10 / (18 + 36 - 10), 12);
  });
});

describe('kalman', () => {
  // Round numbers: with h = 10 every std below is 1 (variance 1), except the initial velocity (2).
  const noise: KalmanNoise = {
    measurementPosition: 0.1,
    measurementAspect: 0.1,
    processPosition: 0.1,
    processVelocity: 0.1,
    processAspect: 0.1,
    processAspectVelocity: 0.1,
    initialPosition: 0.1,
    initialAspect: 0.1,
    initialVelocity: 0.2,
    initialAspectVelocity: 0.1,
  };

  it('initiates, predicts over dt and updates as computed by hand', () => {
    const mean = new Float64Array(8);
    const cov = new Float64Array(12);
    kalmanInitiate([100, 50, 0.5, 10], mean, cov, noise);
    expect(Array.from(mean)).toEqual([100, 50, 0.5, 10, 0, 0, 0, 0]);
    expect(Array.from(cov.subarray(0, 3))).toEqual([1, 0, 4]);
    expect(cov[9]).toBeCloseTo(1, 12); // height variance (0.1 * 10)^2
    expect(cov[11]).toBeCloseTo(4, 12);

    mean[4] = 2; // moving right at 2 px/s
    kalmanPredict(mean, cov, 1, noise);
    expect(mean[0]).toBe(102);
    // pp = 1 + 2*1*0 + 1*4 + qp*1 + qv/3 = 19/3; pv = 0 + 4 + qv/2 = 4.5; vv = 4 + qv = 5
    expect(cov[0]).toBeCloseTo(19 / 3, 12);
    expect(cov[1]).toBeCloseTo(4.5, 12);
    expect(cov[2]).toBeCloseTo(5, 12);

    kalmanUpdate(mean, cov, [113, 50, 0.5, 10], noise);
    // S = 19/3 + 1 = 22/3; gains 19/22 and 27/44; innovation 11.
    expect(mean[0]).toBeCloseTo(102 + (19 / 22) * 11, 12);
    expect(mean[4]).toBeCloseTo(2 + (27 / 44) * 11, 12);
    expect(cov[0]).toBeCloseTo(19 / 22, 12);
    expect(cov[1]).toBeCloseTo(13.5 / 22, 12);
    expect(cov[2]).toBeCloseTo(5 - (27 / 44) * 4.5, 12);
  });

  it('with the default noise, a second measurement at once moves the position 4/5 of the way (ByteTrack: 2/20 against 1/20 of the height)', () => {
    const mean = new Float64Array(8);
    const cov = new Float64Array(12);
    kalmanInitiate([50, 50, 0.5, 100], mean, cov, DEFAULT_KALMAN_NOISE);
    // Position variances (0.1 h)^2 = 100 and (0.05 h)^2 = 25: gain 100 / 125.
    kalmanUpdate(mean, cov, [60, 50, 0.5, 100], DEFAULT_KALMAN_NOISE);
    expect(mean[0]).toBeCloseTo(58, 9);
  });

  it('keeps the aspect ratio apart: its own noise in initiate, predict and update', () => {
    const mean = new Float64Array(8).fill(7); // leftovers: initiate resets the velocities too
    const cov = new Float64Array(12);
    kalmanInitiate([100, 50, 0.5, 10], mean, cov, noise);
    expect(Array.from(mean)).toEqual([100, 50, 0.5, 10, 0, 0, 0, 0]);
    // Aspect block (cov[6..8]): initialAspect 0.1 and initialAspectVelocity 0.1, not scaled by h.
    expect(cov[6]).toBeCloseTo(0.01, 12);
    expect(cov[8]).toBeCloseTo(0.01, 12);
    expect(cov[3]).toBeCloseTo(1, 12); // y position: 0.1 x h
    kalmanUpdate(mean, cov, [100, 50, 0.6, 10], noise);
    // Aspect measurement noise 0.1^2 = 0.01: gain 0.01 / 0.02 = 0.5.
    expect(mean[2]).toBeCloseTo(0.55, 12);
    expect(cov[6]).toBeCloseTo(0.005, 12);
    // Time never runs backwards: a negative step changes nothing.
    const before = [Array.from(mean), Array.from(cov)];
    kalmanPredict(mean, cov, -1, noise);
    expect([Array.from(mean), Array.from(cov)]).toEqual(before);
  });

  it('converts boxes to centre, aspect and height; a box without height has aspect 0', () => {
    expect(Array.from(boxToXyah(10, 20, 50, 120, new Float64Array(4)))).toEqual([30, 70, 0.4, 100]);
    expect(Array.from(boxToXyah(10, 20, 50, 20, new Float64Array(4)))).toEqual([30, 20, 0, 0]);
  });

  it('predicting once over dt equals predicting n times over dt / n', () => {
    const once = { mean: new Float64Array(8), cov: new Float64Array(12) };
    const steps = { mean: new Float64Array(8), cov: new Float64Array(12) };
    for (const s of [once, steps]) {
      kalmanInitiate([300, 200, 0.4, 120], s.mean, s.cov);
      s.mean[4] = 60;
      s.mean[5] = -20;
    }
    kalmanPredict(once.mean, once.cov, 0.6);
    for (let k = 0; k < 6; k++) kalmanPredict(steps.mean, steps.cov, 0.1);
    for (let k = 0; k < 8; k++) expect(steps.mean[k]).toBeCloseTo(once.mean[k]!, 9);
    for (let k = 0; k < 12; k++) expect(steps.cov[k]! / once.cov[k]!).toBeCloseTo(1, 9);
  });
});

/** Deterministic uniform [0, 1) (Park-Miller). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

/** Minimum over all matchings of sum(cost - limit) (only pairs below the limit); plain assignment when limit is Infinity. */
function bruteForce(cost: number[], rows: number, cols: number, limit: number): number {
  let best = Infinity;
  const used = new Array<boolean>(cols).fill(false);
  const full = limit === Infinity;
  const visit = (r: number, matched: number, total: number): void => {
    if (r === rows) {
      if (!full || matched === Math.min(rows, cols)) best = Math.min(best, total);
      return;
    }
    visit(r + 1, matched, total);
    for (let c = 0; c < cols; c++) {
      const v = cost[r * cols + c]!;
      if (used[c] || !(v < limit)) continue;
      used[c] = true;
      visit(r + 1, matched + 1, total + (full ? v : v - limit));
      used[c] = false;
    }
  };
  visit(0, 0, 0);
  return best;
}

describe('assignment', () => {
  it('matches brute force on random matrices, with and without a cost limit', () => {
    const random = seeded(42);
    const solver = new AssignmentSolver();
    for (let trial = 0; trial < 600; trial++) {
      const rows = 1 + Math.floor(random() * 5);
      const cols = 1 + Math.floor(random() * 5);
      const limit = trial % 2 === 0 ? Infinity : 0.2 + random() * 0.7;
      // Some exact ties, some forbidden pairs.
      const cost = Array.from({ length: rows * cols }, () => {
        const v = random();
        return limit !== Infinity && v > 0.9 ? Infinity : Math.round(v * 20) / 20;
      });
      const rowToCol = new Int32Array(rows);
      const assigned = solver.solve(cost, rows, cols, rowToCol, limit);
      const seen = new Set<number>();
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const c = rowToCol[r]!;
        if (c < 0) continue;
        expect(seen.has(c)).toBe(false);
        seen.add(c);
        const v = cost[r * cols + c]!;
        expect(v).toBeLessThan(limit); // never at or above the limit
        total += limit === Infinity ? v : v - limit;
      }
      expect(seen.size).toBe(assigned);
      if (limit === Infinity) expect(assigned).toBe(Math.min(rows, cols));
      expect(total).toBeCloseTo(bruteForce(cost, rows, cols, limit), 9);
    }
  });

  it('grows its buffers when a later problem has more columns (or rows) than any before', () => {
    const solver = new AssignmentSolver();
    const out = new Int32Array(4);
    expect(solver.solve([0.5], 1, 1, out)).toBe(1);
    expect(solver.solve([0.9, 0.8, 0.1, 0.7], 1, 4, out)).toBe(1);
    expect(out[0]).toBe(2);
    expect(solver.solve([0.9, 0.8, 0.1, 0.7], 4, 1, out)).toBe(1);
    expect(Array.from(out)).toEqual([-1, -1, 0, -1]);
    expect(solver.solve([], 0, 3, out)).toBe(0);
  });

  it('leaves pairs at or above the limit unassigned', () => {
    // Greedy would pair (0,0) = 0.1 and leave row 1 with 0.95; the optimum pairs 0->1, 1->0.
    expect(Array.from(solveAssignment([0.1, 0.2, 0.3, 0.95], 2, 2))).toEqual([1, 0]);
    // With limit 0.5, 0->1 and 1->0 (0.2 + 0.3 - 2 x 0.5 = -0.5) still beat (0,0) alone (-0.4)...
    expect(Array.from(solveAssignment([0.1, 0.2, 0.3, 0.95], 2, 2, 0.5))).toEqual([1, 0]);
    // ...but not when those pairs barely pass the limit (-0.1 in total): then (0,0) alone is best.
    expect(Array.from(solveAssignment([0.1, 0.45, 0.45, 0.95], 2, 2))).toEqual([1, 0]);
    expect(Array.from(solveAssignment([0.1, 0.45, 0.45, 0.95], 2, 2, 0.5))).toEqual([0, -1]);
    expect(Array.from(solveAssignment([0.6, 0.7], 1, 2, 0.5))).toEqual([-1]);
    expect(Array.from(solveAssignment([0.5], 1, 1, 0.5))).toEqual([-1]);
  });
});

/** The tracked detections of a frame (those `annotate` gave a track id). */
function tracked(tracker: ByteTracker, detections: Detection[], t: number): Detection[] {
  return tracker.annotate(detections, t).filter((d) => d.trackId !== undefined);
}

function det(box: Box, score = 0.9): Detection {
  return { box, score, class: 0, label: 'person' };
}

/** Box of a 40x100 object whose left edge is at x. */
function at(x: number, y = 100): Box {
  return [x, y, x + 40, y + 100];
}

describe('ByteTracker life cycle', () => {
  const config: TrackerConfig = { ...DEFAULT_TRACKER, lostTrackSeconds: 1 };

  it('confirms first-frame objects at once and later objects on their second frame', () => {
    const tracker = new ByteTracker(config);
    expect(tracked(tracker, [det(at(0))], 0).map((d) => d.trackId)).toEqual([1]);
    expect(tracked(tracker, [det(at(0)), det(at(500))], 0.1).map((d) => d.trackId)).toEqual([1]);
    const third = tracked(tracker, [det(at(0)), det(at(500))], 0.2);
    expect(third.map((d) => d.trackId).sort()).toEqual([1, 2]);
    // A detection seen once (not on the first frame) never becomes a track.
    tracker.annotate([det(at(0)), det(at(500)), det(at(900))], 0.3);
    expect(tracked(tracker, [det(at(0)), det(at(500))], 0.4).map((d) => d.trackId).sort()).toEqual([1, 2]);
  });

  it('a first-frame track is tracked at once: a low-score detection continues it on the next frame', () => {
    const tracker = new ByteTracker(config);
    expect(tracked(tracker, [det(at(0))], 0).map((d) => d.trackId)).toEqual([1]);
    expect(tracked(tracker, [det(at(0), 0.3)], 0.1).map((d) => d.trackId)).toEqual([1]);
  });

  it('recovery (off by default): a lost track whose prediction ran away takes a detection at its last observed box', () => {
    const run = (recoveryMatchThresh: number): (number | undefined)[] => {
      const tracker = new ByteTracker(config, { recoveryMatchThresh });
      let t = 0;
      // Moving right at 200 px/s for 1 s, unseen for 0.5 s (the prediction goes on 100 px and more),
      // then seen again where it was last seen: it stopped.
      for (let k = 0; k <= 10; k++, t += 0.1) tracker.annotate([det(at(20 * k))], t);
      for (let k = 0; k < 5; k++, t += 0.1) tracker.annotate([], t);
      return tracker.annotate([det(at(200))], t).map((d) => d.trackId);
    };
    expect(run(0.5)).toEqual([1]);
    expect(run(0)).toEqual([undefined]); // a new tentative track
  });

  it('configure(): new thresholds apply from the next update, tracks and ids go on', () => {
    const tracker = new ByteTracker(config);
    expect(tracked(tracker, [det(at(0))], 0).map((d) => d.trackId)).toEqual([1]);
    tracker.configure({ ...config, newTrackThresh: 0.95 });
    tracker.annotate([det(at(0)), det(at(500))], 0.1);
    tracker.annotate([det(at(0)), det(at(500))], 0.2);
    // The 0.9 detection at 500 starts no track any more; the old track keeps its id.
    expect(tracked(tracker, [det(at(0)), det(at(500))], 0.3).map((d) => d.trackId)).toEqual([1]);
  });

  it('keeps the id across a gap shorter than lostTrackSeconds, gives a new one after a longer gap, never reuses ids', () => {
    const tracker = new ByteTracker(config);
    let t = 0;
    const step = (boxes: Box[]): number[] => {
      const out = tracked(tracker, boxes.map((b) => det(b)), t);
      t = Math.round((t + 0.1) * 10) / 10;
      return out.map((d) => d.trackId!);
    };
    for (let k = 0; k < 15; k++) expect(step([at(100)])).toEqual([1]); // observed 1.4 s
    for (let k = 0; k < 8; k++) expect(step([])).toEqual([]); // 0.8 s away
    expect(step([at(100)])).toEqual([1]);
    for (let k = 0; k < 15; k++) step([]); // 1.5 s away: removed
    expect(step([at(100)])).toEqual([]); // tentative again
    expect(step([at(100)])).toEqual([2]);
    tracker.reset();
    expect(step([at(100)])).toEqual([3]); // ids keep counting after a reset
  });

  it('keeps a lost track at most as long as it was observed', () => {
    // lostTrackSeconds 2; 10 fps. Returns the id given to the object when it is back after `gap` s.
    const idAfter = (observedFrames: number, gap: number): number | undefined => {
      const tracker = new ByteTracker({ ...DEFAULT_TRACKER, lostTrackSeconds: 2 });
      for (let k = 0; k < observedFrames; k++) tracker.annotate([det(at(100))], k / 10);
      const back = (observedFrames - 1) / 10 + gap;
      for (let t = (observedFrames - 1) / 10 + 0.1; t < back - 0.05; t += 0.1) tracker.annotate([], t);
      tracker.annotate([det(at(100))], back);
      return tracker.annotate([det(at(100))], back + 0.1)[0]?.trackId;
    };
    // Observed 0.3 s (4 frames): found again after 0.3 s, a new object after 0.5 s.
    expect(idAfter(4, 0.3)).toBe(1);
    expect(idAfter(4, 0.5)).toBe(2);
    // Observed 1.9 s: kept the full lostTrackSeconds, not longer.
    expect(idAfter(20, 1.9)).toBe(1);
    expect(idAfter(20, 2.2)).toBe(2);
    // Without the limit every lost track is kept lostTrackSeconds.
    const plain = new ByteTracker({ ...DEFAULT_TRACKER, lostTrackSeconds: 2 }, { lostObservedRatio: 0 });
    for (let k = 0; k < 4; k++) plain.annotate([det(at(100))], k / 10);
    for (let k = 4; k < 18; k++) plain.annotate([], k / 10);
    expect(plain.annotate([det(at(100))], 1.8).map((d) => d.trackId)).toEqual([1]);
  });

  it('follows a moving object through a gap at 10 and at 30 fps alike (time, not frames)', () => {
    for (const fps of [10, 30]) {
      const tracker = new ByteTracker(config);
      const speed = 200; // px/s: after the 0.5 s gap the object is 100 px (2.5 widths) further
      let lastId: number | undefined;
      for (let k = 0; k <= 2 * fps; k++) {
        const t = k / fps;
        const visible = t < 1.5 || t >= 2;
        const out = tracked(tracker, visible ? [det(at(100 + speed * t))] : [], t);
        if (!visible) continue;
        expect(out).toHaveLength(1);
        if (lastId !== undefined) expect(out[0]!.trackId).toBe(lastId);
        lastId = out[0]!.trackId;
      }
      expect(lastId).toBe(1);
    }
  });

  it('predicts the same position for the same motion at different frame rates', () => {
    const predictedX = (fps: number): number => {
      const tracker = new ByteTracker({ ...config, boxes: 'filtered' });
      for (let k = 0; k <= 3 * fps; k++) tracker.annotate([det(at(100 + 60 * (k / fps)))], k / fps);
      // 0.2 s later, in the same frame, a detection halfway between the stale and the predicted box
      // gets the filtered (predicted and corrected) box back: equal at both rates within a pixel.
      const out = tracked(tracker, [det(at(100 + 60 * 3.2))], 3.2);
      return out[0]!.box[0];
    };
    const at10 = predictedX(10);
    const at30 = predictedX(30);
    expect(Math.abs(at10 - (100 + 60 * 3.2))).toBeLessThan(1);
    expect(Math.abs(at10 - at30)).toBeLessThan(0.5);
  });

  it('keeps a track through an occlusion on its low-score detections (second association)', () => {
    // 10 fps. A person walks right at 50 px/s; for 2.5 s (longer than lostTrackSeconds) another object
    // covers most of it and the detector scores it between 0.1 and 0.5 only. Those detections cannot
    // start a track, but they continue the person's track: the same id all the way.
    const config: TrackerConfig = { ...DEFAULT_TRACKER, lostTrackSeconds: 2 };
    expect(config.lowThresh).toBeLessThanOrEqual(0.15);
    expect(config.trackThresh).toBeGreaterThan(0.45);
    const tracker = new ByteTracker(config);
    const ids: (number | undefined)[] = [];
    for (let k = 0; k < 45; k++) {
      const t = k / 10;
      const occluded = t >= 1 && t < 3.5;
      const score = occluded ? 0.15 + 0.3 * ((k * 7) % 10) / 10 : 0.9; // 0.15 .. 0.42
      ids.push(tracker.annotate([det(at(100 + 50 * t), score)], t)[0]!.trackId);
    }
    expect(ids.slice(10, 35).every((id) => id === 1)).toBe(true); // through the occlusion
    expect(ids.slice(35)).toEqual(new Array(10).fill(1)); // and after it
  });

  it("reports the detector's box by default, the track's filtered box with boxes 'filtered'", () => {
    const run = (boxes: TrackerConfig['boxes']): Box => {
      const tracker = new ByteTracker({ ...config, boxes });
      for (let k = 0; k < 10; k++) tracker.annotate([det(at(100 + 10 * k))], k / 10);
      return tracked(tracker, [det(at(203, 104))], 1)[0]!.box; // jumps 3 px right and 4 px down
    };
    expect(run('detection')).toEqual(at(203, 104));
    const filtered = run('filtered');
    // Between the prediction (about x 200, y 100) and the detection: smoothed, not copied.
    expect(filtered[0]).toBeGreaterThan(200);
    expect(filtered[0]).toBeLessThan(203);
    expect(filtered[1]).toBeGreaterThan(100);
    expect(filtered[1]).toBeLessThan(104);
  });

  it('does not match across classes', () => {
    const tracker = new ByteTracker(config);
    tracker.annotate([det(at(0))], 0);
    const car: Detection = { ...det(at(0)), class: 2, label: 'car' };
    expect(tracked(tracker, [car], 0.1)).toEqual([]);
  });
});

describe('occlusion-aware measurement', () => {
  const options = DEFAULT_OCCLUSION_OPTIONS; // minShrink 0.05, sizeTrust 0.15, edgeTolerance 0.25
  const pred = [100, 0, 160, 30]; // 60 wide, 30 high
  const measure = (d: number[], others: number[], opts: OcclusionOptions = options): number[] =>
    Array.from(occlusionAwareBox(pred, d, others, others.length / 4, opts, new Float64Array(4)));

  it('keeps the visible edge and most of the predicted width when a neighbour covers the lost side', () => {
    // Lost 30 px on the right, where an occluder starts: extent 60 - 0.15 x 30 = 55.5 from the left edge.
    expect(measure([100, 0, 130, 30], [130, 0, 200, 40])).toEqual([100, 0, 155.5, 30]);
    // The same on the left; the detection itself among the others changes nothing.
    expect(measure([130, 0, 160, 30], [130, 0, 160, 30, 60, 5, 130, 25])).toEqual([104.5, 0, 160, 30]);
    // The occluder's edge may be off by a quarter of the lost depth (30 x 0.25 = 7.5 px).
    expect(measure([100, 0, 130, 30], [137, 0, 200, 40])).toEqual([100, 0, 155.5, 30]);
    // Vertical: lost 30 px at the bottom, occluder below.
    const tall = [0, 100, 30, 160];
    expect(Array.from(occlusionAwareBox(tall, [0, 100, 30, 130], [0, 131, 30, 200], 1, options, new Float64Array(4)))).toEqual([0, 100, 30, 155.5]);
    expect(coversSide([100, 0, 130, 30], 0, 1, 160, [130, 0, 200, 40], 1, 0.25)).toBe(true);
    expect(coversSide([100, 0, 130, 30], 0, 0, 100, [130, 0, 200, 40], 1, 0.25)).toBe(false);
    // Only the first `count` boxes count: the tracker's box buffer holds older frames' boxes past them.
    expect(coversSide([100, 0, 130, 30], 0, 1, 160, [0, 500, 10, 510, 130, 0, 200, 40], 1, 0.25)).toBe(false);
  });

  it('measures the detection as it is without an occluder that explains the shrink', () => {
    const d = [100, 0, 130, 30];
    expect(measure(d, [])).toEqual(d); // isolated
    expect(measure(d, d)).toEqual(d); // only itself
    expect(measure(d, [138, 0, 200, 40])).toEqual(d); // gap 8 > 7.5
    expect(measure(d, [110, 0, 200, 40])).toEqual(d); // occluder deep inside the box (overlapping objects)
    expect(measure(d, [130, 0, 150, 40])).toEqual(d); // does not reach the predicted edge 160
    expect(measure(d, [130, 40, 200, 60])).toEqual(d); // no vertical overlap
    expect(measure([115, 0, 130, 30], [130, 0, 200, 40])).toEqual([115, 0, 130, 30]); // left edge off by 15 > 0.25 x 45
    expect(measure([100, 0, 158, 30], [158, 0, 200, 40])).toEqual([100, 0, 158, 30]); // shrink 2 < 0.05 x 60
    expect(measure(d, [130, 0, 200, 40], { ...options, minShrink: 0 })).toEqual(d); // disabled
  });

  it('coversSide at its edges: depth, slack, reach and overlap on the other axis', () => {
    const covers = (d: number[], side: 0 | 1, predEdge: number, occluder: number[]): boolean => coversSide(d, 0, side, predEdge, occluder, 1, 0.25);
    expect(covers([100, 0, 160, 30], 1, 160, [160, 0, 200, 30])).toBe(false); // nothing lost (depth 0)
    // Depth 30, slack 7.5: the occluder's near edge exactly 7.5 px off still counts, on either side.
    expect(covers([100, 0, 130, 30], 1, 160, [137.5, 0, 200, 30])).toBe(true);
    expect(covers([130, 0, 160, 30], 0, 100, [50, 0, 122.5, 30])).toBe(true);
    expect(covers([130, 0, 160, 30], 0, 100, [60, 0, 120, 30])).toBe(false); // 10 px off
    // Reaching exactly the predicted edge is enough; short of it is not.
    expect(covers([100, 0, 130, 30], 1, 160, [130, 0, 160, 30])).toBe(true);
    expect(covers([130, 0, 160, 30], 0, 100, [100, 0, 130, 30])).toBe(true);
    expect(covers([130, 0, 160, 30], 0, 100, [110, 0, 130, 30])).toBe(false);
    // No overlap on the other axis: touching above or below, or apart.
    for (const o of [[130, 30, 200, 60], [130, -30, 200, 0], [130, -40, 200, -10]]) expect(covers([100, 0, 130, 30], 1, 160, o)).toBe(false);
    // On the y axis the overlap is checked on x.
    expect(Array.from(occlusionAwareBox([0, 100, 30, 160], [0, 100, 30, 130], [40, 131, 70, 200], 1, options, new Float64Array(4)))).toEqual([0, 100, 30, 130]);
  });

  it('adjusts only past minShrink, with the visible edge within edgeTolerance x shrink of the prediction', () => {
    // pred [100, 160]: limit 0.05 x 60 = 3. Each case has an occluder right at the lost edge.
    const right = (d: number[]): number[] => measure(d, [d[2]!, 0, 200, 30]);
    const left = (d: number[]): number[] => measure(d, [60, 0, d[0]!, 30]);
    expect(right([99.5, 0, 156.5, 30])).toEqual([99.5, 0, 156.5, 30]); // shrink exactly 3
    expect(right([99.75, 0, 156.875, 30])).toEqual([99.75, 0, 156.875, 30]); // shrink 2.875, though 3.125 lost on the right
    expect(right([100.5, 0, 157, 30])).toEqual([100.5, 0, 157, 30]); // lost exactly 3 on the right
    expect(left([103, 0, 159.5, 30])).toEqual([103, 0, 159.5, 30]); // lost exactly 3 on the left
    // Shrink 4.5: the visible edge may be off by 0.25 x 4.5 = 1.125, exactly.
    const kept = right([101.125, 0, 156.625, 30]);
    expect(kept[0]).toBe(101.125);
    expect(kept[2]).toBeCloseTo(101.125 + 60 - 0.15 * 4.5, 12);
    const keptLeft = left([103.375, 0, 158.875, 30]);
    expect(keptLeft[0]).toBeCloseTo(158.875 - (60 - 0.15 * 4.5), 12);
    expect(keptLeft[2]).toBe(158.875);
    // Lost 30 on the left, but the right edge moved 12 > 0.25 x 42: not an occlusion, on either side.
    expect(left([130, 0, 148, 30])).toEqual([130, 0, 148, 30]);
    expect(right([112, 0, 130, 30])).toEqual([112, 0, 130, 30]);
  });

  it('keeps the id of a target that a faster object of another class sweeps over', () => {
    // 15 fps. The target (64 x 32, class 0) moves left at 52 px/s; an occluder (72 x 94, class 1)
    // overtakes it at 145 px/s and hides it completely for 5 frames. The detector boxes the visible
    // part of the target when at least a fifth of it shows. Returns the target's id per frame.
    const run = (occlusion: OcclusionOptions): number[] => {
      const tracker = new ByteTracker(DEFAULT_TRACKER, { occlusion });
      const ids: number[] = [];
      for (let k = 0; k < 60; k++) {
        const t = k / 15;
        const x1 = 500 - 52 * t;
        const ox1 = 640 - 145 * t;
        const occluder: Detection = { box: [ox1, 140, ox1 + 72, 234], score: 0.97, class: 1, label: 'other' };
        const left = Math.min(x1 + 64, Math.max(x1, ox1)) - x1; // visible width left of the occluder
        const right = x1 + 64 - Math.max(x1, Math.min(x1 + 64, ox1 + 72)); // and right of it
        const detections = [occluder];
        if (left >= right && left >= 0.2 * 64) detections.push(det([x1, 170, x1 + left, 202]));
        if (right > left && right >= 0.2 * 64) detections.push(det([x1 + 64 - right, 170, x1 + 64, 202]));
        for (const d of tracked(tracker, detections, t)) if (d.class === 0) ids.push(d.trackId!);
      }
      return ids;
    };
    // The visible part shrinks from the right (frames 10-20), then re-emerges on the right (frame 26).
    // With the adjustment the filter keeps the target's speed, so its track takes the target back
    // within a few frames of re-emerging (the first slivers overlap its prediction too little and
    // start a short-lived track) and keeps it to the end.
    const ids = run(DEFAULT_OCCLUSION_OPTIONS);
    expect(ids.at(-1)).toBe(ids[0]);
    expect(ids.filter((id) => id !== ids[0]).length).toBeLessThanOrEqual(3);
    // Without it the shrinking box drags the velocity, the track loses the target for good.
    const plain = run({ ...DEFAULT_OCCLUSION_OPTIONS, minShrink: 0 });
    expect(plain.at(-1)).not.toBe(plain[0]);
  });
});

describe('ByteTracker rules at their edges', () => {
  const { trackThresh, lowThresh, newTrackThresh } = DEFAULT_TRACKER; // 0.55, 0.1, 0.6
  /** A tracker that has followed a still object at x = 100 for 5 frames at 10 fps (t = 0 ... 0.4). */
  function following(tuning: ConstructorParameters<typeof ByteTracker>[1] = {}): ByteTracker {
    const tracker = new ByteTracker(DEFAULT_TRACKER, tuning);
    for (let k = 0; k < 5; k++) tracker.annotate([det(at(100))], k / 10);
    return tracker;
  }
  const idOf = (tracker: ByteTracker, detections: Detection[], t: number): (number | undefined)[] => tracker.annotate(detections, t).map((d) => d.trackId);

  it('a score of exactly trackThresh is high: it finds a lost track (only the first association looks at lost tracks)', () => {
    const tracker = following();
    expect(idOf(tracker, [], 0.5)).toEqual([]);
    expect(idOf(tracker, [det(at(100), trackThresh)], 0.6)).toEqual([1]);
  });

  it('a score of exactly lowThresh keeps a tracked track in the second association; below it, nothing does', () => {
    expect(idOf(following(), [det(at(100), lowThresh)], 0.5)).toEqual([1]);
    expect(idOf(following(), [det(at(100), lowThresh - 0.001)], 0.5)).toEqual([undefined]);
  });

  it('a new track needs a score of at least newTrackThresh, also when the score is high', () => {
    for (const [score, id] of [[newTrackThresh, 2], [newTrackThresh - 0.001, undefined]] as const) {
      const tracker = following();
      tracker.annotate([det(at(100)), det(at(500), score)], 0.5);
      expect(idOf(tracker, [det(at(100)), det(at(500), score)], 0.6)).toEqual([1, id]);
    }
  });

  it('the second association takes only tracked, confirmed tracks that found nothing yet', () => {
    // A lost track is not found by a low-score detection.
    const lost = following();
    lost.annotate([], 0.5);
    expect(idOf(lost, [det(at(100), 0.3)], 0.6)).toEqual([undefined]);
    // A tentative track is not confirmed by one.
    const tentative = following();
    tentative.annotate([det(at(100)), det(at(500))], 0.5);
    expect(idOf(tentative, [det(at(100)), det(at(500), 0.3)], 0.6)).toEqual([1, undefined]);
    // A track that took a high-score detection does not also take a low-score one over it.
    expect(idOf(following(), [det(at(100)), det(at(102), 0.3)], 0.5)).toEqual([1, undefined]);
  });

  it('second association: 1 - IoU below 0.5, no score and no buffer', () => {
    // At 2 fps (where a buffer would be 0.125 of the size per side): a still 40 px wide box and a
    // detection s px to its right, IoU (40 - s) / (40 + s).
    const slow = (): ByteTracker => {
      const tracker = new ByteTracker();
      for (let k = 0; k < 5; k++) tracker.annotate([det(at(100))], k / 2);
      return tracker;
    };
    expect(idOf(slow(), [det(at(113), 0.3)], 2.5)).toEqual([1]); // 1 - IoU = 0.49
    expect(idOf(slow(), [det(at(115), 0.3)], 2.5)).toEqual([undefined]); // 0.55
    expect(1 - bufferedIou(at(100), 0, at(115), 0, 0.125)).toBeLessThan(0.5); // buffered it would match
  });

  it('first association: 1 - buffered IoU x score below matchThresh', () => {
    const { matchThresh } = DEFAULT_TRACKER; // 0.8
    const buffer = DEFAULT_TRACKER_TUNING.iouBufferRate * 0.1;
    const fused = (s: number): number => 1 - bufferedIou(at(100), 0, at(100 + s), 0, buffer) * 0.62;
    // s = 21: fused cost 0.793 -> matched; unbuffered it would be 0.807.
    expect(fused(21)).toBeLessThan(matchThresh);
    expect(1 - boxIou(at(100), 0, at(121), 0) * 0.62).toBeGreaterThan(matchThresh);
    expect(idOf(following(), [det(at(121), 0.62)], 0.5)).toEqual([1]);
    // s = 26: fused cost 0.85 -> not matched, though 1 - IoU without the score would be 0.79.
    expect(fused(26)).toBeGreaterThan(matchThresh);
    expect(1 - boxIou(at(100), 0, at(126), 0)).toBeLessThan(matchThresh);
    expect(idOf(following(), [det(at(126), 0.62)], 0.5)).toEqual([undefined]);
  });

  it('tentative tracks: 1 - buffered IoU x score below tentativeMatchThresh; one missed frame ends them', () => {
    const start = (): ByteTracker => {
      const tracker = following();
      tracker.annotate([det(at(100)), det(at(500), 0.7)], 0.5);
      return tracker;
    };
    const buffer = DEFAULT_TRACKER_TUNING.iouBufferRate * 0.1;
    const cost = (s: number): number => 1 - bufferedIou(at(500), 0, at(500 + s), 0, buffer) * 0.7;
    expect(cost(8)).toBeLessThan(DEFAULT_TRACKER_TUNING.tentativeMatchThresh); // 0.52
    expect(cost(12)).toBeGreaterThan(DEFAULT_TRACKER_TUNING.tentativeMatchThresh); // 0.62
    expect(1 - boxIou(at(500), 0, at(512), 0) * 0.7 < 0.8 && 1 - boxIou(at(500), 0, at(512), 0) < 0.6).toBe(true);
    expect(idOf(start(), [det(at(100)), det(at(508), 0.7)], 0.6)).toEqual([1, 2]);
    expect(idOf(start(), [det(at(100)), det(at(512), 0.7)], 0.6)).toEqual([1, undefined]);
    // Missed once: gone, even when lost tracks are kept the full lostTrackSeconds.
    const missed = following({ lostObservedRatio: 0 });
    missed.annotate([det(at(100)), det(at(500), 0.7)], 0.5);
    missed.annotate([det(at(100))], 0.6);
    expect(idOf(missed, [det(at(100)), det(at(500), 0.7)], 0.7)).toEqual([1, undefined]);
  });

  it('a lost track lives exactly lostTrackSeconds: kept at that age, removed after it', () => {
    // Steps of 0.25 s (exact in binary); lostTrackSeconds 1, every lost track kept that long.
    const run = (emptyUntil: number): number | undefined => {
      const tracker = new ByteTracker({ ...DEFAULT_TRACKER, lostTrackSeconds: 1 }, { lostObservedRatio: 0 });
      for (const t of [0, 0.25, 0.5]) tracker.annotate([det(at(100))], t);
      for (let t = 0.75; t <= emptyUntil; t += 0.25) tracker.annotate([], t);
      return tracker.annotate([det(at(100))], emptyUntil + 0.25)[0]!.trackId;
    };
    expect(run(1.5)).toBe(1); // unmatched at 1.5 with age exactly 1.0: kept
    expect(run(1.75)).toBeUndefined(); // age 1.25 at 1.75: removed
  });

  it('reports the detector\'s box by default and the filtered box with boxes "filtered"', () => {
    const noisy = (k: number): Box => at(100 + 10 * k + (k % 2 === 0 ? 3 : -3));
    for (const outputBox of ['detection', 'filtered'] as const) {
      const tracker = new ByteTracker(outputBox === 'detection' ? DEFAULT_TRACKER : { ...DEFAULT_TRACKER, boxes: 'filtered' });
      let out: Detection[] = [];
      for (let k = 0; k < 10; k++) out = tracker.annotate([det(noisy(k))], k / 10);
      expect(out[0]!.trackId).toBe(1);
      if (outputBox === 'detection') expect(out[0]!.box).toEqual(noisy(9));
      else expect(Math.abs(out[0]!.box[0] - noisy(9)[0])).toBeGreaterThan(0.5); // the filter smooths the jitter
    }
  });

  it('a tracked and a lost track on the same spot are one object: the one followed for longer stays', () => {
    // 10 fps. One object stands at x = 300 until t = 1.4 (then hidden); another walks right at
    // 100 px/s and reaches x = 300 at frame `arrive`. There the stander's lost track, exactly on the
    // spot, takes the walker's detection; the walker's track, now lost too, overlaps it.
    const scene = (walkerFirst: boolean) => {
      const tracker = new ByteTracker();
      const frames: { ids: (number | undefined)[]; live: number }[] = [];
      for (let k = 0; k <= 22; k++) {
        const walker = det(at(walkerFirst ? 100 + 10 * k : 100 + 10 * (k - 1)));
        const stander = det(at(300));
        const detections = walkerFirst ? [walker, ...(k >= 1 && k < 15 ? [stander] : [])] : [...(k < 15 ? [stander] : []), ...(k >= 1 ? [walker] : [])];
        const ids = tracker.annotate(detections, k / 10).map((d) => d.trackId);
        frames.push({ ids, live: tracker.liveTracks });
      }
      return frames;
    };
    // The stander (id 1) came first: the walker's younger track (id 2) is removed, the stander's takes over.
    const standerFirst = scene(false);
    expect(standerFirst[20]).toEqual({ ids: [2], live: 2 });
    expect(standerFirst[21]).toEqual({ ids: [1], live: 1 });
    expect(standerFirst[22]).toEqual({ ids: [1], live: 1 });
    // The walker (id 1) came first: the stander's younger track is removed in the very frame it took
    // the walker's detection (which then has no id), and the walker's track takes it back.
    const walkerFirst = scene(true);
    expect(walkerFirst[19]).toEqual({ ids: [1], live: 2 });
    expect(walkerFirst[20]).toEqual({ ids: [undefined], live: 1 });
    expect(walkerFirst[21]).toEqual({ ids: [1], live: 1 });
  });

  /**
   * The filtered boxes one track should report, computed from the documented rules with the Kalman
   * primitives: the first box starts it; each later frame predicts by the frame's step (a track that is
   * not tracked stops changing its height first) and a box updates it; a box after a gap longer than
   * 1.5 steps first re-runs the filter from the last observation along straight-line virtual
   * observations, one per step (OC-SORT's re-update).
   */
  function oracle(frames: Array<[number, Box | null]>, reupdateGaps = true): Array<number[] | null> {
    const mean = new Float64Array(8), cov = new Float64Array(12);
    const observed = { mean: new Float64Array(8), cov: new Float64Array(12) };
    const xyah = (b: ArrayLike<number>): Float64Array => boxToXyah(b[0]!, b[1]!, b[2]!, b[3]!, new Float64Array(4));
    let lastObs: Box = frames[0]![1]!;
    let clock = 0, lastPts = frames[0]![0], lastSeen = 0, step = 0, tracked = true;
    const boxOf = (m: Float64Array): number[] => {
      const b = new Array<number>(4);
      xyahToBox(m, b);
      return b;
    };
    kalmanInitiate(xyah(lastObs), mean, cov);
    observed.mean.set(mean);
    observed.cov.set(cov);
    const out: Array<number[] | null> = [boxOf(mean)];
    for (const [t, box] of frames.slice(1)) {
      const dt = Math.max(0, t - lastPts);
      lastPts = t;
      clock += dt;
      if (dt > 0) step = dt;
      if (!tracked) mean[7] = 0;
      kalmanPredict(mean, cov, dt);
      if (!box) {
        tracked = false;
        out.push(null);
        continue;
      }
      const z = xyah(box);
      const gap = clock - lastSeen;
      if (reupdateGaps && gap > 1.5 * step) {
        const steps = Math.max(1, Math.round(gap / step));
        const start = xyah(lastObs);
        mean.set(observed.mean);
        cov.set(observed.cov);
        for (let s = 1; s < steps; s++) {
          kalmanPredict(mean, cov, gap / steps);
          kalmanUpdate(mean, cov, start.map((v, k) => v + (z[k]! - v) * (s / steps)));
        }
        kalmanPredict(mean, cov, gap / steps);
      }
      kalmanUpdate(mean, cov, z);
      observed.mean.set(mean);
      observed.cov.set(cov);
      lastSeen = clock;
      lastObs = box;
      tracked = true;
      out.push(boxOf(mean));
    }
    return out;
  }

  function filteredBoxes(frames: Array<[number, Box | null]>, reupdateGaps = true): Array<number[] | null> {
    const tracker = new ByteTracker({ ...DEFAULT_TRACKER, boxes: 'filtered' }, { reupdateGaps });
    return frames.map(([t, box]) => {
      const out = tracker.annotate(box ? [det(box)] : [], t);
      if (!box) return null;
      expect(out[0]!.trackId).toBe(1);
      return out[0]!.box;
    });
  }

  const growing = (x: number, h: number, y = 300): Box => [x, y - h / 2, x + 40 + h / 10, y + h / 2];

  it('re-runs the filter over a gap along virtual observations when a lost track is found again', () => {
    // 10 fps; walking right and down and growing, hidden for 0.4 s, found again behind its prediction.
    const frames: Array<[number, Box | null]> = Array.from({ length: 16 }, (_, k) => [k / 10, k <= 10 ? growing(100 + 10 * k, 100 + 4 * k, 300 + 5 * k) : k === 15 ? growing(230, 160, 360) : null]);
    const got = filteredBoxes(frames);
    oracle(frames).forEach((want, k) => (want ? want.forEach((v, i) => expect(got[k]![i], `frame ${k}`).toBeCloseTo(v, 9)) : expect(got[k]).toBeNull()));
  });

  it('without reupdateGaps a track found again is predicted over the gap and updated once', () => {
    const frames: Array<[number, Box | null]> = Array.from({ length: 16 }, (_, k) => [k / 10, k <= 10 ? growing(100 + 10 * k, 100 + 4 * k, 300 + 5 * k) : k === 15 ? growing(230, 160, 360) : null]);
    const got = filteredBoxes(frames, false);
    oracle(frames, false).forEach((want, k) => (want ? want.forEach((v, i) => expect(got[k]![i], `frame ${k}`).toBeCloseTo(v, 9)) : expect(got[k]).toBeNull()));
    // ...which is not what the re-update gives.
    expect(got[15]![0]).not.toBeCloseTo(oracle(frames)[15]![0]!, 3);
  });

  it('a gap of exactly 1.5 frame steps is no gap to re-run; a lost track keeps its height', () => {
    // Steps of 0.25 s, then one empty frame 0.125 s later and the next box 0.25 s after that.
    const times = [0, 0.25, 0.5, 0.75, 1, 1.125, 1.375];
    const frames = times.map((t): [number, Box | null] => [t, t === 1.125 ? null : growing(100 + 40 * t, 100 + 40 * t)]);
    const got = filteredBoxes(frames);
    oracle(frames).forEach((want, k) => (want ? want.forEach((v, i) => expect(got[k]![i], `frame ${k}`).toBeCloseTo(v, 9)) : expect(got[k]).toBeNull()));
  });

  it('follows more objects than its reused buffers first hold (70 tracks, 70 x 70 costs)', () => {
    const grid = (t: number): Detection[] => Array.from({ length: 70 }, (_, i) => det([(i % 10) * 100 + 5 * t, Math.floor(i / 10) * 200, (i % 10) * 100 + 40 + 5 * t, Math.floor(i / 10) * 200 + 100]));
    const tracker = new ByteTracker();
    const first = tracker.annotate(grid(0), 0).map((d) => d.trackId);
    expect(first).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
    for (let k = 1; k <= 3; k++) expect(tracker.annotate(grid(k), k / 10).map((d) => d.trackId)).toEqual(first);
    expect(tracker.liveTracks).toBe(70);
  });
});
