/**
 * Models whose inference cost a test sets, so "inference is slow" holds on any machine: a batch-1
 * model in the yolov10 layout that never detects anything, whose run is `layers` 3x3 convolutions
 * of 16 channels over a 64x64 input. calibrateCostlyModel() grows it until one run takes at least
 * the time the test needs, measured on this machine, now: in wall time (the run is at least that
 * long now), or in the process's CPU time (at least that long however idle the machine gets later;
 * a calibration under load measures wall times that an idle machine then beats many times over).
 */
import { join } from 'node:path';
import { Detector } from '../../src/infer/detector.js';
import { ints, OnnxGraphBuilder } from '../../src/tools/modelgen/onnxBuilder.js';
import type { Letterbox } from '../../src/types.js';

export const COSTLY_SIZE = 64;
export const costlyLetterbox: Letterbox = {
  srcWidth: COSTLY_SIZE, srcHeight: COSTLY_SIZE, dstWidth: COSTLY_SIZE, dstHeight: COSTLY_SIZE,
  scale: 1, resizedWidth: COSTLY_SIZE, resizedHeight: COSTLY_SIZE, padX: 0, padY: 0,
};

/** Writes the model with `layers` convolutions to `dir` and returns its path. */
export function costlyModel(dir: string, layers: number): string {
  const g = new OnnxGraphBuilder(`costly-${layers}`);
  const pads = { pads: ints([1, 1, 1, 1]) };
  // Each output value averages its 3x3x16 inputs, so values neither grow nor vanish with depth.
  const input = g.input('images', 'float32', [1, 3, COSTLY_SIZE, COSTLY_SIZE]);
  let h = g.op('Conv', [input, g.initializer('w_in', [16, 3, 3, 3], new Float32Array(16 * 27).fill(1 / 27))], pads);
  const w = g.initializer('w', [16, 16, 3, 3], new Float32Array(16 * 144).fill(1 / 144));
  for (let i = 0; i < layers; i++) h = g.op('Conv', [h, w], pads);
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [h])]);
  const zeros = g.op('MatMul', [pooled, g.initializer('zero', [16, 300 * 6], new Float32Array(16 * 300 * 6))]);
  g.output(g.op('Reshape', [zeros, g.int64s('shape', [1, 300, 6])], {}, { output: 'output0' }), 'float32', [1, 300, 6]);
  const path = join(dir, `costly-${layers}.onnx`);
  g.write(path);
  return path;
}

/** One run's wall time and the process's CPU time during it (ms) of a detector on a blank frame, and its result. */
export async function timeCostlyRun(d: Detector): Promise<{ ms: number; cpuMs: number; start: number; end: number; detections: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const [r] = await d.detect([{ rgb: new Uint8Array(COSTLY_SIZE * COSTLY_SIZE * 3), letterbox: costlyLetterbox }], { conf: 0.25 });
  const end = performance.now();
  const used = process.cpuUsage(cpu);
  return { ms: end - start, cpuMs: (used.user + used.system) / 1000, start, end, detections: r.detections.length };
}

/**
 * The smallest model (layers doubling, or more when far off) whose run takes at least `minMs` on
 * one intra-op thread here, by `clock` (default wall, of a first run; `cpu`, of a second run,
 * counts the whole process, so nothing else in it should be busy meanwhile); bounded in attempts. Returns its path and the measured run time.
 */
export async function calibrateCostlyModel(dir: string, minMs: number, clock: 'wall' | 'cpu' = 'wall'): Promise<{ path: string; layers: number; runMs: number }> {
  let layers = 8;
  for (let attempt = 0; ; attempt++) {
    const path = costlyModel(dir, layers);
    const d = await Detector.open({ path, providers: ['cpu'], intraOpThreads: 1 });
    let ms: number;
    try {
      // The CPU cost is a steady run's (a stream's): the first run also pays the session's warm-up.
      if (clock === 'cpu') await timeCostlyRun(d);
      const run = await timeCostlyRun(d);
      ms = clock === 'cpu' ? run.cpuMs : run.ms;
    } finally {
      await d.close();
    }
    if (ms >= minMs) return { path, layers, runMs: ms };
    if (attempt >= 8) throw new Error(`a ${layers}-layer model still runs in ${ms.toFixed(1)} ms, under ${minMs} ms`);
    layers *= Math.min(16, Math.ceil((2 * minMs) / Math.max(ms, 1)));
  }
}
