import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { BUSY_SCENE, buildYolov10nBench } from '../src/tools/modelgen/yolov10n.js';
import { graphStats } from '../src/tools/modelgen/graphStats.js';
import { OnnxGraphBuilder, ints, int } from '../src/tools/modelgen/onnxBuilder.js';

describe('graphStats', () => {
  it('counts conv/matmul weights and MACs from shapes', () => {
    const g = new OnnxGraphBuilder('count');
    const x = g.input('x', 'float32', [1, 3, 8, 8]);
    // 3->4, 3x3 stride 2 pad 1: out 4x4x4, MACs = 64 * 27; params 4*27 + 4
    const c = g.op('Conv', [x, g.initializer('w', [4, 3, 3, 3], new Float32Array(108)), g.initializer('b', [4], new Float32Array(4))], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
    // depthwise 3x3 on 4 channels: MACs = 64 * 9, params 36
    const d = g.op('Conv', [c, g.initializer('dw', [4, 1, 3, 3], new Float32Array(36))], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(4) });
    const r = g.op('Reshape', [d, g.int64s('s', [1, 4, 16])]);
    // [1,16,4] x [1,4,16]: MACs = 16*16*4
    const m = g.op('MatMul', [g.op('Transpose', [r], { perm: ints([0, 2, 1]) }), r]);
    g.output(m, 'float32', [1, 16, 16]);
    const s = graphStats(g.graph(), [1, 3, 8, 8]);
    expect(s.params).toBe(108 + 4 + 36);
    expect(s.macs).toBe(64 * 27 + 64 * 9 + 16 * 16 * 4);
    expect(s.gflops).toBeCloseTo((2 * s.macs) / 1e9, 12);
  });
});

describe('yolov10n-bench', () => {
  it('has the published size of YOLOv10n at 640: 2.3M parameters and 6.7 GFLOPs (within 5%)', () => {
    const { builder } = buildYolov10nBench({ imgsz: 640, batch: 'dynamic' });
    const s = graphStats(builder.graph(), [1, 3, 640, 640]);
    console.log(`yolov10n-bench: ${s.params} parameters, ${s.gflops.toFixed(2)} GFLOPs at 640`);
    expect(Math.abs(s.params / 2.3e6 - 1)).toBeLessThan(0.05);
    expect(Math.abs(s.gflops / 6.7 - 1)).toBeLessThan(0.05);
    // Cost scales with pixels: a quarter at 320.
    const small = graphStats(buildYolov10nBench({ imgsz: 320, batch: 1 }).builder.graph(), [1, 3, 320, 320]);
    expect(small.params).toBe(s.params);
    expect(small.gflops / s.gflops).toBeCloseTo(0.25, 2);
  });

  it('runs in onnxruntime-node with a dynamic batch and emits sorted [B,300,6] rows', async () => {
    const { builder, options } = buildYolov10nBench({ imgsz: 320, batch: 'dynamic' });
    const session = await ort.InferenceSession.create(builder.toBytes(options), { intraOpNumThreads: 1 });
    const x = new Float32Array(2 * 3 * 320 * 320);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
    x.fill(0.5, 3 * 320 * 320); // second image: flat grey
    const out = await session.run({ images: new ort.Tensor('float32', x, [2, 3, 320, 320]) });
    expect(out.output0.dims).toEqual([2, 300, 6]);
    const d = out.output0.data as Float32Array;
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 300; i++) {
        const r = d.subarray((n * 300 + i) * 6, (n * 300 + i + 1) * 6);
        expect(r[2]).toBeGreaterThanOrEqual(r[0]);
        expect(r[3]).toBeGreaterThanOrEqual(r[1]);
        expect(Number.isInteger(r[5]) && r[5] >= 0 && r[5] < 80).toBe(true);
        if (i > 0) expect(r[4]).toBeLessThanOrEqual(d[(n * 300 + i - 1) * 6 + 4]);
      }
    // The output depends on the pixels.
    expect(Array.from(d.subarray(0, 6))).not.toEqual(Array.from(d.subarray(1800, 1806)));
    // A busy scene's worth of rows pass the default 0.25 threshold, not all 300.
    for (let n = 0; n < 2; n++) {
      let above = 0;
      for (let i = 0; i < 300; i++) if (d[(n * 300 + i) * 6 + 4] >= 0.25) above++;
      expect(above).toBe(BUSY_SCENE);
    }
  });
});
