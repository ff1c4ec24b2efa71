/**
 * Graph pieces of the synthetic-scene detectors, all plain ONNX operators:
 *
 * 1. colour logits: a Conv with a cell-sized kernel and stride (the mask grid: stride 2 at 640)
 *    computing the cell's mean of two colour differences per class, ReduceMin of the pair -> per-class
 *    logit map (> 0: "this class's colour").
 * 2. centres: on a grid twice as coarse, repeated 3x3 MaxPool erosions of the class mask; the number of erosions a
 *    cell survives is its distance to the background, which peaks at an object's centre. Peaks are
 *    cells equal to a 5x5 MaxPool of that map (plus a blur and a tiny position tie-break).
 * 3. boxes: from a start cell, mask values along a row/column are gathered and the run of ones to
 *    each side is counted (CumSum of the zeros, then ReduceSum of "no zero yet"). A row run gives
 *    the centre column, the column run through it the height and centre row, and the row run
 *    through that the width: exact for ellipses and rectangles wherever the start cell lies inside.
 */
import { OnnxGraphBuilder, int, ints } from './onnxBuilder.js';
import { COLOUR_TESTS, LEVELS_PER_LOGIT, MAX_TARGET_PX, MIN_TARGET_PX } from './sceneSpec.js';

export const NUM_CLASSES = COLOUR_TESTS.length;

/**
 * Grid sizes of a detector for one input size. The scene is made at 640x480, so a model input of
 * S pixels sees targets scaled by S/640; the mask grid stride follows (1 px at 320, 2 px at 640),
 * which keeps every threshold below the same in grid cells at any input size.
 */
export interface Geometry {
  imgsz: number;
  /** Stride of the colour mask grid in input pixels (a power of two, at most 4). */
  cell: number;
  /** Mask grid cells per side. */
  cells: number;
  /** Peak grid: stride 2 * cell, cells per side. */
  peakCells: number;
  /** Longest run read to each side of a start cell: a whole target plus margin. */
  runCells: number;
  /** 3x3 erosions for the centre map (enough for the largest target's half size). */
  erosions: number;
  /** Boxes smaller than this (input px) on either side are not targets. */
  minBoxPx: number;
  /** No target is larger than this (input px) on either side, allowing for the grid. */
  maxBoxPx: number;
}

export function geometry(imgsz: number): Geometry {
  const scale = imgsz / 640;
  const cell = Math.min(4, 2 ** Math.max(0, Math.round(Math.log2(imgsz / 320))));
  return {
    imgsz,
    cell,
    cells: imgsz / cell,
    peakCells: imgsz / (2 * cell),
    runCells: Math.ceil((MAX_TARGET_PX * scale) / cell) + 4,
    erosions: Math.ceil((MAX_TARGET_PX * scale) / 2 / (2 * cell)),
    minBoxPx: 0.75 * MIN_TARGET_PX * scale,
    maxBoxPx: MAX_TARGET_PX * scale + 2 * cell,
  };
}

/** Average pooling by an integer factor (identity for 1). */
export function pool(g: OnnxGraphBuilder, x: string, factor: number): string {
  return factor === 1 ? x : g.op('AveragePool', [x], { kernel_shape: ints([factor, factor]), strides: ints([factor, factor]) });
}

/** Per-class logit map on the mask grid: [B, nc, cells, cells]. */
export function colourLogits(g: OnnxGraphBuilder, images: string, geo: Geometry): string {
  const nc = NUM_CLASSES;
  const k = geo.cell;
  // One conv with a cell x cell kernel and stride both averages the cell and takes the colour
  // differences (linear, so the order does not matter).
  const w = new Float32Array(nc * 2 * 3 * k * k);
  const b = new Float32Array(nc * 2);
  COLOUR_TESTS.forEach((tests, c) => {
    tests.forEach(([plus, minus, threshold], t) => {
      const o = c * 2 + t;
      // Input is RGB in [0, 1]; differences are measured in 0..255 levels.
      for (let i = 0; i < k * k; i++) {
        w[(o * 3 + plus) * k * k + i] = 255 / LEVELS_PER_LOGIT / (k * k);
        w[(o * 3 + minus) * k * k + i] = -255 / LEVELS_PER_LOGIT / (k * k);
      }
      b[o] = -threshold / LEVELS_PER_LOGIT;
    });
  });
  const weights = g.initializer('colour_w', [nc * 2, 3, k, k], w);
  const feats = g.op('Conv', [images, weights, g.initializer('colour_b', [nc * 2], b)], { kernel_shape: ints([k, k]), strides: ints([k, k]) });
  const h = geo.cells;
  const pairs = g.op('Reshape', [feats, g.int64s('pairs_shape', [-1, nc, 2, h, h])]);
  return g.op('ReduceMin', [pairs], { axes: ints([2]), keepdims: int(0) }, { output: 'class_logits' });
}

