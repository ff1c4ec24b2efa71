/**
 * Partly hidden detections. When another object covers part of a tracked object, the detector boxes
 * only the visible part, so the box shrinks from the covered side. Fed to the filter as it is, that
 * moving edge drags the centre and the velocity towards the visible side, and when the object comes
 * out on the far side the prediction misses it and the track is lost.
 *
 * `occlusionAwareBox` turns such a detection into a measurement that keeps the visible edge and most
 * of the predicted extent. It acts only when the shrink is explained by an occluder in the same frame:
 *  - on one side the detection lost more than `minShrink` of the predicted extent, while its opposite
 *    (visible) edge agrees with the prediction (within `edgeTolerance` x the size change);
 *  - another detection (any class) covers the lost strip, from the detection's edge (its near edge
 *    within `edgeTolerance` x the strip's depth of it: the visible part ends where the occluder begins)
 *    to at least the predicted edge, and overlaps the detection on the other axis.
 * An isolated box that shrinks (detector noise, a person turning) is measured as it is, and so is a
 * box deep inside another (two overlapping people).
 *
 * Boxes are [x1, y1, x2, y2]; pure functions on array-likes, no allocation.
 */

export interface OcclusionOptions {
  /** A side counts as lost when its edge moved inwards by more than this fraction of the predicted extent; 0 disables the adjustment. */
  minShrink: number;
  /** Fraction of the size change that is believed on a hidden axis (0: keep the predicted extent). */
  sizeTrust: number;
  /** How well edges must agree: the visible edge with the prediction (x size change), the occluder's edge with the hidden edge (x lost depth). */
  edgeTolerance: number;
}

export const DEFAULT_OCCLUSION_OPTIONS: OcclusionOptions = { minShrink: 0.05, sizeTrust: 0.15, edgeTolerance: 0.25 };

/**
 * Whether one of the `count` boxes packed in `others` hides side `side` (0: low edge, 1: high edge)
 * of `det` on axis `k` (0: x, 1: y) up to the predicted edge `predEdge`: the box's near edge is within
 * `tolerance` x depth of the detection's edge (depth = how far the edge moved in from `predEdge`), its
 * far edge reaches `predEdge`, and it overlaps the detection on the other axis. The detection itself
 * never qualifies (it does not reach past its own edge).
 */
export function coversSide(
  det: ArrayLike<number>,
  k: number,
  side: 0 | 1,
  predEdge: number,
  others: ArrayLike<number>,
  count: number,
  tolerance: number,
): boolean {
  const j = 1 - k;
  const edge = side === 0 ? det[k]! : det[k + 2]!;
  const depth = side === 0 ? edge - predEdge : predEdge - edge;
  if (!(depth > 0)) return false;
  const slack = tolerance * depth;
  const dLo = det[j]!, dHi = det[j + 2]!;
  for (let o = 0; o < count; o++) {
    const b = 4 * o;
    if (others[b + j]! >= dHi || others[b + j + 2]! <= dLo) continue;
    const lo = others[b + k]!, hi = others[b + k + 2]!;
    const hides = side === 1
      ? Math.abs(lo - edge) <= slack && hi >= predEdge
      : Math.abs(hi - edge) <= slack && lo <= predEdge;
    if (hides) return true;
  }
  return false;
}

/**
 * The measurement for detection box `det` of a track predicted at `pred`, written to `out` (returned).
 * Per axis: if one side of the detection is hidden (see the module comment; `others` holds `count`
 * packed boxes of the frame, which may include `det` itself), the opposite edge is kept and the
 * extent becomes `predicted - sizeTrust x shrink`; otherwise the detection's edges are copied.
 */
export function occlusionAwareBox(
  pred: ArrayLike<number>,
  det: ArrayLike<number>,
  others: ArrayLike<number>,
  count: number,
  options: OcclusionOptions,
  out: Float64Array,
): Float64Array {
  const { minShrink, sizeTrust, edgeTolerance } = options;
  for (let k = 0; k < 2; k++) {
    let lo = det[k]!;
    let hi = det[k + 2]!;
    const predicted = pred[k + 2]! - pred[k]!;
    const shrink = predicted - (hi - lo);
    const limit = minShrink * predicted;
    if (minShrink > 0 && shrink > limit) {
      const loLost = lo - pred[k]!;
      const hiLost = pred[k + 2]! - hi;
      const agree = edgeTolerance * shrink;
      const extent = predicted - sizeTrust * shrink;
      if (hiLost > limit && Math.abs(loLost) <= agree && coversSide(det, k, 1, pred[k + 2]!, others, count, edgeTolerance)) {
        hi = lo + extent;
      } else if (loLost > limit && Math.abs(hiLost) <= agree && coversSide(det, k, 0, pred[k]!, others, count, edgeTolerance)) {
        lo = hi - extent;
      }
    }
    out[k] = lo;
    out[k + 2] = hi;
  }
  return out;
}
