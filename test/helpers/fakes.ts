/**
 * Fakes of the pipeline's seams, for unit tests without ffmpeg or ONNX Runtime: a model backend
 * whose runs the test completes, and a source factory that plays scripted connection attempts.
 */
import type { BatchItem, BatchResult, BatcherMetrics, ModelBackend, ModelInfo } from '../../src/infer/backend.js';
import type { HlsPlaylist } from '../../src/ingest/hls.js';
import type { FrameSource, SourceFactory, SourceRequest } from '../../src/ingest/source.js';
import type { Logger, LogFields } from '../../src/log.js';
import type { Detection, Frame, Letterbox, SourceInfo } from '../../src/types.js';
import { nowMs } from '../../src/clock.js';

export function letterbox(srcWidth = 64, srcHeight = 48): Letterbox {
  return { srcWidth, srcHeight, dstWidth: 64, dstHeight: 64, scale: 1, resizedWidth: srcWidth, resizedHeight: srcHeight, padX: 0, padY: 0 };
}

export function fakeFrame(seq: number, opts: { streamId?: string; lb?: Letterbox; captureTs?: number; index?: number } = {}): Frame {
  return {
    streamId: opts.streamId ?? 's',
    seq,
    index: opts.index ?? seq,
    pts: seq / 10,
    captureTs: opts.captureTs ?? nowMs(),
    letterbox: opts.lb ?? letterbox(),
    // The frame's seq in the first byte: the fake backend echoes it back.
    rgb: Uint8Array.of(seq % 256),
  };
}

/** One box per frame, moving slowly, with score 0.9: a tracker confirms it after two frames. */
function detectionFor(tag: number): Detection {
  return { box: [10 + tag * 0.1, 10, 30 + tag * 0.1, 30], score: 0.9, class: 0, label: 'thing' };
}

interface Pending {
  item: BatchItem;
  resolve(r: BatchResult): void;
  reject(e: Error): void;
}

/**
 * A model backend. With `auto` (default) every frame is answered on the next microtask; otherwise
 * submitted frames wait in `pending` until the test calls `complete()`.
 */
export class FakeBackend implements ModelBackend {
  readonly path = '/models/fake.onnx';
  readonly activeProvider = 'fake';
  readonly batching = { maxBatch: 4, maxWaitMs: 0, padBatchSizes: [], maxQueuePerStream: 4 };
  readonly info = { inputWidth: 64, inputHeight: 64, maxBatch: 4, batch: 'dynamic', names: { 0: 'thing' }, nc: 1, format: 'yolov10', task: 'detect' } as unknown as ModelInfo;
  readonly pending: Pending[] = [];
  readonly submitted: BatchItem[] = [];
  closed = false;
  failWith: Error | undefined;

  constructor(private readonly auto = true) {}

  submit(item: BatchItem): Promise<BatchResult> {
    this.submitted.push(item);
    if (this.closed) return Promise.reject(new Error('backend closed'));
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.auto) queueMicrotask(() => this.complete());
    });
  }

  /** Answers the oldest `n` waiting frames (all by default), in order. */
  complete(n = this.pending.length): void {
    for (const p of this.pending.splice(0, n)) {
      if (this.failWith) {
        p.reject(this.failWith);
        continue;
      }
      const t = nowMs();
      p.resolve({
        detections: [detectionFor(p.item.rgb[0])],
        timing: { queuedTs: t, inferStartTs: t, inferEndTs: t, batchSize: 1, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 },
      });
    }
  }

  metrics(): BatcherMetrics {
    return { batches: 0, frames: 0, meanBatchSize: 0, lastBatchSize: 0, batchSizeHistogram: {}, paddedFrames: 0, failedBatches: 0, queueWaitMs: { mean: 0, max: 0 }, queued: this.pending.length, drops: { 'queue-full': 0, rejected: 0, closed: 0 } };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(new Error('backend closed'));
  }
}

/** What one connection attempt does: fail to open, or yield frames and then end, fail or hang. */
export type Attempt =
  | { open: 'fail'; error: Error }
  | {
      frames: number;
      then: 'end' | 'hang' | { fail: Error };
      /** The frames' geometry; a function of the frame's index in the attempt: the source changes resolution. */
      lb?: Letterbox | ((index: number) => Letterbox);
      /** Overrides of the source's info (e.g. an HTTP file: a network URL that is finite). */
      info?: Partial<SourceInfo>;
      /** The live HLS playlist the source reports. */
      playlist?: HlsPlaylist;
      decodeErrors?: number;
    };

/** A source factory playing `attempts` in order (the last one repeats). Records every request and stop. */
export class ScriptedSources implements SourceFactory {
  readonly requests: SourceRequest[] = [];
  stops = 0;
  /** Sources opened and not yet stopped; the most there ever were at once. */
  running = 0;
  maxRunning = 0;

  /** `stopMs`: how long each stop takes (ffmpeg takes a moment to exit); none by default. */
  constructor(
    private readonly attempts: Attempt[],
    private readonly options: { stopMs?: () => number } = {},
  ) {}

  async open(req: SourceRequest): Promise<FrameSource> {
    const picked = this.attempts[Math.min(this.requests.length, this.attempts.length - 1)];
    this.requests.push(req);
    if ('open' in picked) throw picked.error;
    const attempt = picked; // narrowed, also inside the generator below
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    let stopped = false;
    let wake: (() => void) | undefined;
    const info: SourceInfo = { url: req.url, width: 64, height: 48, fps: 10, codec: 'fake', isFile: !/^[a-z]+:\/\//.test(req.url), ...attempt.info };
    const sources = this;
    async function* frames(): AsyncGenerator<Frame> {
      for (let i = 0; i < attempt.frames; i++) {
        if (stopped) return;
        const lb = typeof attempt.lb === 'function' ? attempt.lb(i) : attempt.lb;
        yield fakeFrame((req.startSeq ?? 0) + i, { streamId: req.streamId, index: i, lb });
      }
      if (attempt.then === 'end') return;
      if (attempt.then === 'hang') {
        await new Promise<void>((resolve) => (wake = resolve));
        return;
      }
      throw attempt.then.fail;
    }
    return {
      info,
      playlist: attempt.playlist,
      decodeErrors: attempt.decodeErrors,
      frames: () => frames(),
      async stop() {
        if (stopped) return;
        stopped = true;
        wake?.();
        const ms = sources.options.stopMs?.() ?? 0;
        if (ms > 0) await new Promise((r) => setTimeout(r, ms));
        sources.stops++;
        sources.running--;
      },
    };
  }
}

export interface LogEntry extends LogFields {
  level: string;
  msg: string;
}

/** A logger that keeps its entries. */
export function memoryLogger(entries: LogEntry[] = []): Logger & { entries: LogEntry[] } {
  const at =
    (level: string) =>
    (fields: LogFields, msg: string): void => {
      entries.push({ ...fields, level, msg });
    };
  const logger = { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

/** Resolves once `cond()` holds (checked every 2 ms), or rejects after a hang deadline (helpers/until.ts). */
export { until } from './until.js';