/** 1 where x > 0 else 0 (x exactly 0 gives 0). */
export function positive(g: OnnxGraphBuilder, x: string): string {
  return g.op('Relu', [g.op('Sign', [x])]);
}

export interface Candidates {
  /** [B, K] float: class, row and column (mask grid cells) of each candidate's start cell. */
  cls: string;
  row: string;
  col: string;
  /** [B, K] float: > 0 for real peaks, 0 for filler rows. */
  strength: string;
  /** [B, K] float: the class logit averaged over the peak cell (the colour-match strength). */
  logit: string;
}

/**
 * Object-centre peaks on the peak grid (twice the mask stride), the K strongest over classes x cells.
 * Returns start cells in mask grid coordinates.
 */
export function centrePeaks(g: OnnxGraphBuilder, logits: string, geo: Geometry, k: number): Candidates {
  const s4 = geo.peakCells;
  const logits4 = pool(g, logits, 2);
  const mask4 = positive(g, logits4);
  // Distance to background by erosion: min over 3x3 = -max(-x); MaxPool ignores padding, so the
  // frame border does not erode (objects leaving the frame keep their centre on the visible part).
  let neg = g.op('Neg', [mask4]);
  let sum = neg;
  for (let i = 0; i < geo.erosions; i++) {
    neg = g.op('MaxPool', [neg], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) });
    sum = g.op('Add', [sum, neg]);
  }
  const distance = g.op('Neg', [sum]);
  // A 7x7 blur separates cells along a rectangle's ridge (it is largest mid-ridge); it stays below
  // one so the integer distance dominates. The ramp breaks exact ties deterministically.
  const blur = g.op('AveragePool', [mask4], { kernel_shape: ints([7, 7]), pads: ints([3, 3, 3, 3]) });
  const ramp = new Float32Array(s4 * s4);
  for (let i = 0; i < ramp.length; i++) ramp[i] = (1e-4 * i) / ramp.length;
  const centreness = g.op('Add', [
    g.op('Add', [distance, g.op('Mul', [blur, g.scalar('blur_weight', 0.5)])]),
    g.initializer('tie_break', [1, 1, s4, s4], ramp),
  ]);
  const localMax = g.op('MaxPool', [centreness], { kernel_shape: ints([5, 5]), pads: ints([2, 2, 2, 2]) });
  // 1 + Sign(c - max) is 1 exactly at the local maximum, 0 elsewhere.
  const isPeak = g.op('Add', [g.scalar('one', 1), g.op('Sign', [g.op('Sub', [centreness, localMax])])]);
  // Targets are at least 16 px thick (at 640): on the peak grid their centre survives an erosion.
  const thick = positive(g, g.op('Sub', [distance, g.scalar('min_distance', 1.5)]));
  const peakScore = g.op('Mul', [g.op('Mul', [isPeak, thick]), centreness]);
  const flat = g.op('Reshape', [peakScore, g.int64s('flat_shape', [0, -1])]);
  const [values, indices] = g.node('TopK', [flat, g.int64s('topk_k', [k])], { axis: int(1), largest: int(1), sorted: int(1) }, { outputs: 2 });
  const cells = s4 * s4;
  const cls = g.op('Div', [indices, g.int64('cells', [], [cells])]);
  const rem = g.op('Sub', [indices, g.op('Mul', [cls, g.int64('cells_m', [], [cells])])]);
  const row4 = g.op('Div', [rem, g.int64('s4_d', [], [s4])]);
  const col4 = g.op('Sub', [rem, g.op('Mul', [row4, g.int64('s4_m', [], [s4])])]);
  const toF = (x: string): string => g.op('Cast', [x], { to: int(1) });
  const two = g.scalar('two', 2);
  return {
    cls: toF(cls),
    row: g.op('Mul', [toF(row4), two]),
    col: g.op('Mul', [toF(col4), two]),
    strength: values,
    logit: g.op('GatherElements', [g.op('Reshape', [logits4, g.int64s('flat_shape', [0, -1])]), indices], { axis: int(1) }),
  };
}

