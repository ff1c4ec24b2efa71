/**
 * Cross-stream dynamic batching for one model. Frames from every stream (and HTTP requests) wait
 * in per-stream FIFO queues; a batch is formed when `maxBatch` frames wait, when every stream
 * active in the last ACTIVE_WINDOW_MS already has a frame waiting (nobody else is expected: a
 * single camera never waits), or `maxWaitMs` after the oldest waiting frame arrived, whichever
 * comes first, and runs while the next batch forms (one session run at a time per detector, unless
 * `runsInFlight` lets a throughput caller hand the next batch over before the current one returns).
 * One-shot sources (HTTP requests) are never waited for.
 *
 * Fairness: a batch takes one frame per waiting stream, round-robin starting after the stream
 * served last, and takes a second frame from a stream only when fewer streams than `maxBatch` are
 * waiting. A stalled stream never holds a batch back: nothing ever waits for a particular stream.
 * A frame's motion windows (`window`, docs/motion.md) belong to its stream: they take that stream's
 * turns after its frames, and are never waited for as a stream of their own.
 *
 * Bounded memory: each stream queue holds at most `maxQueuePerStream` frames. Beyond that the
 * `overflow` policy applies — 'drop-oldest' (default) rejects the oldest waiting frame of that
 * stream, 'reject' refuses the new one — with a `BatcherDropError` whose `reason` is counted in
 * metrics. Upstream drop policies normally keep queues far below the cap.
 */
import { nowMs } from '../clock.js';
import type { Letterbox } from '../types.js';
import type { DetectFrame, DetectOptions, FrameDetections } from './detector.js';

/** What the batcher needs from a detector. */
export interface BatchRunner {
  readonly info: { maxBatch: number; batch: number | 'dynamic' };
  detect(frames: DetectFrame[], opts: DetectOptions): Promise<FrameDetections[]>;
}

export interface BatcherOptions {
  /** Most frames per run; capped by the model's batch limit. Default: the model's maxBatch. */
  maxBatch?: number;
  /** Longest wait after the oldest queued frame before a partial batch runs. Default 5 ms. */
  maxWaitMs?: number;
  /** Pad dynamic-batch runs up to the next of these sizes (e.g. [1,2,4,8]); padding results are discarded. */
  padSizes?: number[];
  /** Per-stream queue cap. Default 4. */
  maxQueuePerStream?: number;
  overflow?: 'drop-oldest' | 'reject';
  /**
   * Batches handed to the runner at once. 1 (default): the next batch forms, and grows, while one
   * runs. 2: a full batch is handed over while the previous one still runs, so the runner starts it
   * without waiting for the main thread (throughput work such as `analyze`; its `run` time then
   * includes the wait behind the previous batch).
   */
  runsInFlight?: number;
}

/** The batching a Batcher applies (maxBatch capped by the model, padding only for dynamic-batch models). */
export interface BatchingSettings {
  maxBatch: number;
  maxWaitMs: number;
  padBatchSizes: number[];
  maxQueuePerStream: number;
}

export interface BatchItem {
  streamId: string;
  /** Transferred to the inference worker (see Detector): do not touch it after submit(). */
  rgb: Uint8Array;
  letterbox: Letterbox;
  conf: number;
  classes?: readonly number[];
  /** The source sends this one frame (an HTTP request): no batch waits for more from it. */
  oneShot?: boolean;
  /**
   * Index of a window of the stream's frame (motion regions). Queued apart from the stream's frames
   * (a frame's windows never push it, or each other, out of a bounded queue), served in the
   * stream's round-robin turns, not counted as a stream that partial batches wait for.
   */
  window?: number;
}

/** A stream that submitted within this window is expected to submit again: partial batches wait for it. */
export const ACTIVE_WINDOW_MS = 2000;

export interface BatchTiming {
  /** Epoch ms (sub-ms precision). */
  queuedTs: number;
  inferStartTs: number;
  inferEndTs: number;
  /** Real frames in the run this frame was part of. */
  batchSize: number;
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
}

export interface BatchResult {
  detections: FrameDetections['detections'];
  timing: BatchTiming;
}

export type BatcherDropReason = 'queue-full' | 'rejected' | 'closed';

