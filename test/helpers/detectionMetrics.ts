/** Precision/recall of detections against the synthetic scene's ground truth (class-aware, IoU >= threshold). */
import type { GtFrame } from '../../src/tools/synth/index.js';

export interface ResultDetection {
  box: [number, number, number, number];
  score: number;
  class: number;
  track_id?: number;
}

export interface MatchCounts {
  tp: number;
  fp: number;
  fn: number;
  /** Detections matched to a target under the visibility bar: neither credited nor blamed. */
  ignored: number;
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * Greedy matching by IoU, highest first. Targets at least `minVisible` visible must be found;
 * a detection on a less visible target is ignored rather than counted as a false positive.
 */
export function matchFrame(gt: GtFrame, dets: ResultDetection[], iouThreshold = 0.5, minVisible = 0.5): MatchCounts & { pairs: Array<[number, number]> } {
  const pairs: Array<{ t: number; d: number; v: number }> = [];
  gt.targets.forEach((t, ti) =>
    dets.forEach((d, di) => {
      if (d.class !== t.class) return;
      const v = iou(t.box, d.box);
      if (v >= iouThreshold) pairs.push({ t: ti, d: di, v });
    }),
  );
  pairs.sort((a, b) => b.v - a.v);
  const tUsed = new Set<number>();
  const dUsed = new Set<number>();
  const matched: Array<[number, number]> = [];
  for (const p of pairs) {
    if (tUsed.has(p.t) || dUsed.has(p.d)) continue;
    tUsed.add(p.t);
    dUsed.add(p.d);
    matched.push([gt.targets[p.t].id, p.d]);
  }
  let tp = 0;
  let ignored = 0;
  let fn = 0;
  gt.targets.forEach((t, ti) => {
    const must = t.visible >= minVisible;
    if (tUsed.has(ti)) {
      if (must) tp++;
      else ignored++;
    } else if (must) fn++;
  });
  const fp = dets.length - dUsed.size;
  return { tp, fp, fn, ignored, pairs: matched };
}

/**
 * Recall over frames: targets at least half visible (and `only` that target, when given), and those
 * found: a detection of their class with IoU >= 0.5 (one detection may find two overlapping targets).
 */
export function recall(frames: Iterable<readonly [GtFrame, readonly { class: number; box: readonly number[] }[]]>, only?: number): { visible: number; found: number } {
  let visible = 0;
  let found = 0;
  for (const [g, dets] of frames) {
    for (const t of g.targets) {
      if (t.visible < 0.5 || (only !== undefined && t.id !== only)) continue;
      visible++;
      if (dets.some((d) => d.class === t.class && iou(d.box, t.box) >= 0.5)) found++;
    }
  }
  return { visible, found };
}
