import { describe, expect, it } from 'vitest';
import { decodeRle, encodeRle, encodeRleRegion, rleArea } from '../src/infer/adapters/rle.js';
import { createYolov10Adapter } from '../src/infer/adapters/yolov10.js';
import { createYolov8Adapter } from '../src/infer/adapters/yolov8.js';
import { createYolo26SegAdapter, createYolov8SegAdapter } from '../src/infer/adapters/segment.js';
import { nmsPerClass } from '../src/infer/adapters/nms.js';
import { maskFromProtos, type Protos } from '../src/infer/adapters/masks.js';
import { createAdapter, resolveContract } from '../src/infer/adapters/select.js';
import { MODEL_FORMATS, type ModelFormat } from '../src/config/schema.js';
import type { ModelFile } from '../src/infer/onnx/modelFile.js';
import { computeLetterbox } from '../src/ingest/letterbox.js';
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

describe('model contract (resolveContract)', () => {
  type Spec = { name: string; elemType?: number; dims: Array<number | string> | null };
  const tensor = ({ name, elemType = 1, dims }: Spec) => ({ name, elemType, dims });
  function model(inputs: Spec[], outputs: Spec[], ultralytics: ModelFile['ultralytics'] = {}): ModelFile {
    return { path: 'm.onnx', irVersion: 8, inputs: inputs.map(tensor), outputs: outputs.map(tensor), metadata: {}, ultralytics };
  }
  const images = { name: 'images', dims: ['batch', 3, 640, 640] };
  const names = { 0: 'a', 1: 'b' };

  it('reads a yolov10 end-to-end model: dynamic batch, size from the input, names from metadata', () => {
    expect(resolveContract(model([images], [{ name: 'output0', dims: ['batch', 300, 6] }], { names, stride: 32 }))).toEqual({
      format: 'yolov10', inputName: 'images', outputNames: ['output0'], batch: 'dynamic', imgsz: [640, 640], dynamicSize: false,
      task: 'detect', nc: 2, names, stride: 32,
    });
    // Without metadata the class count is unknown (0) and classes are labelled by id.
    const bare = resolveContract(model([{ name: 'x', dims: [1, 3, 320, 256] }], [{ name: 'y', dims: [1, 300, 6] }]));
    expect(bare).toMatchObject({ format: 'yolov10', inputName: 'x', batch: 1, imgsz: [320, 256], nc: 0, names: {} });
    expect(bare.stride).toBeUndefined();
  });

  it('reads yolov8 (class count from the channels), yolov8-seg and yolo26-seg (nm from the protos)', () => {
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 84, 8400] }]))).toMatchObject({ format: 'yolov8', nc: 80, task: 'detect' });
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 116, 8400] }, { name: 'p', dims: [1, 32, 160, 160] }]))).toMatchObject({
      format: 'yolov8-seg', nc: 80, task: 'segment', outputNames: ['o', 'p'],
    });
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 300, 38] }, { name: 'p', dims: [1, 32, 160, 160] }], { names }))).toMatchObject({
      format: 'yolo26-seg', nc: 2, task: 'segment',
    });
    // A v8 head that happens to end in 6 anchors is told apart by the end2end metadata.
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 6, 6] }], { names, end2end: false })).format).toBe('yolov8');
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 6, 6] }], { names })).format).toBe('yolov10');
  });

  it('accepts the detect and segment tasks, one class, extra outputs that are not protos, and a v10 head marked end2end=false', () => {
    const out = [{ name: 'o', dims: [1, 300, 6] }];
    expect(resolveContract(model([images], out, { task: 'detect' })).task).toBe('detect');
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 300, 38] }, { name: 'p', dims: [1, 32, 160, 160] }], { task: 'segment' })).task).toBe('segment');
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 5, 8400] }])).nc).toBe(1);
    expect(resolveContract(model([images], [...out, { name: 'extra', dims: [1, 300] }])).format).toBe('yolov10');
    expect(resolveContract(model([images], [...out, { name: 'extra', dims: null }])).format).toBe('yolov10');
    expect(resolveContract(model([images], out, { names, end2end: false })).format).toBe('yolov10');
  });

  it('takes the size from metadata when the input is dynamic, and refuses when neither tells', () => {
    const dyn = { name: 'images', dims: ['batch', 3, 'height', 'width'] };
    expect(resolveContract(model([dyn], [{ name: 'o', dims: [1, 300, 6] }], { imgsz: [480, 640] }))).toMatchObject({ imgsz: [480, 640], dynamicSize: true });
    // A zero, negative or symbolic dimension is not a size (nor a batch size).
    const o = [{ name: 'o', dims: [1, 300, 6] }];
    expect(resolveContract(model([{ name: 'images', dims: [0, 3, 0, 640] }], o, { imgsz: [32, 32] }))).toMatchObject({ imgsz: [32, 32], batch: 'dynamic', dynamicSize: true });
    expect(resolveContract(model([{ name: 'images', dims: [-1, 3, 640, -1] }], o, { imgsz: [32, 32] }))).toMatchObject({ imgsz: [32, 32], batch: 'dynamic', dynamicSize: true });
    expect(resolveContract(model([{ name: 'images', dims: [1, 3, 640, 'width'] }], o, { imgsz: [640, 480] })).dynamicSize).toBe(true);
    expect(() => resolveContract(model([dyn], [{ name: 'o', dims: [1, 300, 6] }]))).toThrow(
      "model input 'images' has dynamic size [batch,3,height,width] and no 'imgsz' metadata",
    );
  });

  it('honours a forced format and refuses an unknown one', () => {
    expect(resolveContract(model([images], [{ name: 'o', dims: [1, 84, 8400] }]), 'yolov8').format).toBe('yolov8');
    expect(() => resolveContract(model([images], [{ name: 'o', dims: [1, 300, 6] }]), 'yolo5' as ModelFormat)).toThrow(
      "format 'yolo5' is not one of yolov10, yolov8, yolov8-seg, yolo26-seg",
    );
  });

  it('names the tensor, its shape and the expectation in every rejection', () => {
    const out = [{ name: 'o', dims: [1, 300, 6] }];
    const cases: Array<[ModelFile, ModelFormat | undefined, string]> = [
      [model([images], out, { task: 'pose' }), undefined, "model task 'pose' is not supported (detect and segment are)"],
      [model([], out), undefined, 'model has 0 inputs (); expected one image input [B,3,H,W] float32'],
      [model([images, { name: 'scale', dims: [1] }], out), undefined, "model has 2 inputs ('images', 'scale'); expected one image input [B,3,H,W] float32"],
      [model([{ name: 'images', dims: null }], out), undefined, "model input 'images' has shape [unknown rank] float32; expected [B,3,H,W] float32"],
      [model([{ name: 'images', dims: [1, 3, 640] }], out), undefined, "model input 'images' has shape [1,3,640] float32; expected [B,3,H,W] float32"],
      [model([{ name: 'images', dims: [1, 1, 64, 64] }], out), undefined, "model input 'images' has shape [1,1,64,64] float32; expected [B,3,H,W] float32"],
      [model([{ name: 'images', elemType: 10, dims: [1, 3, 64, 64] }], out), undefined, "model input 'images' has shape [1,3,64,64] element type 10; expected [B,3,H,W] float32"],
      [model([images], []), undefined, 'model has no outputs'],
      [model([images], [{ name: 'o', elemType: 10, dims: [1, 300, 6] }]), undefined, "model output 'o' is element type 10; expected float32"],
      [model([images], [{ name: 'o', dims: [1, 4, 8400] }]), undefined, "model output 'o' has shape [1,4,8400]; expected [B,N,6] (yolov10) or [B,4+nc,N] (yolov8)"],
      [model([images], [{ name: 'o', dims: [1, 300] }]), undefined, "model output 'o' has shape [1,300]; expected [B,N,6] (yolov10) or [B,4+nc,N] (yolov8)"],
      [model([images], [{ name: 'o', dims: null }]), 'yolov10', "model output 'o' has shape [unknown rank]; expected [B,N,6] (yolov10)"],
      [model([images], [{ name: 'o', dims: [1, 300, 7] }]), 'yolov10', "model output 'o' has shape [1,300,7]; expected [B,N,6] (yolov10)"],
      [model([images], [{ name: 'o', dims: [1, 'c', 8400] }]), 'yolov8', "model output 'o' has shape [1,c,8400]; expected [B,4+nc,N] (yolov8)"],
      [model([images], [{ name: 'o', dims: [1, 84] }]), 'yolov8', "model output 'o' has shape [1,84]; expected [B,4+nc,N] (yolov8)"],
      [model([{ name: 'images', dims: [1, 3, '640', '640'] }], out), undefined, "model input 'images' has dynamic size [1,3,640,640] and no 'imgsz' metadata"],
      [model([images], [{ name: 'o', dims: [1, 4, 8400] }]), 'yolov8', "model output 'o' has shape [1,4,8400]; expected [B,4+nc,N] (yolov8)"],
      [model([images], [{ name: 'o', dims: [1, 84, 8400] }], { names }), undefined, "model output 'o' has shape [1,84,8400], which implies 80 classes, but metadata 'names' lists 2"],
      [model([images], out), 'yolov8-seg', 'model has no prototype-mask output; expected [B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)'],
      [model([images], [...out, { name: 'p', dims: [1, 32, 160] }]), 'yolo26-seg', "model output 'p' has shape [1,32,160]; expected [B,nm,mh,mw] prototype masks"],
      [model([images], [...out, { name: 'p', dims: [1, 'nm', 160, 160] }]), 'yolo26-seg', "model output 'p' has shape [1,nm,160,160]; expected [B,nm,mh,mw] prototype masks"],
      [model([images], [{ name: 'o', dims: [1, 300, 6] }, { name: 'p', dims: [1, 32, 160, 160] }]), 'yolo26-seg', "model output 'o' has shape [1,300,6]; expected [B,N,6+nm] with protos [B,nm,mh,mw] (yolo26-seg)"],
      [model([images], [{ name: 'o', dims: [1, 36, 8400] }, { name: 'p', dims: [1, 32, 160, 160] }]), 'yolov8-seg', "model output 'o' has shape [1,36,8400]; expected [B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)"],
      [model([images], [{ name: 'o', dims: [1, 30, 6] }, { name: 'p', dims: [1, 32, 160, 160] }]), undefined, "model output 'o' has shape [1,30,6]; expected [B,N,6+nm] with protos [B,nm,mh,mw] (yolo26-seg) or [B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)"],
      [model([images], [{ name: 'o', dims: [1, 300] }, { name: 'p', dims: [1, 32, 160, 160] }]), undefined, "model output 'o' has shape [1,300]; expected [B,N,6+nm] with protos [B,nm,mh,mw] (yolo26-seg) or [B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)"],
      [model([images], [{ name: 'o', dims: null }]), undefined, "model output 'o' has shape [unknown rank]; expected [B,N,6] (yolov10) or [B,4+nc,N] (yolov8)"],
      [model([images], [{ name: 'o', dims: null }, { name: 'p', dims: [1, 32, 160, 160] }]), undefined, "model output 'o' has shape [unknown rank]; expected [B,N,6+nm] with protos [B,nm,mh,mw] (yolo26-seg) or [B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)"],
      [model([images], [{ name: 'o', dims: [1, 36, 8400] }, { name: 'p', dims: [1, 32, 160, 160] }]), undefined, "model output 'o' has shape [1,36,8400]; expected [B,N,6+nm] with protos [B,nm,mh,mw] (yolo26-seg) or [B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)"],
      [model([images], [{ name: 'o', dims: [1, 116, 8400] }, { name: 'p', dims: [1, 'nm', 160, 160] }]), undefined, "model output 'o' has shape [1,116,8400]; expected [B,N,6+nm] with protos [B,nm,mh,mw] (yolo26-seg) or [B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)"],
    ];
    for (const [m, format, message] of cases) expect(() => resolveContract(m, format), message).toThrow(new Error(message));
  });

  it('creates the adapter of each format', () => {
    for (const format of MODEL_FORMATS) expect(createAdapter(format, names).format).toBe(format);
    expect(MODEL_FORMATS).toEqual(['yolov10', 'yolov8', 'yolov8-seg', 'yolo26-seg']);
  });
});

