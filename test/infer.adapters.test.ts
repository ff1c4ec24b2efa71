import { describe, expect, it } from 'vitest';
import { decodeRle, encodeRle, encodeRleRegion, rleArea } from '../src/infer/adapters/rle.js';
import { createYolov10Adapter } from '../src/infer/adapters/yolov10.js';
import { createYolov8Adapter } from '../src/infer/adapters/yolov8.js';
import { createYolo26SegAdapter, createYolov8SegAdapter } from '../src/infer/adapters/segment.js';
import { nmsPerClass } from '../src/infer/adapters/nms.js';
import type { Letterbox } from '../src/types.js';

const names = { 0: 'person', 1: 'car', 2: 'dog' };

/** src 200x100 into 64x64: scale 0.32, resized 64x32, pad (0, 16). */
const wide: Letterbox = { srcWidth: 200, srcHeight: 100, dstWidth: 64, dstHeight: 64, scale: 0.32, resizedWidth: 64, resizedHeight: 32, padX: 0, padY: 16 };
const identity = (w: number, h: number): Letterbox => ({ srcWidth: w, srcHeight: h, dstWidth: w, dstHeight: h, scale: 1, resizedWidth: w, resizedHeight: h, padX: 0, padY: 0 });

function expectBox(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(4);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 3));
}

describe('yolov10 adapter (end-to-end [B,N,6])', () => {
  // Image 0 is a decoy; image 1 has the rows under test.
  const rows = [
    [1, 1, 2, 2, 0.99, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0],
    [16, 24, 48, 40, 0.9, 2],
    [16, 24, 48, 40, 0.25, 0], // equal to conf: dropped (strict >)
    [-8, 10, 70, 30, 0.5, 1],
  ];
  const out = { data: Float32Array.from(rows.flat()), dims: [2, 3, 6] };
  const adapter = createYolov10Adapter(names);

  it('filters by confidence, maps through the inverse letterbox and clips to the frame', () => {
    const dets = adapter.decode([out], 1, wide, { conf: 0.25 });
    expect(dets.map((d) => [d.class, d.label])).toEqual([[2, 'dog'], [1, 'car']]);
    // (x - 0) / 0.32, (y - 16) / 0.32
    expectBox(dets[0].box, [50, 25, 150, 75]);
    expect(dets[0].score).toBeCloseTo(0.9, 6);
    // x1 -25 -> 0, y1 -18.75 -> 0, x2 218.75 -> 200, y2 43.75
    expectBox(dets[1].box, [0, 0, 200, 43.75]);
  });

  it('applies the class filter and max detections', () => {
    expect(adapter.decode([out], 1, wide, { conf: 0.25, classes: [1] }).map((d) => d.class)).toEqual([1]);
    expect(adapter.decode([out], 1, wide, { conf: 0.1, maxDet: 1 }).map((d) => d.class)).toEqual([2]);
    expect(adapter.decode([out], 0, wide, { conf: 0.25 })).toHaveLength(1);
  });
});

/** [1, 4+nc, N] channel-major tensor from per-anchor [cx,cy,w,h,...scores]. */
function anchorTensor(anchors: number[][]): { data: Float32Array; dims: number[] } {
  const c = anchors[0].length;
  const n = anchors.length;
  const data = new Float32Array(c * n);
  anchors.forEach((a, j) => a.forEach((v, k) => (data[k * n + j] = v)));
  return { data, dims: [1, c, n] };
}

describe('yolov8 adapter (anchors [B,4+nc,N], per-class NMS)', () => {
  const out = anchorTensor([
    [20, 20, 20, 20, 0.9, 0.0], // a0 [10,10,30,30] class 0
    [22, 20, 20, 20, 0.8, 0.1], // a1 [12,10,32,30] class 0, IoU with a0 = 360/440 = 0.818: suppressed
    [22, 20, 20, 20, 0.1, 0.85], // a2 same box as a1 but class 1: kept
    [50, 50, 20, 20, 0.2, 0.1], // a3 below conf: dropped
    [26, 20, 20, 20, 0.7, 0.0], // a4 [16,10,36,30] class 0, IoU with a0 = 280/520 = 0.538: kept at 0.7
  ]);
  const adapter = createYolov8Adapter({ 0: 'person', 1: 'car' });
  const lb = identity(64, 64);

  it('suppresses same-class overlap, keeps other classes, drops below threshold', () => {
    const dets = adapter.decode([out], 0, lb, { conf: 0.25 });
    expect(dets.map((d) => [d.class, d.label])).toEqual([[0, 'person'], [1, 'car'], [0, 'person']]);
    expectBox(dets[0].box, [10, 10, 30, 30]);
    expectBox(dets[1].box, [12, 10, 32, 30]);
    expectBox(dets[2].box, [16, 10, 36, 30]);
    expect(dets.map((d) => d.score)).toEqual([0.9, 0.85, 0.7].map(Math.fround));
  });

  it('honours iou, max detections and the class filter', () => {
    expect(adapter.decode([out], 0, lb, { conf: 0.25, iou: 0.5 }).map((d) => d.score)).toEqual([0.9, 0.85].map(Math.fround));
    expect(adapter.decode([out], 0, lb, { conf: 0.25, maxDet: 2 })).toHaveLength(2);
    // Class filter applies to each anchor's best class (as Ultralytics): a1's best class is 0.
    expect(adapter.decode([out], 0, lb, { conf: 0.25, classes: [1] }).map((d) => d.score)).toEqual([Math.fround(0.85)]);
  });

  it('maps boxes back through the letterbox', () => {
    const dets = adapter.decode([out], 0, wide, { conf: 0.85 });
    expectBox(dets[0].box, [10 / 0.32, 0, 30 / 0.32, (30 - 16) / 0.32]);
  });

  it('nmsPerClass returns kept indices best first', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 0, 11, 10, 100, 100, 110, 110]);
    const scores = Float32Array.from([0.5, 0.6, 0.4]);
    expect(nmsPerClass(boxes, scores, Int32Array.from([0, 0, 0]), 3, 0.7, 300)).toEqual([1, 2]);
  });
});