/** A mask-grid map padded so that runs can be read without bounds checks, flattened per image. */
export interface RunMap {
  flat: string;
  /** Cells per side before padding. */
  size: number;
  pad: number;
  /** Run length read to each side. */
  run: number;
  /** Mask grid stride in input pixels. */
  cell: number;
}

export function paddedFlat(g: OnnxGraphBuilder, map: string, geo: Geometry, padValue: number, pad = geo.runCells): RunMap {
  const padded = g.op('Pad', [map, g.int64s('run_pads', [0, 0, pad, pad, 0, 0, pad, pad]), g.scalar('run_pad_value', padValue)]);
  return { flat: g.op('Reshape', [padded, g.int64s('run_flat_shape', [0, -1])]), size: geo.cells, pad, run: geo.runCells, cell: geo.cell };
}

/** Flat index (float) into a RunMap of cell (cls, row, col), each [B, K]. */
function flatIndex(g: OnnxGraphBuilder, map: RunMap, cls: string, row: string, col: string): string {
  const side = map.size + 2 * map.pad;
  const plane = g.op('Mul', [cls, g.scalar('plane', side * side)]);
  const r = g.op('Mul', [g.op('Add', [row, g.scalar('pad_r', map.pad)]), g.scalar('side', side)]);
  return g.op('Add', [g.op('Add', [plane, r]), g.op('Add', [col, g.scalar('pad_c', map.pad)])]);
}

/** Gathers map values at float flat indices [B, K, n] -> [B, K, n]. */
function gatherAt(g: OnnxGraphBuilder, map: RunMap, index: string, k: number, n: number): string {
  const idx = g.op('Reshape', [g.op('Cast', [index], { to: int(7) }), g.int64s('gather_flat', [0, -1])]);
  const vals = g.op('GatherElements', [map.flat, idx], { axis: int(1) });
  return g.op('Reshape', [vals, g.int64s('gather_back', [0, k, n])]);
}

/** Value of the map at each (cls, row, col): [B, K]. */
export function valueAt(g: OnnxGraphBuilder, map: RunMap, cls: string, row: string, col: string, k: number): string {
  const idx = g.op('Unsqueeze', [flatIndex(g, map, cls, row, col), g.int64s('ax2', [2])]);
  return g.op('Squeeze', [gatherAt(g, map, idx, k, 1), g.int64s('ax2s', [2])]);
}

/** Runs of ones before and after each start cell along rows or columns: [B, K] each, in cells. */
export function runs(g: OnnxGraphBuilder, mask: RunMap, cls: string, row: string, col: string, k: number, along: 'row' | 'col'): [before: string, after: string] {
  const n = mask.run;
  const step = along === 'row' ? 1 : mask.size + 2 * mask.pad;
  const offsets = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    offsets[i] = -(i + 1) * step;
    offsets[n + i] = (i + 1) * step;
  }
  const base = g.op('Unsqueeze', [flatIndex(g, mask, cls, row, col), g.int64s('ax2', [2])]);
  const index = g.op('Add', [base, g.initializer(`run_offsets_${along}`, [1, 1, 2 * n], offsets)]);
  const values = g.op('Reshape', [gatherAt(g, mask, index, k, 2 * n), g.int64s('run_split', [0, k, 2, n])]);
  const zeros = g.op('CumSum', [g.op('Sub', [g.scalar('one', 1), values]), g.int64('run_axis', [], [3])]);
  const inside = g.op('Relu', [g.op('Sub', [g.scalar('one', 1), zeros])]);
  const lengths = g.op('ReduceSum', [inside, g.int64s('run_sum_axis', [3])], { keepdims: int(0) });
  const before = g.op('Gather', [lengths, g.int64('before_i', [], [0])], { axis: int(2) });
  const after = g.op('Gather', [lengths, g.int64('after_i', [], [1])], { axis: int(2) });
  return [before, after];
}

