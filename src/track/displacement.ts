/**
 * Displacement in sizes: how far a box's centre moved to another box, on each axis in units of the two
 * boxes' mean extent on that axis. The tracker's last association (byteTracker.ts, step 6) uses it for
 * tracks seen only once: they have no velocity yet, so their prediction sits where the object was and
 * an object that moved more than about half its size overlaps it too little for any IoU gate (a square
 * moved 0.6 of its side has IoU 0.25). A centre-distance gate in the object's own size (as the
 * gating of SORT-family trackers on centre distance, and C-BIoU's buffer, both scale with the box)
 * matches it at any displacement up to the limit, whatever the overlap.
 */

/**
 * Centre displacement from box `a` to box `b` ([x1, y1, x2, y2]), as the Euclidean norm of
 * (dx / mean width, dy / mean height); Infinity when the boxes differ in width or in height by more than
 * `maxSizeRatio` (>= 1), or either is empty. A square moved by its side along x is 1, diagonally by its
 * side on both axes is sqrt(2).
 */
export function displacementInSizes(a: ArrayLike<number>, b: ArrayLike<number>, maxSizeRatio: number): number {
  const aw = a[2]! - a[0]!, ah = a[3]! - a[1]!;
  const bw = b[2]! - b[0]!, bh = b[3]! - b[1]!;
  if (!(aw > 0 && ah > 0 && bw > 0 && bh > 0)) return Infinity;
  if (Math.max(aw, bw) > maxSizeRatio * Math.min(aw, bw) || Math.max(ah, bh) > maxSizeRatio * Math.min(ah, bh)) return Infinity;
  const dx = (b[0]! + b[2]! - a[0]! - a[2]!) / (aw + bw);
  const dy = (b[1]! + b[3]! - a[1]! - a[3]!) / (ah + bh);
  return Math.hypot(dx, dy);
}
