/**
 * The built-in detectors of the synthetic scene, in the output layouts streamlens supports:
 * - synthetic-det: YOLOv10 / YOLO26 end-to-end, output0 [B,300,6] (x1,y1,x2,y2,score,class).
 * - synthetic-seg: end-to-end segmentation, output0 [B,300,38] (+32 mask coefficients), output1
 *   protos [B,32,S/4,S/4]. Proto c (c < 4) is class c's colour logit, the others are zero; a row's
 *   coefficients are the one-hot of its class, so sigmoid(coef . protos) > 0.5 is the class colour.
 * - synthetic-seg-v8: YOLOv8-seg layout, output0 [B,4+nc+32,N] (+ one-hot coefficients) and protos.
 * - synthetic-det-v8: YOLOv8 / YOLO11 detect, output0 [B,4+nc,N] (cx,cy,w,h, class scores) with one
 *   column per cell (stride 8 at 640, 4 at 320: N = 6400); every cell inside a detected object
 *   predicts its box, scored by the cell's own colour, so NMS is required.
 * Scores are computed from the pixels (colour-logit strength at the object's peak, or the cell's own).
 * Geometry is tuned for the scene as generated (640x480) letterboxed to the model input: at 320 the
 * targets are 8-48 px and the model works on a grid twice as fine (see `geometry`).
 */
import { OnnxGraphBuilder, int, ints, type ModelOptions } from './onnxBuilder.js';
import {
  NUM_CLASSES,
  atLeast,
  centrePeaks,
  colourLogits,
  geometry,
  pool,
  measureBoxes,
  mergeSplitPieces,
  paddedFlat,
  positive,
  suppressDuplicates,
  type Candidates,
  type Geometry,
  type MeasuredBoxes,
} from './colourDetector.js';
import { SCENE_CLASSES, namesLiteral } from './sceneSpec.js';

export const MAX_DETECTIONS = 300;
/** Logit -> score slope: a nominal class colour (logit about 2.3) scores about 0.97. */
const SCORE_SLOPE = 1.5;
const PROTOS = 32;

export type SyntheticKind = 'synthetic-det' | 'synthetic-seg' | 'synthetic-det-v8' | 'synthetic-seg-v8';

export interface BuildOptions {
  /** Square input size, a multiple of 32. */
  imgsz: number;
  /** 'dynamic' for a symbolic batch axis, or a fixed batch size. */
  batch: 'dynamic' | number;
}

export interface BuiltModel {
  builder: OnnxGraphBuilder;
  options: ModelOptions;
}

export function checkImgsz(imgsz: number): void {
  if (!Number.isInteger(imgsz) || imgsz < 64 || imgsz % 32 !== 0) {
    throw new Error(`modelgen: imgsz must be a multiple of 32 and at least 64, got ${imgsz}`);
  }
}

export function ultralyticsMetadata(task: 'detect' | 'segment', imgsz: number, batch: 'dynamic' | number, description: string, end2end: boolean): Record<string, string> {
  return {
    description,
    author: 'streamlens modelgen',
    version: '1',
    license: 'MIT',
    stride: '32',
    task,
    batch: String(batch === 'dynamic' ? 1 : batch),
    imgsz: `[${imgsz}, ${imgsz}]`,
    names: namesLiteral(SCENE_CLASSES),
    end2end: end2end ? 'True' : 'False',
    dynamic: batch === 'dynamic' ? 'True' : 'False',
  };
}

function sizeGate(g: OnnxGraphBuilder, b: MeasuredBoxes, geo: Geometry): string {
  const min = g.scalar('min_box', geo.minBoxPx);
  return g.op('Mul', [atLeast(g, g.op('Sub', [b.x2, b.x1]), min), atLeast(g, g.op('Sub', [b.y2, b.y1]), min)]);
}