export interface MeasuredBoxes {
  /** [B, K] float, input pixels. */
  x1: string;
  y1: string;
  x2: string;
  y2: string;
  /** Centre cell on the mask grid. */
  cRow: string;
  cCol: string;
}

/**
 * Row run -> centre column; column run through it -> height, centre row; row run there -> width.
 * Extra runs a quarter of the size off-centre on each axis recover extents that an occluder cuts
 * on the centre lines; the box is the union of all runs.
 */
export function measureBoxes(g: OnnxGraphBuilder, mask: RunMap, c: Candidates, k: number): MeasuredBoxes {
  const half = g.scalar('half', 0.5);
  const one = g.scalar('one', 1);
  const centre = (start: string, before: string, after: string): string =>
    g.op('Floor', [g.op('Add', [start, g.op('Mul', [g.op('Sub', [after, before]), half])])]);
  // Runs only count when the start cell itself is inside the mask.
  const gated = (row: string, col: string, along: 'row' | 'col'): [string, string] => {
    const inside = valueAt(g, mask, c.cls, row, col, k);
    const [a, b] = runs(g, mask, c.cls, row, col, k, along);
    return [g.op('Mul', [a, inside]), g.op('Mul', [b, inside])];
  };
  const [l1, r1] = gated(c.row, c.col, 'row');
  const cCol = centre(c.col, l1, r1);
  const [u2, d2] = gated(c.row, cCol, 'col');
  const cRow = centre(c.row, u2, d2);
  const [l3, r3] = gated(cRow, cCol, 'row');
  const quarter = g.scalar('quarter', 0.25);
  const offset = (before: string, after: string): string =>
    g.op('Floor', [g.op('Mul', [g.op('Add', [g.op('Add', [before, after]), one]), quarter])]);
  // Width from the wider of the two row runs: the centre row may cross an occluder.
  const dx = g.op('Max', [offset(l1, r1), offset(l3, r3)]);
  let top = g.op('Sub', [c.row, u2]);
  let bottom = g.op('Add', [g.op('Add', [c.row, d2]), one]);
  for (const sign of ['Sub', 'Add']) {
    const col = g.op(sign, [cCol, dx]);
    const [u, d] = gated(cRow, col, 'col');
    top = g.op('Min', [top, g.op('Sub', [cRow, u])]);
    bottom = g.op('Max', [bottom, g.op('Add', [g.op('Add', [cRow, d]), one])]);
  }
  const dy = offset(u2, d2);
  let left = g.op('Min', [g.op('Sub', [cCol, l3]), g.op('Sub', [c.col, l1])]);
  let right = g.op('Max', [g.op('Add', [g.op('Add', [cCol, r3]), one]), g.op('Add', [g.op('Add', [c.col, r1]), one])]);
  for (const sign of ['Sub', 'Add']) {
    const row = g.op(sign, [cRow, dy]);
    const [l, r] = gated(row, cCol, 'row');
    left = g.op('Min', [left, g.op('Sub', [cCol, l])]);
    right = g.op('Max', [right, g.op('Add', [g.op('Add', [cCol, r]), one])]);
  }
  const cell = g.scalar('cell_px', mask.cell);
  const px = (cells: string): string => g.op('Mul', [cells, cell]);
  return { x1: px(left), x2: px(right), y1: px(top), y2: px(bottom), cRow, cCol };
}

/** Float 1 where a >= b. */
export function atLeast(g: OnnxGraphBuilder, a: string, b: string): string {
  return g.op('Cast', [g.op('GreaterOrEqual', [a, b])], { to: int(1) });
}

/**
 * Reassembles a target that an occluder of another class cuts in two: two same-class boxes whose
 * left and right edges agree (pieces above and below a band) or whose top and bottom edges agree
 * (pieces left and right of a band), and whose union is no larger than a target can be, are both
 * replaced by their union. Matrix form over the candidate list; duplicates are removed afterwards.
 */