describe('per-class NMS at its edges', () => {
  const nms = (boxes: number[][], scores: number[], classes: number[], iou: number, maxDet = 300): number[] =>
    nmsPerClass(Float32Array.from(boxes.flat()), Float32Array.from(scores), Int32Array.from(classes), boxes.length, iou, maxDet);

  it('suppresses only above the IoU threshold: exactly at it, both stay (Ultralytics compares strictly)', () => {
    // [0,0,4,1] and [0,0,2,1]: intersection 2, union 4, IoU exactly 0.5.
    const boxes = [[0, 0, 4, 1], [0, 0, 2, 1]];
    expect(nms(boxes, [0.9, 0.8], [0, 0], 0.5)).toEqual([0, 1]);
    expect(nms(boxes, [0.9, 0.8], [0, 0], 0.4999)).toEqual([0]);
  });

  it('measures the overlap on both axes', () => {
    // Offset vertically: IoU 50 / 150 = 1/3.
    const boxes = [[0, 0, 10, 10], [0, 5, 10, 15]];
    expect(nms(boxes, [0.9, 0.8], [0, 0], 0.34)).toEqual([0, 1]);
    expect(nms(boxes, [0.9, 0.8], [0, 0], 0.33)).toEqual([0]);
    // Apart on one axis, or diagonally, nothing overlaps whatever the threshold.
    expect(nms([[0, 0, 10, 10], [10, 0, 20, 10], [0, 12, 10, 22], [12, 12, 22, 22]], [0.9, 0.8, 0.7, 0.6], [0, 0, 0, 0], 0)).toEqual([0, 1, 2, 3]);
  });

  it('breaks score ties by index and stops at maxDet', () => {
    expect(nms([[0, 0, 1, 1], [0, 0, 1, 1], [5, 5, 6, 6]], [0.5, 0.5, 0.5], [0, 0, 0], 0.7)).toEqual([0, 2]);
    expect(nms([[0, 0, 1, 1], [2, 2, 3, 3], [5, 5, 6, 6]], [0.5, 0.7, 0.6], [0, 0, 0], 0.7, 2)).toEqual([1, 2]);
  });
});

