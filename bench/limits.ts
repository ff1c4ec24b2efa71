/**
 * Section 1, the limits of the same run: the ONNX Runtime session alone (same model, input size and
 * thread settings as the pipeline, a fixed tensor, no pre/post-processing) per execution provider
 * and batch size, and ffmpeg alone decoding and letterboxing a clip (FrameDecoder drained as fast
 * as it produces).
 */
import { performance } from 'node:perf_hooks';
import { measureSessionFps } from './measure.js';
import { FrameDecoder } from '../src/ingest/decoder.js';
import { probeSource } from '../src/ingest/probe.js';
import type { ExecutionProvider } from '../src/config/schema.js';
import type { Clip } from './inputs.js';
import { r3, splitHalfSpread, mean, summarize, type Summary } from './stats.js';

export interface SessionLimit {
  /** The model's label (bench/models.ts). */
  model: string;
  provider: string;
  imgsz: number;
  batch: number;
  fps: number;
  msPerBatch: number;
  /** Each session.run of the batch, ms: the latency of the batch's frames. */
  latency: Summary;
  /** The run's own noise: split-half spread of the mean run time. */
  spread: number;
}

export interface DecodeLimit {
  clip: string;
  source: string;
  imgsz: number;
  frames: number;
  seconds: number;
  fps: number;
}

export interface SessionLimitOptions {
  modelPath: string;
  /** Label in the results (default: the path). */
  model?: string;
  imgsz: number;
  /** The one execution provider to measure (default 'cpu'); it fails when the provider is not available. */
  provider?: ExecutionProvider;
  batches: number[];
  /** Frames per measurement: each batch size runs about iterations / batch times (at least 4). */
  iterations: number;
  warmup?: number;
  intraOpThreads?: number;
}

export async function sessionLimits(opts: SessionLimitOptions): Promise<SessionLimit[]> {
  const out: SessionLimit[] = [];
  const provider = opts.provider ?? 'cpu';
  for (const batch of opts.batches) {
    // Fewer runs for big batches keep the time per measurement about the same.
    const iterations = Math.max(4, Math.round(opts.iterations / batch));
    const r = await measureSessionFps(opts.modelPath, { batch, iterations, warmup: opts.warmup, intraOpThreads: opts.intraOpThreads, providers: [provider] });
    out.push({
      model: opts.model ?? opts.modelPath,
      provider: r.activeProvider,
      imgsz: opts.imgsz,
      batch,
      fps: r3(r.fps),
      msPerBatch: r3(r.msPerBatch),
      latency: summarize(r.runMs),
      spread: splitHalfSpread(r.runMs, mean),
    });
  }
  return out;
}

/**
 * Decodes and letterboxes the frames of `clip` to imgsz x imgsz RGB, discarding the pixels: all of
 * a file, or what arrives within `maxSeconds` (a live source never ends).
 */
export async function decodeLimit(clip: Clip, imgsz: number, maxSeconds = Infinity): Promise<DecodeLimit> {
  const info = await probeSource(clip.path, { timeoutMs: 15_000 });
  const decoder = new FrameDecoder({ streamId: 'bench-decode', url: clip.path, info, dstWidth: imgsz, dstHeight: imgsz });
  const t0 = performance.now();
  let frames = 0;
  try {
    for await (const frame of decoder.frames()) {
      if (frame.rgb.length > 0) frames++;
      if (performance.now() - t0 > maxSeconds * 1000) break;
    }
  } finally {
    await decoder.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { clip: clip.name, source: `${info.width}x${info.height} ${info.codec}`, imgsz, frames, seconds: r3(seconds), fps: r3(frames / seconds) };
}
