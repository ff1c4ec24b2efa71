/**
 * Raw session throughput and latency for benchmarks: the same session options as the pipeline, a
 * fixed input tensor, no pre/post-processing, on the calling thread. Baseline for the pipeline.
 */
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { DEFAULT_MODEL, type SessionSettings } from '../src/config/schema.js';
import { resolveContract } from '../src/infer/adapters/select.js';
import { readModelFile } from '../src/infer/onnx/modelFile.js';
import { openSession } from '../src/infer/session.js';

export interface MeasureOptions extends Partial<SessionSettings> {
  batch: number;
  iterations: number;
  /** Untimed runs first (allocations, lazy init). Default 2. */
  warmup?: number;
}

export interface SessionMeasurement {
  fps: number;
  msPerBatch: number;
  /** Each timed session.run, ms, in order. */
  runMs: number[];
  activeProvider: string;
}

/** Session settings as the config's defaults except providers (default ['cpu'], the first that loads is used). */
export async function measureSessionFps(modelPath: string, opts: MeasureOptions): Promise<SessionMeasurement> {
  const contract = resolveContract(readModelFile(modelPath));
  if (contract.batch !== 'dynamic' && contract.batch !== opts.batch) {
    throw new Error(`model ${modelPath} has a fixed batch of ${contract.batch}; cannot measure batch ${opts.batch}`);
  }
  const [h, w] = contract.imgsz;
  const { session, activeProvider } = await openSession(modelPath, {
    providers: opts.providers ?? ['cpu'],
    intraOpThreads: opts.intraOpThreads ?? DEFAULT_MODEL.intraOpThreads,
    allowSpinning: opts.allowSpinning ?? DEFAULT_MODEL.allowSpinning,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? DEFAULT_MODEL.graphOptimizationLevel,
    deviceId: opts.deviceId ?? DEFAULT_MODEL.deviceId,
  });
  try {
    // Mid-grey with a little structure, so data-dependent models do some work.
    const data = new Float32Array(opts.batch * 3 * h * w);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) >>> 24) / 255;
    const feeds = { [contract.inputName]: new ort.Tensor('float32', data, [opts.batch, 3, h, w]) };
    for (let i = 0; i < (opts.warmup ?? 2); i++) await session.run(feeds);
    const runMs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < opts.iterations; i++) {
      const t = performance.now();
      await session.run(feeds);
      runMs.push(performance.now() - t);
    }
    const msPerBatch = (performance.now() - t0) / opts.iterations;
    return { fps: (1000 * opts.batch) / msPerBatch, msPerBatch, runMs, activeProvider };
  } finally {
    await session.release();
  }
}
