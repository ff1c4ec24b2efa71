/**
 * Section 2, recorded-video analysis throughput and latency: `analyzeRecording` (the `analyze`
 * command's pipeline: decode -> batched inference in the worker -> tracking -> JSONL writer) on a
 * clip, with its output in a temporary file. Progress callbacks give the fps over time; each
 * result's timing gives its latency (capture -> out of the stage chain) and the time in each stage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeRecording } from '../src/pipeline/analyzeRecording.js';
import type { StageFactory } from '../src/pipeline/stage.js';
import { DEFAULT_TRACKER, type ExecutionProvider } from '../src/config/schema.js';
import { openFileSink } from '../src/output/sinks.js';
import type { FrameTiming } from '../src/types.js';
import type { Clip } from './inputs.js';
import { stageSpreads, stageSummaries } from './stages.js';
import { mean, percentileSpread, r3, splitHalfSpread, summarize, type Summary } from './stats.js';

export interface AnalysisRun {
  clip: string;
  /** The model's label (bench/models.ts). */
  model: string;
  provider: string;
  imgsz: number;
  batch: number;
  frames: number;
  seconds: number;
  fps: number;
  /** The run stopped at its time bound (a live source, or a long file) before the input ended. */
  bounded: boolean;
  /** Per frame: capture (left the decoder) -> left the stage chain, ms. */
  latency: Summary;
  /** Latency terms and chain stages (bench/stages.ts) that the results carry. */
  stages: Record<string, Summary>;
  /** The run's own noise (split-half spreads): of the time per frame, the latency percentiles and each stage's median. */
  spread: number;
  latencySpread: { p50: number; p95: number };
  stageSpread: Record<string, number>;
  /** Frames per second over time, one point per second. */
  series: { t: number; fps: number }[];
}

export interface AnalysisOptions {
  clip: Clip;
  modelPath: string;
  /** Label in the results (default: the path). */
  model?: string;
  imgsz: number;
  /** The one execution provider to run on (default 'cpu'). */
  provider?: ExecutionProvider;
  /** Frames per inference call, as `analyze --batch` (default there: 4). */
  batch: number;
  intraOpThreads?: number;
  /** Stops the analysis after this long (a live source never ends). Default: none. */
  maxSeconds?: number;
  /** The chain's stage factories (default: the registry). */
  stages?: readonly StageFactory[];
}

export async function analysisRun(opts: AnalysisOptions): Promise<AnalysisRun> {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-'));
  const progress: { t: number; done: number }[] = [];
  const timings: { timing: FrameTiming }[] = [];
  const doneAt: number[] = [];
  const t0 = performance.now();
  const sink = openFileSink('jsonl', join(dir, 'results.jsonl'));
  const provider = opts.provider ?? 'cpu';
  try {
    const summary = await analyzeRecording({
      input: opts.clip.path,
      onResult: (result) => {
        timings.push({ timing: result.timing });
        doneAt.push(performance.now());
        return sink.write(result);
      },
      detector: { path: opts.modelPath, providers: [provider], intraOpThreads: opts.intraOpThreads, maxBatch: opts.batch },
      conf: 0.25,
      batch: opts.batch,
      tracker: DEFAULT_TRACKER,
      onProgress: (done) => progress.push({ t: performance.now() - t0, done }),
      ...(opts.maxSeconds !== undefined ? { signal: AbortSignal.timeout(opts.maxSeconds * 1000) } : {}),
      ...(opts.stages ? { stages: opts.stages } : {}),
    });
    const latency = timings.flatMap(({ timing: t }) => (t.doneTs !== undefined ? [t.doneTs - t.captureTs] : []));
    const gaps = doneAt.slice(1).map((t, i) => t - doneAt[i]);
    return {
      clip: opts.clip.name,
      model: opts.model ?? opts.modelPath,
      provider,
      imgsz: opts.imgsz,
      batch: opts.batch,
      frames: summary.frames,
      seconds: r3(summary.seconds),
      fps: r3(summary.fps),
      bounded: summary.interrupted,
      latency: summarize(latency),
      stages: stageSummaries(timings),
      spread: splitHalfSpread(gaps, mean),
      latencySpread: percentileSpread(latency),
      stageSpread: stageSpreads(timings),
      series: progressSeries(progress),
    };
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
