/**
 * Intersection over union of axis-aligned boxes, on packed typed arrays: the one definition that
 * NMS (infer/), association (track/) and the MOT evaluator share, so it lives before them all.
 * Boxes are [x1, y1, x2, y2] in continuous coordinates (no "+1 pixel" convention), four numbers per box.
 */

/** IoU of box `i` of `a` and box `j` of `b`; 0 for degenerate boxes or a zero union. */
export function boxIou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ai = 4 * i;
  const bj = 4 * j;
  // x first: most pairs (NMS candidates, tracks far apart) do not overlap there, and need no more loads.
  const ax1 = a[ai]!, ax2 = a[ai + 2]!, bx1 = b[bj]!, bx2 = b[bj + 2]!;
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  if (iw <= 0) return 0;
  const ay1 = a[ai + 1]!, ay2 = a[ai + 3]!, by1 = b[bj + 1]!, by2 = b[bj + 3]!;
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (ih <= 0) return 0;
  const areaA = (ax2 - ax1) * (ay2 - ay1);
  const areaB = (bx2 - bx1) * (by2 - by1);
  // Same guards as TrackEval: a (near-)empty box or union overlaps nothing.
  if (areaA <= Number.EPSILON || areaB <= Number.EPSILON) return 0;
  const inter = iw * ih;
  const union = areaA + areaB - inter;
  return union <= Number.EPSILON ? 0 : inter / union;
}

/**
 * Fills `out` (row-major, aCount x bCount) with the IoU of every box of `a` against every box of `b`.
 * `out` must hold at least aCount * bCount numbers; it is returned for convenience.
 */
export function iouMatrix(
  a: ArrayLike<number>,
  aCount: number,
  b: ArrayLike<number>,
  bCount: number,
  out: Float64Array = new Float64Array(aCount * bCount),
): Float64Array {
  for (let i = 0; i < aCount; i++) {
    const row = i * bCount;
    for (let j = 0; j < bCount; j++) out[row + j] = boxIou(a, i, b, j);
  }
  return out;
}

const bufferedA = new Float64Array(4);
const bufferedB = new Float64Array(4);

/**
 * IoU of box `i` of `a` and box `j` of `b` after enlarging each by `buffer` x its own width and height
 * on every side (C-BIoU's buffered IoU): boxes a little further apart than they overlap can still match.
 */
export function bufferedIou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, buffer: number): number {
  enlarge(a, 4 * i, buffer, bufferedA);
  enlarge(b, 4 * j, buffer, bufferedB);
  return boxIou(bufferedA, 0, bufferedB, 0);
}

function enlarge(boxes: ArrayLike<number>, at: number, buffer: number, out: Float64Array): void {
  const dx = buffer * (boxes[at + 2]! - boxes[at]!);
  const dy = buffer * (boxes[at + 3]! - boxes[at + 1]!);
  out[0] = boxes[at]! - dx;
  out[1] = boxes[at + 1]! - dy;
  out[2] = boxes[at + 2]! + dx;
  out[3] = boxes[at + 3]! + dy;
}
