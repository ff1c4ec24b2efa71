/**
 * Recorded-video analysis: every decoded frame, in order, through the stage chain (the same one
 * the live server builds), as fast as the model allows. Decoding is pulled (nothing is dropped):
 * while one batch of frames infers, the next batch is read and handed to the model, and ffmpeg
 * decodes up to two batches ahead, so about four batches of frames are in memory at most and ffmpeg
 * waits on its pipe when inference (or a result sink) is behind.
 *
 * Throughput on a CPU shared by decoding and inference: ffmpeg runs niced (default 19) and the
 * session's idle threads sleep instead of spinning, so decoding fills the moments the session's
 * threads leave idle rather than pre-empting them mid-operator (which stalls both threads at the
 * next barrier). Measured on 2 cores with a 1080p H.264 clip: +7-9 % fps (docs/benchmarks.md).
 */
import { ffmpegSources } from '../ingest/ffmpegSource.js';
import type { SourceFactory } from '../ingest/source.js';
import { redactUrl } from '../ingest/sourceUrl.js';
import { openModelBackend } from '../infer/backend.js';
import type { DetectorOptions, ModelInfo } from '../infer/detector.js';
import { DEFAULT_TRACKER, type AnalyticsSettings, type MotionConfig } from '../config/schema.js';
import type { Frame, FrameResult, SourceInfo, TrackerConfig } from '../types.js';
import { log as defaultLog, type Logger } from '../log.js';
import { needsSourceFrames } from './motion.js';
import { buildStageChain } from './stages.js';
import type { StageFactory } from './stage.js';

/** The stream id of analysis results. */
export const ANALYZE_STREAM = 'analyze';

export interface AnalyzeOptions {
  input: string;
  detector: DetectorOptions;
  conf: number;
  classes?: number[];
  /** Frames per inference call (clamped to what the model accepts). */
  batch: number;
  /** ffmpeg's niceness, 0..19. Default 19 (decode in the cycles inference leaves). */
  decodeNice?: number;
  /** Tracker settings; undefined disables tracking. */
  tracker?: TrackerConfig;
  /** Motion gating (docs/motion.md); undefined runs the detector on every frame. */
  motion?: MotionConfig;
  /** Give each result its source frame's pixels (FrameResult.source), for outputs that draw or crop. */
  sourceFrames?: boolean;
  /**
   * Called once the input is probed and the model loaded, before the first frame: outputs that
   * need the source's size and rate or the model's classes open here. A rejection ends the analysis.
   */
  onOpen?(opened: { source: SourceInfo; model: ModelInfo }): void | Promise<void>;
  /** Zones and lines (validated, parseAnalytics); events and counts then come with the results. */
  analytics?: AnalyticsSettings;
  /**
   * Every result, in frame order. A returned promise is awaited before more results are handed
   * over (a sink that waits pauses decoding); a rejection ends the analysis with that error.
   */
  onResult(result: FrameResult): void | Promise<void>;
  signal?: AbortSignal;
  onProgress?(done: number, total: number | undefined): void;
  sources?: SourceFactory;
  /** The chain's stage factories, in order (default: the registry, STAGES); the benchmark slows one on purpose to check that a regression shows. */
  stages?: readonly StageFactory[];
  log?: Logger;
}

export interface AnalyzeSummary {
  frames: number;
  /** Frames the detector ran on (all of them without motion gating). */
  inferred: number;
  seconds: number;
  fps: number;
  interrupted: boolean;
  /** What the source said that did not stop the analysis (a truncated file: where it ended). */
  warnings: string[];
}

async function takeBatch(frames: AsyncIterator<Frame>, n: number): Promise<Frame[]> {
  const batch: Frame[] = [];
  while (batch.length < n) {
    const next = await frames.next();
    if (next.done) break;
    batch.push(next.value);
  }
  return batch;
}

export async function analyzeRecording(opts: AnalyzeOptions): Promise<AnalyzeSummary> {
  const log = opts.log ?? defaultLog;
  const requested = Math.max(1, opts.batch);
  // The input first: a file that cannot be read fails before the model is loaded.
  const warnings: string[] = [];
  const source = await (opts.sources ?? ffmpegSources).open({
    onWarning: (message) => warnings.push(message),
    streamId: ANALYZE_STREAM,
    url: opts.input,
    openTimeoutMs: 15_000,
    nice: opts.decodeNice ?? 19,
    // Motion regions crop the source frames (docs/motion.md).
    source: opts.sourceFrames || needsSourceFrames(opts.motion),
  });
  let model;
  try {
    // Two batches in flight at most (see the file comment): the queue never drops, it would refuse.
    model = await openModelBackend({ allowSpinning: false, ...opts.detector }, { maxBatch: requested, maxQueuePerStream: 2 * requested, overflow: 'reject', runsInFlight: 2 });
  } catch (err) {
    await source.stop();
    throw err;
  }
  try {
    await opts.onOpen?.({ source: source.info, model: model.info });
  } catch (err) {
    await source.stop();
    await model.close();
    throw err;
  }
  const batchSize = model.batching.maxBatch;
  const total = source.info.frameCount;
  const chain = buildStageChain({
    streamId: ANALYZE_STREAM,
    settings: { conf: opts.conf, classes: opts.classes ?? [], tracker: opts.tracker ?? { ...DEFAULT_TRACKER, enabled: false }, analytics: opts.analytics, motion: opts.motion },
    model,
    log,
    memory: new Map(),
    live: false,
  }, opts.stages);
  const started = performance.now();
  let frames = 0;
  let inferred = 0;
  let interrupted = false;
  const onAbort = (): void => {
    interrupted = true;
    void source.stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const decoded = source.frames({ width: model.info.inputWidth, height: model.info.inputHeight, readAhead: 2 * batchSize });
    let pending: Promise<FrameResult[]> | undefined;
    for (;;) {
      const batch = interrupted ? [] : await takeBatch(decoded, batchSize);
      // Handed to the model together: they run as one batch while the previous one is written.
      const next = batch.length > 0 ? Promise.all(batch.map((frame) => chain.process(frame))) : undefined;
      // Keep a rejected promise from going unhandled while the previous batch is written.
      next?.catch(() => undefined);
      if (pending) {
        for (const result of await pending) {
          const written = opts.onResult(result);
          if (written) await written;
          frames++;
          if (result.inferred !== false) inferred++;
        }
        opts.onProgress?.(frames, total);
      }
      if (!next) break;
      pending = next;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await source.stop();
    await model.close();
    await chain.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const damaged = source.decodeErrors ?? 0;
  if (damaged > 0) warnings.push(`${redactUrl(opts.input)}: the decoder met damaged data in ${damaged} of ${frames} frames (their pictures, and results, may be wrong)`);
  return { frames, inferred, seconds, fps: seconds > 0 ? frames / seconds : 0, interrupted, warnings };
}