describe('yolov8 adapter at its edges', () => {
  it('keeps a score above conf only, takes the first class on a tie, and reads every anchor\'s own box', () => {
    const out = anchorTensor([
      [10, 10, 4, 2, 0.5, 0.1], // exactly conf: dropped
      [30, 10, 6, 8, 0.6, 0.6], // tie: class 0
      [50, 30, 2, 10, 0.2, 0.9],
    ]);
    const dets = createYolov8Adapter(names).decode([out], 0, identity(64, 64), { conf: 0.5 });
    expect(dets.map((d) => [d.class, d.score])).toEqual([[1, Math.fround(0.9)], [0, Math.fround(0.6)]]);
    expectBox(dets[0].box, [49, 25, 51, 35]);
    expectBox(dets[1].box, [27, 6, 33, 14]);
  });

  it('decodes the requested image of a batch', () => {
    const a = anchorTensor([[10, 10, 4, 4, 0.9, 0.0], [40, 40, 4, 4, 0.0, 0.8]]);
    const b = anchorTensor([[20, 20, 8, 8, 0.0, 0.7], [50, 50, 6, 6, 0.6, 0.0]]);
    const batch = { data: Float32Array.from([...a.data, ...b.data]), dims: [2, 6, 2] };
    const dets = createYolov8Adapter(names).decode([batch], 1, identity(64, 64), { conf: 0.25 });
    expect(dets.map((d) => d.class)).toEqual([1, 0]);
    expectBox(dets[0].box, [16, 16, 24, 24]);
    expectBox(dets[1].box, [47, 47, 53, 53]);
  });

  it('an empty class filter keeps every class; a smaller output after a larger one decodes only its own anchors', () => {
    const adapter = createYolov8Adapter(names);
    const big = anchorTensor(Array.from({ length: 8 }, (_, j) => [8 * j + 4, 4, 4, 4, 0.9, 0.0]));
    expect(adapter.decode([big], 0, identity(64, 64), { conf: 0.25, classes: [] })).toHaveLength(8);
    const small = anchorTensor([[4, 4, 4, 4, 0.9, 0.0], [20, 4, 4, 4, 0.0, 0.8]]);
    expect(adapter.decode([small], 0, identity(64, 64), { conf: 0.25 }).map((d) => d.class)).toEqual([0, 1]);
  });

  it('considers only the 30000 best candidates before NMS (Ultralytics max_nms), ties to the lower anchor', () => {
    // 29995 anchors in 100 groups of heavily overlapping boxes (each member shifted a little), and 20
    // isolated boxes scoring 0.3, below every group member: 10 before the groups, 10 after. The cap
    // keeps the groups and the 5 lowest-numbered of the tied 0.3 anchors; NMS then returns the best
    // of each group and those 5.
    const groups = 100;
    const n = 30_015;
    const weak = (j: number): boolean => j < 10 || j >= 30_005;
    const data = new Float32Array(5 * n);
    const box = (j: number): number[] => {
      if (weak(j)) return [700 + 20 * (j % 30_005), 700, 4, 4];
      const g = j % groups;
      return [60 * (g % 10) + 30 + (j % 7) * 0.01, 60 * Math.floor(g / 10) + 30 + (j % 5) * 0.01, 40, 40];
    };
    const scoreOf = (j: number): number => Math.fround(weak(j) ? 0.3 : 0.5 + ((j * 37) % 1000) / 2500);
    for (let j = 0; j < n; j++) {
      box(j).forEach((v, k) => (data[k * n + j] = v));
      data[4 * n + j] = scoreOf(j);
    }
    const best = new Map<number, number>();
    for (let j = 0; j < n; j++) {
      if (weak(j)) continue;
      const b = best.get(j % groups);
      if (b === undefined || scoreOf(j) > scoreOf(b)) best.set(j % groups, j);
    }
    const expected = [...[...best.values()].sort((a, b) => scoreOf(b) - scoreOf(a) || a - b), 0, 1, 2, 3, 4];
    const dets = createYolov8Adapter(names).decode([{ data, dims: [1, 5, n] }], 0, identity(1200, 800), { conf: 0.25 });
    expect(dets.map((d) => d.score)).toEqual(expected.map(scoreOf));
    dets.forEach((d, i) => {
      const [cx, cy, w, h] = box(expected[i]!).map(Math.fround);
      expectBox(d.box, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]);
    });
  });
});

