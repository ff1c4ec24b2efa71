import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder, ints, int, float } from '../src/tools/modelgen/onnxBuilder.js';
import { decodeString, readFields } from '../src/infer/onnx/protoWire.js';

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

describe('OnnxGraphBuilder', () => {
  // y = Relu(Conv3x3(x, w, b, pad 1)) + x[:, 0:2]   (residual via a 1x1 identity-selecting conv)
  const C = 3, K = 2, H = 5, W = 6;
  const w = values(K * C * 9, 7);
  const b = values(K, 11);

  function build(): Uint8Array {
    const g = new OnnxGraphBuilder('tiny');
    const x = g.input('x', 'float32', ['batch', C, H, W]);
    const wi = g.initializer('w', [K, C, 3, 3], w);
    const bi = g.initializer('b', [K], b);
    const conv = g.op('Conv', [x, wi, bi], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(1) });
    const relu = g.op('Relu', [conv]);
    const starts = g.int64s('starts', [0]);
    const ends = g.int64s('ends', [K]);
    const axes = g.int64s('axes', [1]);
    const slice = g.op('Slice', [x, starts, ends, axes]);
    const sum = g.op('Add', [relu, slice]);
    const scaled = g.op('LeakyRelu', [sum], { alpha: float(0.5) }, { output: 'y' });
    g.output(scaled, 'float32', ['batch', K, H, W]);
    return g.toBytes({ metadata: { task: 'detect', names: "{0: 'a'}" } });
  }

  function reference(x: Float32Array, batch: number): Float32Array {
    const y = new Float32Array(batch * K * H * W);
    for (let n = 0; n < batch; n++)
      for (let k = 0; k < K; k++)
        for (let i = 0; i < H; i++)
          for (let j = 0; j < W; j++) {
            let acc = b[k];
            for (let c = 0; c < C; c++)
              for (let di = -1; di <= 1; di++)
                for (let dj = -1; dj <= 1; dj++) {
                  const ii = i + di, jj = j + dj;
                  if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
                  acc += w[((k * C + c) * 3 + di + 1) * 3 + dj + 1] * x[((n * C + c) * H + ii) * W + jj];
                }
            const v = Math.max(acc, 0) + x[((n * C + k) * H + i) * W + j];
            y[((n * K + k) * H + i) * W + j] = v >= 0 ? v : 0.5 * v;
          }
    return y;
  }

  it('runs in onnxruntime-node with a dynamic batch and matches a JS reference', async () => {
    const session = await ort.InferenceSession.create(build());
    for (const batch of [1, 3]) {
      const x = values(batch * C * H * W, 100 + batch);
      const out = await session.run({ x: new ort.Tensor('float32', x, [batch, C, H, W]) });
      expect(out.y.dims).toEqual([batch, K, H, W]);
      const got = out.y.data as Float32Array;
      const want = reference(x, batch);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
    }
  });

  it('stores metadata_props as string pairs and the opset import', () => {
    const bytes = build();
    const meta: Record<string, string> = {};
    let opset = 0;
    for (const f of readFields(bytes)) {
      if (f.field === 14) {
        const kv: string[] = [];
        for (const e of readFields(f.bytes)) kv[e.field - 1] = decodeString(e.bytes);
        meta[kv[0]] = kv[1];
      }
      if (f.field === 8) for (const e of readFields(f.bytes)) if (e.field === 2) opset = e.value;
    }
    expect(meta).toEqual({ task: 'detect', names: "{0: 'a'}" });
    expect(opset).toBe(17);
  });

  it('rejects undefined inputs, duplicate names and mis-sized tensors', () => {
    const g = new OnnxGraphBuilder('bad');
    const x = g.input('x', 'float32', [1]);
    expect(() => g.op('Relu', ['nope'])).toThrow(/'nope' is not defined/);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
    g.initializer('w', [2, 2], [1, 2, 3]);
    g.output(x, 'float32', [1]);
    expect(() => g.toBytes()).toThrow(/3 values but dims \[2, 2\] need 4/);
  });
});
