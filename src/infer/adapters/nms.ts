/**
 * Greedy per-class non-maximum suppression over typed arrays: sort once by score, then each
 * candidate is compared only with kept boxes of its own class. Pure.
 */
import { boxIou } from '../../geometry/iou.js';

/**
 * @param boxes  x1,y1,x2,y2 per candidate (length >= 4n)
 * @returns indices of kept candidates, highest score first, at most maxDet.
 */
export function nmsPerClass(
  boxes: Float32Array,
  scores: Float32Array,
  classes: Int32Array,
  n: number,
  iouThreshold: number,
  maxDet: number,
): number[] {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const kept: number[] = [];
  for (let oi = 0; oi < n && kept.length < maxDet; oi++) {
    const i = order[oi];
    let suppressed = false;
    for (let k = 0; k < kept.length; k++) {
      const j = kept[k];
      if (classes[j] === classes[i] && boxIou(boxes, i, boxes, j) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(i);
  }
  return kept;
}