export class BatcherDropError extends Error {
  constructor(readonly reason: BatcherDropReason, streamId: string) {
    super(
      reason === 'closed'
        ? `batcher closed; frame of stream '${streamId}' not inferred`
        : `stream '${streamId}' has too many frames waiting for inference (${reason})`,
    );
    this.name = 'BatcherDropError';
  }
}

export interface BatcherMetrics {
  batches: number;
  frames: number;
  meanBatchSize: number;
  /** Real frames in the most recent run (0 before the first). */
  lastBatchSize: number;
  /** Effective (real-frame) batch size -> number of runs. */
  batchSizeHistogram: Record<number, number>;
  paddedFrames: number;
  failedBatches: number;
  queueWaitMs: { mean: number; max: number };
  /** Frames waiting now, all streams. */
  queued: number;
  drops: Record<BatcherDropReason, number>;
}

interface Queued extends BatchItem {
  queuedTs: number;
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

export class Batcher {
  /** Per queue key: a stream's frames, or one window slot of its frames (queueKey()). */
  private readonly queues = new Map<string, Queued[]>();
  /** Last submit time of each recently active (not one-shot) stream. */
  private readonly active = new Map<string, number>();
  private queued = 0;
  private inFlight = 0;
  private readonly maxInFlight: number;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Immediate;
  private lastServed?: string;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly padSizes: number[];
  private readonly cap: number;
  private readonly overflow: 'drop-oldest' | 'reject';
  private readonly m = {
    batches: 0,
    frames: 0,
    hist: {} as Record<number, number>,
    last: 0,
    padded: 0,
    failed: 0,
    waitSum: 0,
    waitMax: 0,
    drops: { 'queue-full': 0, rejected: 0, closed: 0 } as Record<BatcherDropReason, number>,
  };

  constructor(private readonly runner: BatchRunner, opts: BatcherOptions = {}) {
    const modelMax = runner.info.maxBatch;
    this.maxBatch = Math.max(1, Math.min(opts.maxBatch ?? modelMax, modelMax));
    this.maxWaitMs = opts.maxWaitMs ?? 5;
    this.padSizes = runner.info.batch === 'dynamic' ? [...(opts.padSizes ?? [])].sort((a, b) => a - b) : [];
    this.cap = opts.maxQueuePerStream ?? 4;
    this.overflow = opts.overflow ?? 'drop-oldest';
    this.maxInFlight = Math.max(1, opts.runsInFlight ?? 1);
    if (this.cap < 1) throw new Error('batcher: maxQueuePerStream must be at least 1');
  }

  get settings(): BatchingSettings {
    return { maxBatch: this.maxBatch, maxWaitMs: this.maxWaitMs, padBatchSizes: [...this.padSizes], maxQueuePerStream: this.cap };
  }