export function mergeSplitPieces(g: OnnxGraphBuilder, b: MeasuredBoxes, cls: string, valid: string, tolerancePx: number, maxPx: number): MeasuredBoxes {
  const col = (x: string): string => g.op('Unsqueeze', [x, g.int64s('ax2', [2])]);
  const rowv = (x: string): string => g.op('Unsqueeze', [x, g.int64s('ax1', [1])]);
  const tol = g.scalar('piece_tolerance', tolerancePx);
  const max = g.scalar('piece_max', maxPx);
  const agree = (e: string): string => g.op('Cast', [g.op('LessOrEqual', [g.op('Abs', [g.op('Sub', [col(e), rowv(e)])]), tol])], { to: int(1) });
  const span = (lo: string, hi: string): string => g.op('Sub', [g.op('Max', [col(hi), rowv(hi)]), g.op('Min', [col(lo), rowv(lo)])]);
  const fits = (lo: string, hi: string): string => g.op('Cast', [g.op('LessOrEqual', [span(lo, hi), max])], { to: int(1) });
  const stacked = g.op('Mul', [g.op('Mul', [agree(b.x1), agree(b.x2)]), fits(b.y1, b.y2)]);
  const sideBySide = g.op('Mul', [g.op('Mul', [agree(b.y1), agree(b.y2)]), fits(b.x1, b.x2)]);
  const sameClass = g.op('Cast', [g.op('Equal', [col(cls), rowv(cls)])], { to: int(1) });
  const pair = g.op('Mul', [g.op('Mul', [g.op('Max', [stacked, sideBySide]), sameClass]), rowv(valid)]);
  // Values of partners only; non-partners are pushed out of the Min/Max by a large offset.
  const far = g.op('Mul', [g.op('Sub', [g.scalar('one', 1), pair]), g.scalar('far', 1e6)]);
  const low = (e: string): string => g.op('Min', [e, g.op('ReduceMin', [g.op('Add', [rowv(e), far])], { axes: ints([2]), keepdims: int(0) })]);
  const high = (e: string): string => g.op('Max', [e, g.op('ReduceMax', [g.op('Sub', [rowv(e), far])], { axes: ints([2]), keepdims: int(0) })]);
  return { ...b, x1: low(b.x1), y1: low(b.y1), x2: high(b.x2), y2: high(b.y2) };
}

/**
 * In-graph duplicate removal over a score-ranked candidate list (matrix form, no loop): a candidate
 * is dropped when a higher-ranked valid candidate of the same class overlaps it with IoU > iou.
 * Several start cells on one object measure the same box, so this only merges those.
 */
export function suppressDuplicates(g: OnnxGraphBuilder, b: MeasuredBoxes, cls: string, valid: string, k: number, iou: number): string {
  const col = (x: string): string => g.op('Unsqueeze', [x, g.int64s('ax2', [2])]);
  const rowv = (x: string): string => g.op('Unsqueeze', [x, g.int64s('ax1', [1])]);
  const ix1 = g.op('Max', [col(b.x1), rowv(b.x1)]);
  const iy1 = g.op('Max', [col(b.y1), rowv(b.y1)]);
  const ix2 = g.op('Min', [col(b.x2), rowv(b.x2)]);
  const iy2 = g.op('Min', [col(b.y2), rowv(b.y2)]);
  const inter = g.op('Mul', [g.op('Relu', [g.op('Sub', [ix2, ix1])]), g.op('Relu', [g.op('Sub', [iy2, iy1])])]);
  const area = g.op('Mul', [g.op('Sub', [b.x2, b.x1]), g.op('Sub', [b.y2, b.y1])]);
  const union = g.op('Sub', [g.op('Add', [col(area), rowv(area)]), inter]);
  const ratio = g.op('Div', [inter, g.op('Max', [union, g.scalar('eps', 1e-6)])]);
  const sameClass = g.op('Cast', [g.op('Equal', [col(cls), rowv(cls)])], { to: int(1) });
  // earlier[i, j] = 1 when j ranks above i.
  const earlier = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) earlier[i * k + j] = 1;
  const mask = g.op('Mul', [g.op('Mul', [sameClass, g.initializer('ranks_above', [1, k, k], earlier)]), rowv(valid)]);
  const worst = g.op('ReduceMax', [g.op('Mul', [ratio, mask])], { axes: ints([2]), keepdims: int(0) });
  return g.op('Cast', [g.op('LessOrEqual', [worst, g.scalar('dup_iou', iou)])], { to: int(1) });
}
