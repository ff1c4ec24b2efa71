/**
 * Section 2, recorded-video analysis throughput: `analyzeRecording` (the `analyze` command's
 * pipeline: decode -> batched inference in the worker -> tracking -> JSONL writer) on a clip, with
 * its output in a temporary file. Progress callbacks give the fps over time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeRecording } from '../src/pipeline/analyzeRecording.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { openFileSink } from '../src/output/sinks.js';
import type { Clip } from './inputs.js';
import { r3 } from './stats.js';

export interface AnalysisRun {
  clip: string;
  imgsz: number;
  batch: number;
  frames: number;
  seconds: number;
  fps: number;
  /** Frames per second over time, one point per second. */
  series: { t: number; fps: number }[];
}

export interface AnalysisOptions {
  clip: Clip;
  modelPath: string;
  imgsz: number;
  /** Frames per inference call, as `analyze --batch` (default there: 4). */
  batch: number;
  intraOpThreads?: number;
}

export async function analysisRun(opts: AnalysisOptions): Promise<AnalysisRun> {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-'));
  const progress: { t: number; done: number }[] = [];
  const t0 = performance.now();
  const sink = openFileSink('jsonl', join(dir, 'results.jsonl'));
  try {
    const summary = await analyzeRecording({
      input: opts.clip.path,
      onResult: (result) => sink.write(result),
      detector: { path: opts.modelPath, providers: ['cpu'], intraOpThreads: opts.intraOpThreads, maxBatch: opts.batch },
      conf: 0.25,
      batch: opts.batch,
      tracker: DEFAULT_TRACKER,
      onProgress: (done) => progress.push({ t: performance.now() - t0, done }),
    });
    return { clip: opts.clip.name, imgsz: opts.imgsz, batch: opts.batch, frames: summary.frames, seconds: r3(summary.seconds), fps: r3(summary.fps), series: progressSeries(progress) };
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cumulative (time, frames done) samples to frames per second in 1 s buckets (a last bucket under half as long is left out). */
export function progressSeries(progress: readonly { t: number; done: number }[], bucketMs = 1000): { t: number; fps: number }[] {
  const out: { t: number; fps: number }[] = [];
  let prevDone = 0;
  let k = 0;
  const end = progress.length ? progress[progress.length - 1].t : 0;
  for (let edge = bucketMs; edge - bucketMs < end; edge += bucketMs) {
    while (k < progress.length && progress[k].t <= edge) k++;
    const done = k > 0 ? progress[k - 1].done : 0;
    const span = Math.min(edge, end) - (edge - bucketMs);
    // A short last bucket holds one or two batches: its rate would be noise.
    if (span >= bucketMs / 2) out.push({ t: r3(Math.min(edge, end) / 1000), fps: r3(((done - prevDone) * 1000) / span) });
    prevDone = done;
  }
  return out;
}
