/**
 * yolov10n-bench: the YOLOv10n architecture (ultralytics/cfg/models/v10/yolov10n.yaml, scale n:
 * depth 0.33, width 0.25) with seeded random weights, in the form an Ultralytics ONNX export has:
 * BatchNorm folded into conv biases, SiLU as Sigmoid*Mul, only the one-to-one v10Detect head, DFL
 * box decoding and the top-k post-process to output0 [B,300,6]. Its detections are meaningless;
 * its cost is the real model's, which is what benchmarks need.
 */
import { OnnxGraphBuilder, int, ints, str, type ModelOptions } from './onnxBuilder.js';
import { checkImgsz } from './syntheticModels.js';
import { uniformRng } from '../synth/prng.js';

const NC = 80;
const REG_MAX = 16;
const MAX_DET = 300;
/**
 * Rows of output0 that keep their score. Random weights give near-constant class scores (~0.54
 * everywhere), so all 300 rows would pass a 0.25 threshold and every benchmark downstream of the
 * session (decoding, tracking, JSON, WebSocket fan-out) would carry 300 boxes per frame, far more
 * than a real model reports on a street scene. The score column is therefore scaled by a constant
 * rank mask (1 for the first BUSY_SCENE rows, 0.1 after): the result size is that of a busy scene.
 * The mask is one elementwise Mul on [B,300]: no cost to speak of, and no parameters.
 */
export const BUSY_SCENE = 20;
const STRIDES = [8, 16, 32];

export interface YoloBenchOptions {
  imgsz: number;
  batch: 'dynamic' | number;
  /** Weight seed; the same seed gives the same file. */
  seed?: number;
}

/** A tensor and its channel count as the layers are built (spatial size tracked for attention). */
interface Feat {
  name: string;
  c: number;
  h: number;
}

class Yolo {
  private readonly rand: () => number;
  constructor(readonly g: OnnxGraphBuilder, seed: number) {
    this.rand = uniformRng(seed);
  }

  /** Uniform weights with variance 1/fan_in (keeps activations bounded through the depth). */
  private weights(prefix: string, c2: number, c1: number, k: number, groups: number): [string, string] {
    const fanIn = (c1 / groups) * k * k;
    const a = Math.sqrt(3 / fanIn);
    const w = new Float32Array(c2 * (c1 / groups) * k * k);
    for (let i = 0; i < w.length; i++) w[i] = (this.rand() * 2 - 1) * a;
    const b = new Float32Array(c2);
    for (let i = 0; i < b.length; i++) b[i] = (this.rand() * 2 - 1) * 0.1;
    return [this.g.initializer(`${prefix}.weight`, [c2, c1 / groups, k, k], w), this.g.initializer(`${prefix}.bias`, [c2], b)];
  }

  /** Ultralytics Conv: conv (autopad k//2) with folded BatchNorm, then SiLU unless act is false. */
  conv(prefix: string, x: Feat, c2: number, k = 1, s = 1, groups = 1, act = true): Feat {
    const [w, b] = this.weights(`${prefix}.conv`, c2, x.c, k, groups);
    const p = Math.floor(k / 2);
    const y = this.g.op('Conv', [x.name, w, b], {
      kernel_shape: ints([k, k]),
      strides: ints([s, s]),
      pads: ints([p, p, p, p]),
      group: int(groups),
      dilations: ints([1, 1]),
    });
    const out = act ? this.g.op('Mul', [y, this.g.op('Sigmoid', [y])]) : y;
    return { name: out, c: c2, h: Math.floor((x.h + 2 * p - k) / s) + 1 };
  }

  /** A plain nn.Conv2d (detection head outputs): no BatchNorm, no activation. */
  conv2d(prefix: string, x: Feat, c2: number): Feat {
    const [w, b] = this.weights(prefix, c2, x.c, 1, 1);
    return { name: this.g.op('Conv', [x.name, w, b], { kernel_shape: ints([1, 1]) }), c: c2, h: x.h };
  }

  add(a: Feat, b: Feat): Feat {
    return { ...a, name: this.g.op('Add', [a.name, b.name]) };
  }

  concat(xs: Feat[]): Feat {
    return { name: this.g.op('Concat', xs.map((x) => x.name), { axis: int(1) }), c: xs.reduce((s, x) => s + x.c, 0), h: xs[0].h };
  }

  split(x: Feat, sizes: number[]): Feat[] {
    const names = this.g.node('Split', [x.name, this.g.int64s('split', sizes)], { axis: int(1) }, { outputs: sizes.length });
    return names.map((name, i) => ({ name, c: sizes[i], h: x.h }));
  }

  bottleneck(prefix: string, x: Feat, c2: number, shortcut: boolean): Feat {
    const y = this.conv(`${prefix}.cv2`, this.conv(`${prefix}.cv1`, x, c2, 3), c2, 3);
    return shortcut && x.c === c2 ? this.add(x, y) : y;
  }

