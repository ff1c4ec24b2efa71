/**
 * Owns the running streams and the models they share; streams can be added and removed at any
 * time. Results of every stream leave through one hot `results$`, stamped with their send time
 * (the moment they are handed to subscribers), and state changes through `states$`.
 */
import { Subject, type Observable } from 'rxjs';
import type { FrameResult, StreamState, StreamStats } from '../types.js';
import type { ModelSettings, StreamSettings } from '../config.js';
import type { BatcherMetrics } from '../infer/batcher.js';
import { log as defaultLog, type Logger } from '../log.js';
import { ModelPool, type LoadedModel } from './modelPool.js';
import { StreamRunner } from './streamRunner.js';
import { nowMs } from './clock.js';

export interface StreamStateEvent {
  stream: string;
  state: StreamState;
  reconnects: number;
  error?: string;
}

/** A model's batcher metrics as the API reports them (means rounded). */
export type BatchingStats = BatcherMetrics;

export interface ModelInfo {
  path: string;
  inputWidth: number;
  inputHeight: number;
  classes: string[];
  format: string;
  task: string;
  activeProvider: string;
  maxBatch: number;
  maxWaitMs: number;
  padBatchSizes: number[];
  streams: string[];
  batching: BatchingStats;
}

/** Per-model part of the WebSocket `stats` message. */
export interface ModelStats {
  path: string;
  activeProvider: string;
  batching: BatchingStats;
}

/** The pool user that holds models used by POST /api/detect (until shutdown). */
const API_USER = '@api';

function batchingStats(m: LoadedModel): BatchingStats {
  const b = m.batcher.metrics();
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return { ...b, meanBatchSize: r2(b.meanBatchSize), queueWaitMs: { mean: r2(b.queueWaitMs.mean), max: r2(b.queueWaitMs.max) } };
}

export interface StreamHubOptions {
  modelSettings(path: string): ModelSettings;
  log?: Logger;
}

export class DuplicateStreamError extends Error {
  constructor(id: string) {
    super(`stream "${id}" already exists`);
    this.name = 'DuplicateStreamError';
  }
}

export class StreamHub {
  private readonly runners = new Map<string, StreamRunner>();
  private readonly latest = new Map<string, FrameResult>();
  private readonly models: ModelPool;
  private readonly log: Logger;
  private readonly results = new Subject<FrameResult>();
  private readonly states = new Subject<StreamStateEvent>();
  private closed = false;

  readonly results$: Observable<FrameResult> = this.results.asObservable();
  readonly states$: Observable<StreamStateEvent> = this.states.asObservable();

  constructor(options: StreamHubOptions) {
    this.log = options.log ?? defaultLog;
    this.models = new ModelPool(options.modelSettings, this.log);
  }

  has(id: string): boolean {
    return this.runners.has(id);
  }

  ids(): string[] {
    return [...this.runners.keys()];
  }

  settings(id: string): StreamSettings | undefined {
    return this.runners.get(id)?.settings;
  }

  stats(id: string): StreamStats | undefined {
    return this.runners.get(id)?.stats();
  }

  list(): StreamStats[] {
    const now = nowMs();
    return [...this.runners.values()].map((r) => r.stats(now));
  }

  /** The newest result of a stream (with its JPEG when the stream produces video). */
  latestResult(id: string): FrameResult | undefined {
    return this.latest.get(id);
  }

  /** Client backpressure drops, counted per stream (clients count their own too). */
  countClientDrops(id: string, n: number): void {
    this.runners.get(id)?.counters.dropped('client', n);
  }

  /**
   * Starts a stream. Resolves once its model is loaded and frames are being pulled; a model that
   * cannot be loaded leaves the stream in state `failed` with the reason in `lastError`.
   */
  async add(settings: StreamSettings): Promise<StreamStats> {
    if (this.closed) throw new Error('server is shutting down');
    if (this.runners.has(settings.id)) throw new DuplicateStreamError(settings.id);
    const runner = new StreamRunner(settings, {
      log: this.log,
      onResult: (result) => this.publish(runner, result),
    });
    this.runners.set(settings.id, runner);
    runner.state$.subscribe((state) =>
      this.states.next({ stream: settings.id, state, reconnects: runner.reconnects, ...(runner.lastError ? { error: runner.lastError } : {}) }),
    );
    let model: LoadedModel;
    try {
      model = await this.models.acquire(settings.model, settings.id);
    } catch (err) {
      runner.fail(new Error(`model ${settings.model}: ${err instanceof Error ? err.message : String(err)}`));
      return runner.stats();
    }
    if (this.runners.get(settings.id) === runner) runner.start(model);
    return runner.stats();
  }

  /** Stops a stream (its ffmpeg has exited when this resolves). False when there is no such stream. */
  async remove(id: string): Promise<boolean> {
    const runner = this.runners.get(id);
    if (!runner) return false;
    this.runners.delete(id);
    this.latest.delete(id);
    await runner.stop();
    await this.models.release(runner.settings.model, id);
    return true;
  }

  /** Model paths the streams use (loaded or not). */
  streamModels(): string[] {
    return [...new Set([...this.runners.values()].map((r) => r.settings.model))];
  }

  /**
   * A model for POST /api/detect: the same Detector and Batcher the streams of that model use
   * (loaded on first use and then kept until shutdown). Rejects when it cannot be loaded.
   */
  apiModel(path: string): Promise<LoadedModel> {
    if (this.closed) return Promise.reject(new Error('server is shutting down'));
    return this.models.acquire(path, API_USER);
  }

  /** Provider and batcher metrics of the loaded models among `paths`, without waiting. */
  modelStats(paths: Iterable<string>): ModelStats[] {
    return [...new Set(paths)].flatMap((path) => {
      const m = this.models.get(path);
      return m ? [{ path, activeProvider: m.detector.activeProvider, batching: batchingStats(m) }] : [];
    });
  }

  async modelInfo(): Promise<ModelInfo[]> {
    const users = new Map<string, string[]>();
    for (const r of this.runners.values()) users.set(r.settings.model, [...(users.get(r.settings.model) ?? []), r.id]);
    return (await this.models.loaded()).map((m) => ({
      path: m.settings.path,
      inputWidth: m.detector.info.inputWidth,
      inputHeight: m.detector.info.inputHeight,
      classes: Array.from({ length: m.detector.info.nc }, (_, i) => m.detector.info.names[i] ?? String(i)),
      format: m.detector.info.format,
      task: m.detector.info.task,
      activeProvider: m.detector.activeProvider,
      maxBatch: Math.min(m.settings.maxBatch, m.detector.info.maxBatch),
      maxWaitMs: m.settings.maxWaitMs,
      padBatchSizes: m.settings.padBatchSizes,
      streams: users.get(m.settings.path) ?? [],
      batching: batchingStats(m),
    }));
  }

  /** Stops every stream and closes the models. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.ids().map((id) => this.remove(id)));
    await this.models.close();
    this.results.complete();
    this.states.complete();
  }

  private publish(runner: StreamRunner, result: FrameResult): void {
    if (this.runners.get(runner.id) !== runner) return;
    const sendTs = nowMs();
    const stamped: FrameResult = { ...result, timing: { ...result.timing, sendTs } };
    runner.counters.sent(result.timing.captureTs, sendTs);
    if (stamped.jpeg || !runner.settings.video) this.latest.set(runner.id, stamped);
    this.results.next(stamped);
  }
}