describe('RLE (COCO uncompressed, column-major)', () => {
  it('encodes a known mask like pycocotools', () => {
    // rows: 0 1 0 / 0 1 1 / 0 0 0; column-major 0,0,0, 1,1,0, 0,1,0
    const m = Uint8Array.from([0, 1, 0, 0, 1, 1, 0, 0, 0]);
    expect(encodeRle(m, 3, 3)).toEqual({ size: [3, 3], counts: [3, 2, 2, 1, 1] });
    // A mask starting with a set pixel begins with a zero-length run.
    expect(encodeRle(Uint8Array.from([1, 0, 0, 0]), 2, 2).counts).toEqual([0, 1, 3]);
    expect(encodeRle(new Uint8Array(6), 3, 2)).toEqual({ size: [2, 3], counts: [6] });
  });

  it('round-trips random masks, and a region encodes like the full mask', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 20; t++) {
      const w = 1 + Math.floor(rnd() * 17);
      const h = 1 + Math.floor(rnd() * 13);
      const m = new Uint8Array(w * h);
      const x0 = Math.floor(rnd() * w), y0 = Math.floor(rnd() * h);
      const rw = 1 + Math.floor(rnd() * (w - x0)), rh = 1 + Math.floor(rnd() * (h - y0));
      const region = new Uint8Array(rw * rh).map(() => (rnd() < 0.5 ? 1 : 0));
      for (let y = 0; y < rh; y++) for (let x = 0; x < rw; x++) m[(y0 + y) * w + x0 + x] = region[y * rw + x];
      const rle = encodeRle(m, w, h);
      expect(decodeRle(rle)).toEqual(m);
      expect(encodeRleRegion(region, x0, y0, rw, rh, w, h)).toEqual(rle);
      expect(rleArea(rle)).toBe(m.reduce((a, b) => a + b, 0));
    }
  });
});

describe('segmentation adapters', () => {
  // Protos [1, 2, 4, 4] over a 16x16 input: channel 0 all +1; channel 1 +1 in columns 0-1, -1 in 2-3.
  const protoData = new Float32Array(2 * 16);
  protoData.fill(1, 0, 16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) protoData[16 + r * 4 + c] = c < 2 ? 1 : -1;
  const protos = { data: protoData, dims: [1, 2, 4, 4] };
  const setPixels = (mask: Uint8Array, w: number): Array<[number, number]> => {
    const out: Array<[number, number]> = [];
    mask.forEach((v, i) => v && out.push([i % w, Math.floor(i / w)]));
    return out;
  };

  it('yolo26-seg: crops the mask to the box at source resolution', () => {
    const det = { data: Float32Array.from([4, 4, 12, 8, 0.9, 0, 1, 0]), dims: [1, 1, 8] };
    const [d] = createYolo26SegAdapter(names).decode([det, protos], 0, identity(16, 16), { conf: 0.25 });
    const m = decodeRle(d.mask!);
    expect(d.mask!.size).toEqual([16, 16]);
    // pixel centres inside [4,12) x [4,8): columns 4..11, rows 4..7
    const pixels = setPixels(m, 16);
    expect(pixels).toHaveLength(32);
    expect(pixels.every(([x, y]) => x >= 4 && x < 12 && y >= 4 && y < 8)).toBe(true);
  });

  it('yolo26-seg: thresholds the bilinearly upsampled logit at 0', () => {
    // Channel 1 only: proto column c centre at x = 4c + 2; sign change half way between columns 1 and 2,
    // at input x = 8. Pixel 7 (centre 7.5) samples +0.25, pixel 8 samples -0.25.
    const det = { data: Float32Array.from([0, 0, 16, 16, 0.9, 0, 0, 1, 0, 0, 16, 16, 0.8, 1, -1, 0]), dims: [1, 2, 8] };
    const [left, none] = createYolo26SegAdapter(names).decode([det, protos], 0, identity(16, 16), { conf: 0.25 });
    const pixels = setPixels(decodeRle(left.mask!), 16);
    expect(pixels).toHaveLength(8 * 16);
    expect(Math.max(...pixels.map(([x]) => x))).toBe(7);
    expect(rleArea(none.mask!)).toBe(0);
  });

  it('yolov8-seg: masks only kept detections, mapped through the letterbox', () => {
    // src 32x16 in a 16x16 input: scale 0.5, pad (0, 4). Anchor 0 covers the image content.
    const lb: Letterbox = { srcWidth: 32, srcHeight: 16, dstWidth: 16, dstHeight: 16, scale: 0.5, resizedWidth: 16, resizedHeight: 8, padX: 0, padY: 4 };
    const det = anchorTensor([
      [8, 8, 16, 8, 0.9, 0, 1],
      [8, 8, 16, 8, 0.1, 1, 0],
    ]);
    const dets = createYolov8SegAdapter({ 0: 'blob' }).decode([det, protos], 0, lb, { conf: 0.25 });
    expect(dets).toHaveLength(1);
    expectBox(dets[0].box, [0, 0, 32, 16]);
    const m = decodeRle(dets[0].mask!);
    expect(dets[0].mask!.size).toEqual([16, 32]);
    // source column u -> input x = (u + 0.5) / 2; positive while x < 8, i.e. u <= 15
    const pixels = setPixels(m, 32);
    expect(pixels).toHaveLength(16 * 16);
    expect(Math.max(...pixels.map(([x]) => x))).toBe(15);
  });
});