/** End-to-end rows [B, 300, 6] (and the row order/class for the seg variant). */
function endToEnd(g: OnnxGraphBuilder, images: string, geo: Geometry): { rows: string; cls: string; logits: string } {
  const k = MAX_DETECTIONS;
  const logits = colourLogits(g, images, geo);
  const cand: Candidates = centrePeaks(g, logits, geo, k);
  const pieces = measureBoxes(g, paddedFlat(g, positive(g, logits), geo, 0), cand, k);
  const valid = g.op('Mul', [positive(g, cand.strength), sizeGate(g, pieces, geo)]);
  const boxes = mergeSplitPieces(g, pieces, cand.cls, valid, 2 * geo.cell, geo.maxBoxPx);
  const keep = suppressDuplicates(g, boxes, cand.cls, valid, k, 0.6);
  // Scored at the peak, the centre of the target's largest visible piece (the box centre may lie
  // under an occluder).
  const colourMatch = g.op('Sigmoid', [g.op('Mul', [cand.logit, g.scalar('score_slope', SCORE_SLOPE)])]);
  const score = g.op('Mul', [colourMatch, g.op('Mul', [valid, keep])]);
  const [, order] = g.node('TopK', [score, g.int64s('final_k', [k])], { axis: int(1), largest: int(1), sorted: int(1) }, { outputs: 2 });
  const pick = (x: string): string => g.op('Unsqueeze', [g.op('GatherElements', [x, order], { axis: int(1) }), g.int64s('ax2', [2])]);
  const cls = pick(cand.cls);
  const rows = g.op('Concat', [pick(boxes.x1), pick(boxes.y1), pick(boxes.x2), pick(boxes.y2), pick(score), cls], { axis: int(2) });
  return { rows, cls, logits };
}

export function buildSynthetic(kind: SyntheticKind, opts: BuildOptions): BuiltModel {
  const { imgsz, batch } = opts;
  checkImgsz(imgsz);
  const geo = geometry(imgsz);
  const b = batch === 'dynamic' ? 'batch' : batch;
  const g = new OnnxGraphBuilder(kind);
  const images = g.input('images', 'float32', [b, 3, imgsz, imgsz]);
  let task: 'detect' | 'segment' = 'detect';
  let description: string;
  if (kind === 'synthetic-det') {
    const { rows } = endToEnd(g, images, geo);
    g.output(g.op('Identity', [rows], {}, { output: 'output0' }), 'float32', [b, MAX_DETECTIONS, 6]);
    description = 'streamlens synthetic-scene detector (colour matching, erosion centres, run-length boxes), YOLOv10 end-to-end output';
  } else if (kind === 'synthetic-seg') {
    task = 'segment';
    const { rows, cls, logits } = endToEnd(g, images, geo);
    const channel = new Float32Array(PROTOS).map((_, i) => i);
    const coef = g.op('Cast', [g.op('Equal', [cls, g.initializer('proto_ids', [1, 1, PROTOS], channel)])], { to: int(1) });
    g.output(g.op('Concat', [rows, coef], { axis: int(2) }, { output: 'output0' }), 'float32', [b, MAX_DETECTIONS, 6 + PROTOS]);
    g.output(protos(g, logits, geo), 'float32', [b, PROTOS, imgsz / 4, imgsz / 4]);
    description = 'streamlens synthetic-scene segmenter: end-to-end rows with 32 mask coefficients, protos = class colour logits';
  } else if (kind === 'synthetic-det-v8') {
    const { columns } = perCellDetect(g, images, geo);
    g.output(g.op('Identity', [columns], {}, { output: 'output0' }), 'float32', [b, 4 + NUM_CLASSES, (geo.cells / 4) ** 2]);
    description = `streamlens synthetic-scene detector, YOLOv8/YOLO11 layout (one prediction per stride-${4 * geo.cell} cell, needs NMS)`;
  } else {
    task = 'segment';
    const { columns, cls, logits } = perCellDetect(g, images, geo);
    const channel = new Float32Array(PROTOS).map((_, i) => i);
    const coef = g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [cls, g.int64s('ax1', [1])]), g.initializer('proto_ids', [1, PROTOS, 1], channel)])], { to: int(1) });
    const cells = (geo.cells / 4) ** 2;
    g.output(g.op('Concat', [columns, coef], { axis: int(1) }, { output: 'output0' }), 'float32', [b, 4 + NUM_CLASSES + PROTOS, cells]);
    g.output(protos(g, logits, geo), 'float32', [b, PROTOS, imgsz / 4, imgsz / 4]);
    description = `streamlens synthetic-scene segmenter, YOLOv8-seg layout (one prediction per stride-${4 * geo.cell} cell + 32 mask coefficients, needs NMS)`;
  }
  return {
    builder: g,
    options: { opset: 17, docString: description, metadata: ultralyticsMetadata(task, imgsz, batch, description, !kind.endsWith('-v8')) },
  };
}

/**
 * Protos [B, 32, S/4, S/4]: channel c < 4 is class c's colour logit, the rest zero. Clipping to
 * [-1, 1] before averaging makes a pooled cell's logit cross zero where half of it is the class
 * colour, so the bilinearly upsampled mask edge lands on the colour edge.
 */
