/**
 * Recorded-video analysis: every decoded frame, in order, as fast as the model allows.
 * Decoding is pulled (policy `all`): while one batch infers, the next is read and ffmpeg decodes up
 * to two batches ahead, so about four batches of frames are in memory at most and ffmpeg waits on
 * its pipe when inference is behind.
 *
 * Throughput on a CPU shared by decoding and inference: ffmpeg runs niced (default 19) and the
 * session's idle threads sleep instead of spinning, so decoding fills the moments the session's
 * threads leave idle rather than pre-empting them mid-operator (which stalls both threads at the
 * next barrier). Measured on 2 cores with a 1080p H.264 clip: +7-9 % fps (docs/benchmarks.md).
 */
import { probeSource } from '../ingest/probe.js';
import { FrameDecoder } from '../ingest/decoder.js';
import { Detector, type DetectorOptions } from '../infer/detector.js';
import { ByteTracker } from '../track/byteTracker.js';
import { openResultWriter, type ResultFormat } from '../output/resultWriter.js';
import type { Detection, Frame, FrameResult, TrackerConfig } from '../types.js';

export interface AnalyzeOptions {
  input: string;
  out: string;
  format: ResultFormat;
  detector: DetectorOptions;
  conf: number;
  classes?: number[];
  /** Frames per inference call (clamped to what the model accepts). */
  batch: number;
  /** ffmpeg's niceness, 0..19. Default 19 (decode in the cycles inference leaves). */
  decodeNice?: number;
  /** Tracker settings; undefined disables tracking. */
  tracker?: TrackerConfig;
  signal?: AbortSignal;
  onProgress?(done: number, total: number | undefined): void;
}

export interface AnalyzeSummary {
  frames: number;
  seconds: number;
  fps: number;
  interrupted: boolean;
}

interface FrameMeta {
  index: number;
  seq: number;
  pts: number;
  width: number;
  height: number;
  captureTs: number;
}

function metaOf(f: Frame): FrameMeta {
  return {
    index: f.index,
    seq: f.seq,
    pts: f.pts,
    width: f.letterbox.srcWidth,
    height: f.letterbox.srcHeight,
    captureTs: f.captureTs,
  };
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
  const info = await probeSource(opts.input, { timeoutMs: 15_000 });
  const detector = await Detector.open({ allowSpinning: false, ...opts.detector });
  const batchSize = Math.max(1, Math.min(opts.batch, detector.info.maxBatch));
  const started = performance.now();
  let frames = 0;
  let interrupted = false;
  const writer = openResultWriter(opts.out, opts.format);
  const decoder = new FrameDecoder({
    streamId: 'analyze',
    url: opts.input,
    info,
    dstWidth: detector.info.inputWidth,
    dstHeight: detector.info.inputHeight,
    readAhead: 2 * batchSize,
    nice: opts.decodeNice ?? 19,
  });
  const onAbort = (): void => {
    interrupted = true;
    void decoder.stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const tracker = opts.tracker ? new ByteTracker(opts.tracker) : undefined;

  const infer = async (batch: Frame[]): Promise<{ metas: FrameMeta[]; detections: Detection[][] }> => {
    const metas = batch.map(metaOf);
    const results = await detector.detect(batch, { conf: opts.conf, classes: opts.classes });
    return { metas, detections: results.map((r) => r.detections) };
  };

  const emit = async (done: { metas: FrameMeta[]; detections: Detection[][] }): Promise<void> => {
    for (let i = 0; i < done.metas.length; i++) {
      const m = done.metas[i];
      // Every detection stays, with the detector's box; MOT rows are those with a track id.
      const detections = tracker ? tracker.annotate(done.detections[i], m.pts) : done.detections[i];
      const result: FrameResult = {
        streamId: 'analyze',
        seq: m.seq,
        index: m.index,
        pts: m.pts,
        width: m.width,
        height: m.height,
        detections,
        timing: { captureTs: m.captureTs },
      };
      await writer.write(result);
      frames++;
    }
    opts.onProgress?.(frames, info.frameCount);
  };

  try {
    const source = decoder.frames();
    let pending: Promise<{ metas: FrameMeta[]; detections: Detection[][] }> | undefined;
    for (;;) {
      const batch = interrupted ? [] : await takeBatch(source, batchSize);
      const next = batch.length > 0 ? infer(batch) : undefined;
      // Keep a rejected promise from going unhandled while the previous batch is written.
      next?.catch(() => undefined);
      if (pending) await emit(await pending);
      if (!next) break;
      pending = next;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await decoder.stop();
    await detector.close();
    await writer.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { frames, seconds, fps: seconds > 0 ? frames / seconds : 0, interrupted };
}