describe('yolov10 adapter: letterbox with horizontal padding', () => {
  it('subtracts the pad on x as on y', () => {
    // src 100x200 into 64x64: scale 0.32, resized 32x64, pad (16, 0).
    const tall: Letterbox = { srcWidth: 100, srcHeight: 200, dstWidth: 64, dstHeight: 64, scale: 0.32, resizedWidth: 32, resizedHeight: 64, padX: 16, padY: 0 };
    const out = { data: Float32Array.from([24, 8, 40, 40, 0.9, 0]), dims: [1, 1, 6] };
    const [d] = createYolov10Adapter(names).decode([out], 0, tall, { conf: 0.25 });
    expectBox(d.box, [25, 25, 75, 125]);
  });
});

describe('RLE edge cases', () => {
  it('never writes zero-length runs between columns (a column ending set, the next starting set)', () => {
    expect(encodeRle(new Uint8Array(4).fill(1), 2, 2)).toEqual({ size: [2, 2], counts: [0, 4] });
    expect(encodeRleRegion(new Uint8Array(4).fill(1), 1, 0, 2, 2, 3, 2)).toEqual({ size: [2, 3], counts: [2, 4] });
  });

  it('rejects a mask of the wrong size and counts that do not cover the mask exactly', () => {
    expect(() => encodeRle(new Uint8Array(5), 2, 3)).toThrow('encodeRle: mask has 5 pixels, expected 2x3');
    expect(() => decodeRle({ size: [2, 3], counts: [4, 3] })).toThrow('decodeRle: counts exceed the mask size');
    expect(() => decodeRle({ size: [2, 3], counts: [2, 3] })).toThrow('decodeRle: counts cover 5 of 6 pixels');
    expect(decodeRle({ size: [2, 3], counts: [2, 4] })).toEqual(Uint8Array.from([0, 1, 1, 0, 1, 1]));
  });
});