  submit(item: BatchItem): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      if (this.closed) return reject(new BatcherDropError('closed', item.streamId));
      const key = queueKey(item);
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = []));
      if (q.length >= this.cap) {
        if (this.overflow === 'reject') {
          this.m.drops.rejected++;
          return reject(new BatcherDropError('rejected', item.streamId));
        }
        const oldest = q.shift()!;
        this.queued--;
        this.m.drops['queue-full']++;
        oldest.reject(new BatcherDropError('queue-full', item.streamId));
      }
      const queuedTs = nowMs();
      if (!item.oneShot && item.window === undefined) this.active.set(item.streamId, queuedTs);
      q.push({ ...item, queuedTs, resolve, reject });
      this.queued++;
      this.kick();
    });
  }

  metrics(): BatcherMetrics {
    const { m } = this;
    return {
      batches: m.batches,
      frames: m.frames,
      meanBatchSize: m.batches ? m.frames / m.batches : 0,
      lastBatchSize: m.last,
      batchSizeHistogram: { ...m.hist },
      paddedFrames: m.padded,
      failedBatches: m.failed,
      queueWaitMs: { mean: m.frames ? m.waitSum / m.frames : 0, max: m.waitMax },
      queued: this.queued,
      drops: { ...m.drops },
    };
  }

  /** Rejects every waiting frame; a run in progress completes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (this.soon) clearImmediate(this.soon);
    for (const q of this.queues.values()) {
      for (const it of q) {
        this.m.drops.closed++;
        it.reject(new BatcherDropError('closed', it.streamId));
      }
    }
    this.queues.clear();
    this.queued = 0;
  }

  private kick(): void {
    if (this.inFlight >= this.maxInFlight || this.closed || this.queued === 0) return;
    const now = nowMs();
    const deadline = this.oldestQueuedTs() + this.maxWaitMs;
    if (this.queued >= this.maxBatch || now >= deadline) return this.runNow();
    if (!this.expectingOthers(now)) {
      // Nobody else is expected; frames submitted in this same turn of the event loop still join.
      this.soon ??= setImmediate(() => {
        this.soon = undefined;
        if (this.inFlight < this.maxInFlight && !this.closed && this.queued > 0) this.runNow();
      });
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, deadline - now);
    }
  }

  private runNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.soon) clearImmediate(this.soon);
    this.soon = undefined;
    void this.run(this.take());
  }

  /** Whether a recently active stream has no frame waiting (so a partial batch may still grow). */
  private expectingOthers(now: number): boolean {
    let expecting = false;
    for (const [id, ts] of this.active) {
      if (now - ts > ACTIVE_WINDOW_MS) this.active.delete(id);
      else if (!this.queues.has(id)) expecting = true;
    }
    return expecting;
  }

  private oldestQueuedTs(): number {
    let t = Infinity;
    for (const q of this.queues.values()) if (q.length && q[0].queuedTs < t) t = q[0].queuedTs;
    return t;
  }

  /**
   * Round-robin over waiting streams, one item each per pass, starting after the last served; a
   * stream's frames before its windows.
   */
  private take(): Queued[] {
    const batch: Queued[] = [];
    while (batch.length < this.maxBatch && this.queued > 0) {
      const ids = this.waitingStreams();
      const start = this.lastServed === undefined ? 0 : ids.indexOf(this.lastServed) + 1;
      for (let k = 0; k < ids.length && batch.length < this.maxBatch; k++) {
        const id = ids[(start + k) % ids.length];
        const key = this.queues.has(id) ? id : [...this.queues.keys()].find((x) => this.queues.get(x)![0].streamId === id)!;
        const q = this.queues.get(key)!;
        batch.push(q.shift()!);
        this.queued--;
        this.lastServed = id;
        if (q.length === 0) this.queues.delete(key);
      }
    }
    return batch;
  }

  /** Streams with something waiting, in the order their queues were created. */
  private waitingStreams(): string[] {
    const ids = new Set<string>();
    for (const q of this.queues.values()) ids.add(q[0].streamId);
    return [...ids];
  }

  private async run(batch: Queued[]): Promise<void> {
    this.inFlight++;
    const n = batch.length;
    const padTo = this.padSizes.find((s) => s >= n);
    const inferStartTs = nowMs();
    try {
      const results = await this.runner.detect(
        batch.map((it) => ({ rgb: it.rgb, letterbox: it.letterbox, conf: it.conf, classes: it.classes })),
        { conf: batch[0].conf, padTo },
      );
      const inferEndTs = nowMs();
      const { m } = this;
      m.batches++;
      m.frames += n;
      m.hist[n] = (m.hist[n] ?? 0) + 1;
      m.last = n;
      if (padTo !== undefined) m.padded += padTo - n;
      batch.forEach((it, i) => {
        const r = results[i];
        const wait = inferStartTs - it.queuedTs;
        m.waitSum += wait;
        m.waitMax = Math.max(m.waitMax, wait);
        it.resolve({
          detections: r.detections,
          timing: {
            queuedTs: it.queuedTs,
            inferStartTs,
            inferEndTs,
            batchSize: n,
            preprocessMs: r.preprocessMs,
            inferenceMs: r.inferenceMs,
            postprocessMs: r.postprocessMs,
          },
        });
      });
    } catch (err) {
      this.m.failed++;
      for (const it of batch) it.reject(err as Error);
    } finally {
      this.inFlight--;
      this.kick();
    }
  }
}

function queueKey(item: BatchItem): string {
  return item.window === undefined ? item.streamId : `${item.streamId}\u0000window${item.window}`;
}