function protos(g: OnnxGraphBuilder, logits: string, geo: Geometry): string {
  const clipped = g.op('Clip', [logits, g.scalar('clip_lo', -1), g.scalar('clip_hi', 1)]);
  const logits4 = pool(g, clipped, 4 / geo.cell);
  const select = new Float32Array(PROTOS * NUM_CLASSES);
  for (let c = 0; c < NUM_CLASSES; c++) select[c * NUM_CLASSES + c] = 1;
  return g.op('Conv', [logits4, g.initializer('proto_w', [PROTOS, NUM_CLASSES, 1, 1], select)], {}, { output: 'output1' });
}

/** Objects one cell can be assigned to: the top rows of the end-to-end list (far more than a scene holds). */
const CELL_CANDIDATES = 100;

/**
 * YOLOv8 layout, one column per cell (stride 4 x the mask stride): every cell whose centre lies in
 * a detected object's box predicts that box, with the class score the cell's own colour gives that
 * class. So all cells of an object carry the same box at different scores, and NMS picks one.
 */
function perCellDetect(g: OnnxGraphBuilder, images: string, geo: Geometry): { columns: string; cls: string; logits: string } {
  const per = 4;
  const n8 = geo.cells / per;
  const cells = n8 * n8;
  const { rows, logits } = endToEnd(g, images, geo);
  const top = g.op('Slice', [rows, g.int64s('top_start', [0]), g.int64s('top_end', [CELL_CANDIDATES]), g.int64s('ax1', [1])]);
  const field = (i: number): string => g.op('Unsqueeze', [g.op('Gather', [top, g.int64(`field${i}`, [], [i])], { axis: int(2) }), g.int64s('ax1', [1])]);
  const [x1, y1, x2, y2, score, cls] = [0, 1, 2, 3, 4, 5].map(field); // each [B, 1, K]
  const centreY = new Float32Array(cells);
  const centreX = new Float32Array(cells);
  const stride = per * geo.cell;
  for (let i = 0; i < cells; i++) {
    centreY[i] = (Math.floor(i / n8) + 0.5) * stride;
    centreX[i] = ((i % n8) + 0.5) * stride;
  }
  const cy = g.initializer('cell_cy', [1, cells, 1], centreY);
  const cx = g.initializer('cell_cx', [1, cells, 1], centreX);
  const le = (a: string, b: string): string => g.op('Cast', [g.op('LessOrEqual', [a, b])], { to: int(1) });
  const lt = (a: string, b: string): string => g.op('Cast', [g.op('Less', [a, b])], { to: int(1) });
  // inside[b, n, k]: cell n's centre is in object k's box; weighted by k's score to pick the best.
  const inside = g.op('Mul', [g.op('Mul', [le(x1, cx), lt(cx, x2)]), g.op('Mul', [le(y1, cy), lt(cy, y2)])]);
  const weighted = g.op('Mul', [inside, score]);
  const owner = g.op('ArgMax', [weighted], { axis: int(2), keepdims: int(1) }); // [B, N, 1]
  const owned = positive(g, g.op('ReduceMax', [weighted], { axes: ints([2]), keepdims: int(0) })); // [B, N]
  const take = (f: string): string => g.op('Squeeze', [g.op('GatherElements', [g.op('Expand', [f, g.int64s('cells_k', [1, cells, 1])]), owner], { axis: int(2) }), g.int64s('ax2', [2])]);
  const [bx1, by1, bx2, by2, best] = [x1, y1, x2, y2, cls].map(take); // [B, N]
  const logits8 = g.op('Reshape', [pool(g, logits, per), g.int64s('cells_shape', [0, NUM_CLASSES, cells])]);
  const classIds = g.initializer('class_ids', [1, NUM_CLASSES, 1], Float32Array.from({ length: NUM_CLASSES }, (_, c) => c));
  const un = (x: string): string => g.op('Unsqueeze', [x, g.int64s('ax1', [1])]);
  const isClass = g.op('Cast', [g.op('Equal', [un(best), classIds])], { to: int(1) });
  const colour = g.op('Sigmoid', [g.op('Mul', [logits8, g.scalar('score_slope', SCORE_SLOPE)])]);
  const scores = g.op('Mul', [g.op('Mul', [colour, isClass]), un(owned)]);
  const half = g.scalar('half', 0.5);
  const w = g.op('Sub', [bx2, bx1]);
  const h = g.op('Sub', [by2, by1]);
  const ccx = g.op('Add', [bx1, g.op('Mul', [w, half])]);
  const ccy = g.op('Add', [by1, g.op('Mul', [h, half])]);
  const columns = g.op('Concat', [un(ccx), un(ccy), un(w), un(h), scores], { axis: int(1) });
  return { columns, cls: best, logits };
}
