/**
 * Segmentation adapters: YOLOv8/YOLO11-seg (anchor rows with trailing coefficients, NMS) and
 * YOLO26-seg (end-to-end rows x1,y1,x2,y2,score,class + coefficients). Both take prototype masks
 * output1 [B, nm, mh, mw]; masks are built only for kept detections (see masks.ts).
 */
import type { Letterbox } from '../../types.js';
import { maskFromProtos, type Protos } from './masks.js';
import type { OutputAdapter, OutputTensor } from './types.js';
import { decodeEnd2End } from './yolov10.js';
import { createScratch, decodeAnchors } from './yolov8.js';

function protosOf(out: OutputTensor, b: number): Protos {
  const [, nm, mh, mw] = out.dims;
  return { data: out.data, offset: b * nm * mh * mw, nm, mh, mw };
}

/** Model input size from the letterbox (the canvas the protos cover). */
const inputSize = (lb: Letterbox): [number, number] => [lb.dstWidth, lb.dstHeight];

export function createYolov8SegAdapter(names: Readonly<Record<number, string>>): OutputAdapter {
  const scratch = createScratch();
  return {
    format: 'yolov8-seg',
    decode(outputs, b, lb, opts) {
      const [det, proto] = outputs;
      const protos = protosOf(proto, b);
      const [, channels, n] = det.dims;
      const coefRow = channels - protos.nm;
      const coef = new Float32Array(protos.nm);
      const base = b * channels * n;
      const [inW, inH] = inputSize(lb);
      return decodeAnchors(det, b, lb, opts, names, protos.nm, scratch, (anchor, d) => {
        for (let k = 0; k < protos.nm; k++) coef[k] = det.data[base + (coefRow + k) * n + anchor];
        d.mask = maskFromProtos(protos, coef, d.box, lb, inW, inH);
      });
    },
  };
}

export function createYolo26SegAdapter(names: Readonly<Record<number, string>>): OutputAdapter {
  return {
    format: 'yolo26-seg',
    decode(outputs, b, lb, opts) {
      const [det, proto] = outputs;
      const protos = protosOf(proto, b);
      const [inW, inH] = inputSize(lb);
      return decodeEnd2End(det, b, lb, opts, names, (row, d) => {
        d.mask = maskFromProtos(protos, det.data.subarray(row + 6, row + 6 + protos.nm), d.box, lb, inW, inH);
      });
    },
  };
}