describe('masks from prototypes against a brute-force reference', () => {
  /**
   * The documented rule computed the slow way: the full logit map, then for every source pixel
   * whose centre is in the box, its centre mapped through the letterbox to proto coordinates
   * (half-pixel centres) and sampled bilinearly with the edges clamped. Returns 1 (set), 0, or
   * -1 where the logit is too close to 0 for float32 and float64 to agree.
   */
  function reference(protos: Protos, coef: number[], box: number[], lb: Letterbox, inW: number, inH: number): Int8Array {
    const { data, offset, nm, mh, mw } = protos;
    const logit = (r: number, c: number): number => coef.reduce((s, ck, k) => s + ck * data[offset + k * mh * mw + r * mw + c], 0);
    const out = new Int8Array(lb.srcWidth * lb.srcHeight);
    for (let v = 0; v < lb.srcHeight; v++) {
      for (let u = 0; u < lb.srcWidth; u++) {
        if (!(u + 0.5 >= box[0] && u + 0.5 < box[2] && v + 0.5 >= box[1] && v + 0.5 < box[3])) continue;
        const x = Math.min(Math.max(((u + 0.5) * lb.scale + lb.padX) * (mw / inW) - 0.5, 0), mw - 1);
        const y = Math.min(Math.max(((v + 0.5) * lb.scale + lb.padY) * (mh / inH) - 0.5, 0), mh - 1);
        const [x0, y0] = [Math.floor(x), Math.floor(y)];
        const [x1, y1] = [Math.min(x0 + 1, mw - 1), Math.min(y0 + 1, mh - 1)];
        const [wx, wy] = [x - x0, y - y0];
        const value = (logit(y0, x0) * (1 - wx) + logit(y0, x1) * wx) * (1 - wy) + (logit(y1, x0) * (1 - wx) + logit(y1, x1) * wx) * wy;
        out[v * lb.srcWidth + u] = Math.abs(value) < 1e-4 ? -1 : value > 0 ? 1 : 0;
      }
    }
    return out;
  }

  it('matches on random protos, coefficients, boxes and letterboxes (image 1 of a batch of 2)', () => {
    let seed = 11;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
    let compared = 0;
    for (let t = 0; t < 40; t++) {
      const [nm, mh, mw] = [int(1, 3), int(3, 9), int(3, 9)];
      const [inW, inH] = [4 * mw, 4 * mh];
      const [srcW, srcH] = [int(5, 40), int(5, 40)];
      const lb = computeLetterbox(srcW, srcH, inW, inH);
      const data = Float32Array.from({ length: 2 * nm * mh * mw }, () => int(-3, 3));
      const protos: Protos = { data, offset: nm * mh * mw, nm, mh, mw };
      const coef = Array.from({ length: nm }, () => (t % 5 === 0 && nm > 1 ? 0 : int(-2, 2) || 1));
      const x1 = rnd() * srcW, y1 = rnd() * srcH;
      const box = [x1, y1, x1 + rnd() * (srcW - x1), y1 + rnd() * (srcH - y1)];
      const got = decodeRle(maskFromProtos(protos, coef, box as [number, number, number, number], lb, inW, inH));
      const want = reference(protos, coef, box, lb, inW, inH);
      want.forEach((w, i) => {
        if (w === -1) return;
        compared++;
        expect(got[i], `case ${t}, pixel ${i}`).toBe(w);
      });
    }
    expect(compared).toBeGreaterThan(40 * 20);
  });

  it('sets a pixel only where the logit is above 0, not at 0', () => {
    const zero: Protos = { data: new Float32Array(16), offset: 0, nm: 1, mh: 4, mw: 4 };
    expect(maskFromProtos(zero, [1], [0, 0, 8, 8], identity(8, 8), 8, 8)).toEqual({ size: [8, 8], counts: [64] });
  });

  it('a box without a pixel centre inside gives an empty mask of the frame size', () => {
    const protos: Protos = { data: new Float32Array(16).fill(1), offset: 0, nm: 1, mh: 4, mw: 4 };
    const lb = identity(8, 6);
    for (const box of [[2, 1, 2.4, 5], [1, 3, 6, 3.2], [0, 0, 0, 0]] as Array<[number, number, number, number]>) {
      expect(maskFromProtos(protos, [1], box, lb, 8, 8)).toEqual({ size: [6, 8], counts: [48] });
    }
  });
});

