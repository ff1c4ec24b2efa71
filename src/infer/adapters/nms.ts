/**
 * Greedy per-class non-maximum suppression over typed arrays: sort once by score, then each
 * candidate is compared only with kept boxes of its own class. Pure.
 */

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
    const ax1 = boxes[4 * i], ay1 = boxes[4 * i + 1], ax2 = boxes[4 * i + 2], ay2 = boxes[4 * i + 3];
    const areaA = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1);
    let suppressed = false;
    for (let k = 0; k < kept.length; k++) {
      const j = kept[k];
      if (classes[j] !== classes[i]) continue;
      const iw = Math.min(ax2, boxes[4 * j + 2]) - Math.max(ax1, boxes[4 * j]);
      if (iw <= 0) continue;
      const ih = Math.min(ay2, boxes[4 * j + 3]) - Math.max(ay1, boxes[4 * j + 1]);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const areaB = (boxes[4 * j + 2] - boxes[4 * j]) * (boxes[4 * j + 3] - boxes[4 * j + 1]);
      if (inter / (areaA + areaB - inter) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(i);
  }
  return kept;
}

export function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}
