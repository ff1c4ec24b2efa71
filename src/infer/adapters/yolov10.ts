/**
 * End-to-end (NMS-free) detectors: YOLOv10, YOLO26 and Ultralytics exports with nms=True.
 * output0 [B, D, 6+] rows of x1,y1,x2,y2,score,class (then extra values, e.g. mask coefficients)
 * in letterboxed input pixels.
 */
import type { Detection, Letterbox } from '../../types.js';
import { toSource } from '../../ingest/letterbox.js';
import { classFilter, DEFAULT_MAX_DET, labelOf, type DecodeOptions, type OutputAdapter, type OutputTensor } from './types.js';

/** Calls `keep(rowOffset, detection)` for each kept row, in the model's (score) order. */
export function decodeEnd2End(
  out: OutputTensor,
  batchIndex: number,
  lb: Letterbox,
  opts: DecodeOptions,
  names: Readonly<Record<number, string>>,
  keep?: (rowOffset: number, det: Detection) => void,
): Detection[] {
  const [, rows, width] = out.dims;
  const data = out.data;
  const allowed = classFilter(opts.classes);
  const maxDet = opts.maxDet ?? DEFAULT_MAX_DET;
  const dets: Detection[] = [];
  const base = batchIndex * rows * width;
  for (let r = 0; r < rows && dets.length < maxDet; r++) {
    const o = base + r * width;
    const score = data[o + 4];
    if (!(score > opts.conf)) continue;
    const cls = Math.round(data[o + 5]);
    if (allowed && !allowed(cls)) continue;
    const box = toSource([data[o], data[o + 1], data[o + 2], data[o + 3]], lb);
    const det: Detection = { box, score, class: cls, label: labelOf(names, cls) };
    keep?.(o, det);
    dets.push(det);
  }
  return dets;
}

export function createYolov10Adapter(names: Readonly<Record<number, string>>): OutputAdapter {
  return {
    format: 'yolov10',
    decode: (outputs, b, lb, opts) => decodeEnd2End(outputs[0], b, lb, opts, names),
  };
}
