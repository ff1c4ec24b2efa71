/**
 * Section 1, the limits of the same run: the ONNX Runtime session alone (same model, input size and
 * thread settings as the pipeline, a fixed tensor, no pre/post-processing) and ffmpeg alone
 * decoding and letterboxing a clip (FrameDecoder drained as fast as it produces).
 */
import { performance } from 'node:perf_hooks';
import { measureSessionFps } from './measure.js';
import { FrameDecoder } from '../src/ingest/decoder.js';
import { probeSource } from '../src/ingest/probe.js';
import type { Clip } from './inputs.js';
import { r3 } from './stats.js';

export interface SessionLimit {
  imgsz: number;
  batch: number;
  fps: number;
  msPerBatch: number;
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
  imgsz: number;
  batches: number[];
  iterations: number;
  warmup?: number;
  intraOpThreads?: number;
}

export async function sessionLimits(opts: SessionLimitOptions): Promise<SessionLimit[]> {
  const out: SessionLimit[] = [];
  for (const batch of opts.batches) {
    // Fewer runs for big batches keep the time per measurement about the same.
    const iterations = Math.max(3, Math.round(opts.iterations / batch));
    const r = await measureSessionFps(opts.modelPath, { batch, iterations, warmup: opts.warmup, intraOpThreads: opts.intraOpThreads, providers: ['cpu'] });
    out.push({ imgsz: opts.imgsz, batch, fps: r3(r.fps), msPerBatch: r3(r.msPerBatch) });
  }
  return out;
}

/** Decodes and letterboxes every frame of `clip` to imgsz x imgsz RGB, discarding the pixels. */
export async function decodeLimit(clip: Clip, imgsz: number): Promise<DecodeLimit> {
  const info = await probeSource(clip.path, { timeoutMs: 15_000 });
  const decoder = new FrameDecoder({ streamId: 'bench-decode', url: clip.path, info, dstWidth: imgsz, dstHeight: imgsz });
  const t0 = performance.now();
  let frames = 0;
  try {
    for await (const frame of decoder.frames()) {
      if (frame.rgb.length > 0) frames++;
    }
  } finally {
    await decoder.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { clip: clip.name, source: `${info.width}x${info.height} ${info.codec}`, imgsz, frames, seconds: r3(seconds), fps: r3(frames / seconds) };
}