describe('segmentation adapters: batches and coefficients', () => {
  // Two images of protos [2, 2, 2, 2] over an 8x8 input: image 0 all -1, image 1 channel 0 +1 on the
  // left half, -1 on the right; channel 1 -3 on the left, +3 on the right.
  const protos = { data: Float32Array.from([...new Array(8).fill(-1), 1, -1, 1, -1, -3, 3, -3, 3]), dims: [2, 2, 2, 2] };

  it('yolov8-seg takes image 1\'s anchors, its coefficient rows and its protos', () => {
    // channels 4 + 1 class + 2 coefficients, 2 anchors per image; image 1 anchor 1 is the detection.
    const image = (a: number[][]): number[] => [0, 1, 2, 3, 4, 5, 6].flatMap((c) => a.map((anchor) => anchor[c]));
    const det = { data: Float32Array.from([...image([[4, 4, 8, 8, 0.9, 1, 0], [4, 4, 8, 8, 0.1, 1, 0]]), ...image([[4, 4, 8, 8, 0.1, 1, 0], [4, 4, 8, 8, 0.9, 1, -1]])]), dims: [2, 7, 2] };
    const [d] = createYolov8SegAdapter(names).decode([det, protos], 1, identity(8, 8), { conf: 0.25 });
    // coefficients (1, -1): logit +4 on the left half, -4 on the right.
    const m = decodeRle(d.mask!);
    expect([m[0], m[3], m[4], m[7]]).toEqual([1, 1, 0, 0]);
    expect(rleArea(d.mask!)).toBe(32);
  });

  it('yolo26-seg takes image 1\'s rows and protos', () => {
    // The same row in both images (coefficients (1, 0)): the protos tell them apart.
    const det = { data: Float32Array.from([0, 0, 8, 8, 0.9, 0, 1, 0, 0, 0, 8, 8, 0.9, 0, 1, 0]), dims: [2, 1, 8] };
    const [d0] = createYolo26SegAdapter(names).decode([det, protos], 0, identity(8, 8), { conf: 0.25 });
    const [d1] = createYolo26SegAdapter(names).decode([det, protos], 1, identity(8, 8), { conf: 0.25 });
    expect(rleArea(d0.mask!)).toBe(0);
    const m = decodeRle(d1.mask!);
    expect([m[0], m[3], m[4], m[7]]).toEqual([1, 1, 0, 0]);
  });
});