  /** C2f / C2fCIB: split in two, n blocks chained on the second half, concat all, 1x1 conv. */
  c2f(prefix: string, x: Feat, c2: number, n: number, shortcut: boolean, block: 'bottleneck' | 'cib' = 'bottleneck', lk = false): Feat {
    const c = Math.floor(c2 * 0.5);
    const parts = this.split(this.conv(`${prefix}.cv1`, x, 2 * c), [c, c]);
    for (let i = 0; i < n; i++) {
      const last = parts[parts.length - 1];
      parts.push(block === 'cib' ? this.cib(`${prefix}.m.${i}`, last, c, shortcut, lk) : this.bottleneck(`${prefix}.m.${i}`, last, c, shortcut));
    }
    return this.conv(`${prefix}.cv2`, this.concat(parts), c2);
  }

  /** CIB: dw3x3, pw, (large-kernel dw7x7 as RepVGGDW fuses to | dw3x3), pw, dw3x3. */
  cib(prefix: string, x: Feat, c2: number, shortcut: boolean, lk: boolean): Feat {
    const c = 2 * Math.floor(c2 * 1.0);
    let y = this.conv(`${prefix}.cv1.0`, x, x.c, 3, 1, x.c);
    y = this.conv(`${prefix}.cv1.1`, y, c, 1);
    y = lk ? this.conv(`${prefix}.cv1.2`, y, c, 7, 1, c) : this.conv(`${prefix}.cv1.2`, y, c, 3, 1, c);
    y = this.conv(`${prefix}.cv1.3`, y, c2, 1);
    y = this.conv(`${prefix}.cv1.4`, y, c2, 3, 1, c2);
    return shortcut && x.c === c2 ? this.add(x, y) : y;
  }

  scdown(prefix: string, x: Feat, c2: number, k: number, s: number): Feat {
    return this.conv(`${prefix}.cv2`, this.conv(`${prefix}.cv1`, x, c2, 1), c2, k, s, c2, false);
  }

  sppf(prefix: string, x: Feat, c2: number, k: number): Feat {
    const y = [this.conv(`${prefix}.cv1`, x, Math.floor(x.c / 2))];
    for (let i = 0; i < 3; i++) {
      const p = Math.floor(k / 2);
      y.push({ ...y[0], name: this.g.op('MaxPool', [y[y.length - 1].name], { kernel_shape: ints([k, k]), strides: ints([1, 1]), pads: ints([p, p, p, p]) }) });
    }
    return this.conv(`${prefix}.cv2`, this.concat(y), c2);
  }

  /** PSA: half the channels pass through self-attention and a small FFN, both residual. */
  psa(prefix: string, x: Feat): Feat {
    const c = Math.floor(x.c * 0.5);
    const [a, b0] = this.split(this.conv(`${prefix}.cv1`, x, 2 * c), [c, c]);
    const b1 = this.add(b0, this.attention(`${prefix}.attn`, b0, Math.floor(c / 64)));
    const ffn = this.conv(`${prefix}.ffn.1`, this.conv(`${prefix}.ffn.0`, b1, 2 * c), c, 1, 1, 1, false);
    return this.conv(`${prefix}.cv2`, this.concat([a, this.add(b1, ffn)]), x.c);
  }

  attention(prefix: string, x: Feat, heads: number): Feat {
    const g = this.g;
    const headDim = Math.floor(x.c / heads);
    const keyDim = Math.floor(headDim * 0.5);
    const n = x.h * x.h;
    const qkv = this.conv(`${prefix}.qkv`, x, x.c + 2 * keyDim * heads, 1, 1, 1, false);
    const grouped = g.op('Reshape', [qkv.name, g.int64s('qkv_shape', [0, heads, 2 * keyDim + headDim, n])]);
    const [q, k, v] = g.node('Split', [grouped, g.int64s('qkv_split', [keyDim, keyDim, headDim])], { axis: int(2) }, { outputs: 3 });
    const logits = g.op('Mul', [g.op('MatMul', [g.op('Transpose', [q], { perm: ints([0, 1, 3, 2]) }), k]), g.scalar('attn_scale', keyDim ** -0.5)]);
    const attn = g.op('Softmax', [logits], { axis: int(-1) });
    const mixed = g.op('MatMul', [v, g.op('Transpose', [attn], { perm: ints([0, 1, 3, 2]) })]);
    const spatial = g.int64s('attn_out_shape', [0, x.c, x.h, x.h]);
    const vImage: Feat = { name: g.op('Reshape', [v, spatial]), c: x.c, h: x.h };
    const pe = this.conv(`${prefix}.pe`, vImage, x.c, 3, 1, x.c, false);
    const sum: Feat = { name: g.op('Add', [g.op('Reshape', [mixed, spatial]), pe.name]), c: x.c, h: x.h };
    return this.conv(`${prefix}.proj`, sum, x.c, 1, 1, 1, false);
  }

