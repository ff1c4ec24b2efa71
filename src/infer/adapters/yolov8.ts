/**
 * YOLOv8 / YOLO11 detect: output0 [B, 4+nc(+nm), N] — per anchor cx,cy,w,h then nc class scores
 * (no objectness), then nm mask coefficients for segmentation models. Best class per anchor,
 * score > conf, optional class filter, per-class NMS (Ultralytics defaults IoU 0.7, max 300).
 */
import type { Detection, Letterbox } from '../../types.js';
import { toSource } from '../../ingest/letterbox.js';
import { nmsPerClass } from './nms.js';
import {
  classFilter,
  DEFAULT_IOU,
  DEFAULT_MAX_DET,
  labelOf,
  type DecodeOptions,
  type OutputAdapter,
  type OutputTensor,
} from './types.js';

/** Ultralytics' max_nms: candidates beyond this many (by score) are not considered. */
const MAX_NMS = 30000;

/** Scratch buffers reused across calls (adapters run on one thread). */
class Scratch {
  best = new Float32Array(0);
  bestCls = new Int32Array(0);
  boxes = new Float32Array(0);
  scores = new Float32Array(0);
  classes = new Int32Array(0);
  anchors = new Int32Array(0);
  size(n: number): void {
    if (this.best.length >= n) return;
    this.best = new Float32Array(n);
    this.bestCls = new Int32Array(n);
    this.boxes = new Float32Array(4 * n);
    this.scores = new Float32Array(n);
    this.classes = new Int32Array(n);
    this.anchors = new Int32Array(n);
  }
}

/**
 * Calls `keep(anchor, detection)` for each kept anchor, best first.
 * @param nm number of trailing mask-coefficient rows (0 for detect models)
 */
export function decodeAnchors(
  out: OutputTensor,
  batchIndex: number,
  lb: Letterbox,
  opts: DecodeOptions,
  names: Readonly<Record<number, string>>,
  nm: number,
  scratch: Scratch,
  keep?: (anchor: number, det: Detection) => void,
): Detection[] {
  const [, channels, n] = out.dims;
  const nc = channels - 4 - nm;
  const data = out.data;
  const base = batchIndex * channels * n;
  scratch.size(n);
  const { best, bestCls } = scratch;
  // Row by row keeps memory access contiguous: the layout is channel-major.
  best.fill(-Infinity, 0, n);
  for (let c = 0; c < nc; c++) {
    const row = base + (4 + c) * n;
    for (let j = 0; j < n; j++) {
      const s = data[row + j];
      if (s > best[j]) {
        best[j] = s;
        bestCls[j] = c;
      }
    }
  }
  const allowed = classFilter(opts.classes);
  const { boxes, scores, classes, anchors } = scratch;
  let m = 0;
  for (let j = 0; j < n; j++) {
    if (!(best[j] > opts.conf)) continue;
    if (allowed && !allowed(bestCls[j])) continue;
    const cx = data[base + j];
    const cy = data[base + n + j];
    const hw = data[base + 2 * n + j] / 2;
    const hh = data[base + 3 * n + j] / 2;
    boxes[4 * m] = cx - hw;
    boxes[4 * m + 1] = cy - hh;
    boxes[4 * m + 2] = cx + hw;
    boxes[4 * m + 3] = cy + hh;
    scores[m] = best[j];
    classes[m] = bestCls[j];
    anchors[m] = j;
    m++;
  }
  if (m > MAX_NMS) m = keepTopScores(scratch, m, MAX_NMS);
  const kept = nmsPerClass(boxes, scores, classes, m, opts.iou ?? DEFAULT_IOU, opts.maxDet ?? DEFAULT_MAX_DET);
  const dets: Detection[] = [];
  for (const i of kept) {
    const box = toSource([boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]], lb);
    const det: Detection = { box, score: scores[i], class: classes[i], label: labelOf(names, classes[i]) };
    keep?.(anchors[i], det);
    dets.push(det);
  }
  return dets;
}

/** Compacts the candidate arrays to the `limit` best scores (rare: only with very low conf). */
function keepTopScores(s: Scratch, m: number, limit: number): number {
  const order = new Uint32Array(m);
  for (let i = 0; i < m; i++) order[i] = i;
  order.sort((a, b) => s.scores[b] - s.scores[a] || a - b);
  const top = Array.from(order.subarray(0, limit)).sort((a, b) => a - b);
  top.forEach((src, dst) => {
    s.boxes.copyWithin(4 * dst, 4 * src, 4 * src + 4);
    s.scores[dst] = s.scores[src];
    s.classes[dst] = s.classes[src];
    s.anchors[dst] = s.anchors[src];
  });
  return limit;
}

export function createScratch(): Scratch {
  return new Scratch();
}

export function createYolov8Adapter(names: Readonly<Record<number, string>>): OutputAdapter {
  const scratch = new Scratch();
  return {
    format: 'yolov8',
    decode: (outputs, b, lb, opts) => decodeAnchors(outputs[0], b, lb, opts, names, 0, scratch),
  };
}