  upsample(x: Feat): Feat {
    const y = this.g.op('Resize', [x.name, '', this.g.initializer('up_scales', [4], [1, 1, 2, 2])], {
      mode: str('nearest'),
      coordinate_transformation_mode: str('asymmetric'),
      nearest_mode: str('floor'),
    });
    return { name: y, c: x.c, h: x.h * 2 };
  }
}

/** Channel and repeat scaling of the n model (make_divisible to 8, depth rounding). */
const ch = (c: number): number => Math.ceil((Math.min(c, 1024) * 0.25) / 8) * 8;
const rep = (n: number): number => (n > 1 ? Math.max(Math.round(n * 0.33), 1) : n);

export function buildYolov10nBench(opts: YoloBenchOptions): { builder: OnnxGraphBuilder; options: ModelOptions } {
  const { imgsz, batch } = opts;
  checkImgsz(imgsz);
  const b = batch === 'dynamic' ? 'batch' : batch;
  const g = new OnnxGraphBuilder('yolov10n-bench');
  const m = new Yolo(g, opts.seed ?? 10);
  const x: Feat = { name: g.input('images', 'float32', [b, 3, imgsz, imgsz]), c: 3, h: imgsz };

  // Backbone
  const l0 = m.conv('model.0', x, ch(64), 3, 2);
  const l1 = m.conv('model.1', l0, ch(128), 3, 2);
  const l2 = m.c2f('model.2', l1, ch(128), rep(3), true);
  const l3 = m.conv('model.3', l2, ch(256), 3, 2);
  const l4 = m.c2f('model.4', l3, ch(256), rep(6), true);
  const l5 = m.scdown('model.5', l4, ch(512), 3, 2);
  const l6 = m.c2f('model.6', l5, ch(512), rep(6), true);
  const l7 = m.scdown('model.7', l6, ch(1024), 3, 2);
  const l8 = m.c2f('model.8', l7, ch(1024), rep(3), true);
  const l9 = m.sppf('model.9', l8, ch(1024), 5);
  const l10 = m.psa('model.10', l9);
  // Head
  const l13 = m.c2f('model.13', m.concat([m.upsample(l10), l6]), ch(512), rep(3), false);
  const l16 = m.c2f('model.16', m.concat([m.upsample(l13), l4]), ch(256), rep(3), false);
  const l19 = m.c2f('model.19', m.concat([m.conv('model.17', l16, ch(256), 3, 2), l13]), ch(512), rep(3), false);
  const l22 = m.c2f('model.22', m.concat([m.scdown('model.20', l19, ch(512), 3, 2), l10]), ch(1024), rep(3), true, 'cib', true);

  g.output(v10DetectOneToOne(g, m, [l16, l19, l22], imgsz), 'float32', [b, MAX_DET, 6]);
  const description = 'streamlens yolov10n-bench: YOLOv10n architecture with seeded random weights (benchmarking only; detections are meaningless)';
  const names = `{${Array.from({ length: NC }, (_, i) => `${i}: 'class${i}'`).join(', ')}}`;
  return {
    builder: g,
    options: {
      opset: 17,
      docString: description,
      metadata: {
        description,
        author: 'streamlens modelgen',
            version: '1',
        license: 'MIT',
        stride: '32',
        task: 'detect',
        batch: String(batch === 'dynamic' ? 1 : batch),
        imgsz: `[${imgsz}, ${imgsz}]`,
        names,
        end2end: 'True',
        dynamic: batch === 'dynamic' ? 'True' : 'False',
        args: `{'batch': ${batch === 'dynamic' ? 1 : batch}, 'dynamic': ${batch === 'dynamic' ? 'True' : 'False'}, 'imgsz': ${imgsz}}`,
      },
    },
  };
}

/** one2one_cv2 / one2one_cv3 per level, DFL decode, then the v10 top-k post-process. */
function v10DetectOneToOne(g: OnnxGraphBuilder, m: Yolo, levels: Feat[], imgsz: number): string {
  const c2 = Math.max(16, Math.floor(levels[0].c / 4), REG_MAX * 4);
  const c3 = Math.max(levels[0].c, Math.min(NC, 100));
  const flat: string[] = [];
  levels.forEach((x, i) => {
    const p = `model.23.one2one`;
    const box = m.conv2d(`${p}_cv2.${i}.2`, m.conv(`${p}_cv2.${i}.1`, m.conv(`${p}_cv2.${i}.0`, x, c2, 3), c2, 3), 4 * REG_MAX);
    let cls = m.conv(`${p}_cv3.${i}.0.0`, x, x.c, 3, 1, x.c);
    cls = m.conv(`${p}_cv3.${i}.0.1`, cls, c3, 1);
    cls = m.conv(`${p}_cv3.${i}.1.0`, cls, c3, 3, 1, c3);
    cls = m.conv(`${p}_cv3.${i}.1.1`, cls, c3, 1);
    const logits = m.conv2d(`${p}_cv3.${i}.2`, cls, NC);
    const both = g.op('Concat', [box.name, logits.name], { axis: int(1) });
    flat.push(g.op('Reshape', [both, g.int64s('level_flat', [0, 4 * REG_MAX + NC, x.h * x.h])]));
  });
  // Anchors: cell centres per level, and each anchor's stride.
  const sizes = STRIDES.map((s) => imgsz / s);
  const total = sizes.reduce((a, n) => a + n * n, 0);
  const anchors = new Float32Array(2 * total);
  const strides = new Float32Array(total);
  let o = 0;
  sizes.forEach((n, li) => {
    for (let y = 0; y < n; y++)
      for (let xx = 0; xx < n; xx++, o++) {
        anchors[o] = xx + 0.5;
        anchors[total + o] = y + 0.5;
        strides[o] = STRIDES[li];
      }
  });
  const all = g.op('Concat', flat, { axis: int(2) });
  const [boxRaw, clsRaw] = g.node('Split', [all, g.int64s('box_cls', [4 * REG_MAX, NC])], { axis: int(1) }, { outputs: 2 });
  // DFL: softmax over 16 bins per side, expectation via a fixed 1x1 conv with weights 0..15.
  const bins = g.op('Transpose', [g.op('Reshape', [boxRaw, g.int64s('dfl_shape', [0, 4, REG_MAX, total])])], { perm: ints([0, 2, 1, 3]) });
  const proj = g.initializer('model.23.dfl.conv.weight', [1, REG_MAX, 1, 1], Float32Array.from({ length: REG_MAX }, (_, i) => i));
  const dist = g.op('Reshape', [g.op('Conv', [g.op('Softmax', [bins], { axis: int(1) }), proj]), g.int64s('dist_shape', [0, 4, total])]);
  const [lt, rb] = g.node('Split', [dist, g.int64s('ltrb', [2, 2])], { axis: int(1) }, { outputs: 2 });
  const anchor = g.initializer('anchors', [1, 2, total], anchors);
  const xyxy = g.op('Concat', [g.op('Sub', [anchor, lt]), g.op('Add', [anchor, rb])], { axis: int(1) });
  const boxes = g.op('Mul', [xyxy, g.initializer('anchor_strides', [1, 1, total], strides)]);
  const scores = g.op('Sigmoid', [clsRaw]);
  // Post-process (v10): top 300 anchors by best class score, then top 300 over anchor x class.
  const boxesT = g.op('Transpose', [boxes], { perm: ints([0, 2, 1]) });
  const scoresT = g.op('Transpose', [scores], { perm: ints([0, 2, 1]) });
  const best = g.op('ReduceMax', [scoresT], { axes: ints([2]), keepdims: int(0) });
  const k = Math.min(MAX_DET, total);
  const [, anchorIdx] = g.node('TopK', [best, g.int64s('k_anchors', [k])], { axis: int(1) }, { outputs: 2 });
  const idx3 = g.op('Unsqueeze', [anchorIdx, g.int64s('ax2', [2])]);
  const topBoxes = g.op('GatherElements', [boxesT, g.op('Expand', [idx3, g.int64s('four', [1, 1, 4])])], { axis: int(1) });
  const topScores = g.op('GatherElements', [scoresT, g.op('Expand', [idx3, g.int64s('nc', [1, 1, NC])])], { axis: int(1) });
  const [score, flatIdx] = g.node('TopK', [g.op('Reshape', [topScores, g.int64s('flat_scores', [0, k * NC])]), g.int64s('k_final', [k])], { axis: int(1) }, { outputs: 2 });
  const ncConst = g.int64('nc_div', [], [NC]);
  const row = g.op('Div', [flatIdx, ncConst]);
  const cls = g.op('Mod', [flatIdx, ncConst]);
  const rowBoxes = g.op('GatherElements', [topBoxes, g.op('Expand', [g.op('Unsqueeze', [row, g.int64s('ax2', [2])]), g.int64s('four', [1, 1, 4])])], { axis: int(1) });
  const un = (t: string): string => g.op('Unsqueeze', [t, g.int64s('ax2', [2])]);
  const rankMask = g.initializer('score_rank_mask', [1, k], Float32Array.from({ length: k }, (_, i) => (i < BUSY_SCENE ? 1 : 0.1)));
  const shown = g.op('Mul', [score, rankMask]);
  return g.op('Concat', [rowBoxes, un(shown), un(g.op('Cast', [cls], { to: int(1) }))], { axis: int(2) }, { output: 'output0' });
}
