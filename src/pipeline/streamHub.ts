/**
 * The local hub: owns the running streams and the models they share; streams can be added, changed
 * and removed at any time. Results of every stream leave through one hot `results$` (stamped with
 * their send time by their runner), state changes through `states$`. Sources and model backends
 * come from factories (ffmpeg and ONNX Runtime by default), so the hub runs with fakes in tests.
 */
import { Subject, type Observable } from 'rxjs';
import type { FrameResult, StreamStats } from '../types.js';
import { modelSettings, type ModelSettings, type ServeConfig, type StreamSettings } from '../config.js';
import { ffmpegSources } from '../ingest/ffmpegSource.js';
import type { SourceFactory } from '../ingest/source.js';
import { ffmpegChoice } from '../ingest/binaries.js';
import { liveFfmpegChildren } from '../ingest/ffmpeg.js';
import type { ModelBackend } from '../infer/backend.js';
import { log as defaultLog, type Logger } from '../log.js';
import { nowMs } from '../clock.js';
import { DuplicateStreamError, UnknownStreamError, type DecoderInfo, type ModelInfo, type ModelStats, type StreamHubApi, type StreamStateEvent } from './hub.js';
import { ModelPool, onnxBackends, type LoadedModel, type ModelBackendFactory } from './modelPool.js';
import { StreamRunner } from './streamRunner.js';

/** The pool user that holds models used by POST /api/detect (until shutdown). */
const DETECT_USER = '@api';

export interface StreamHubOptions {
  modelSettings(path: string): ModelSettings;
  log?: Logger;
  sources?: SourceFactory;
  backends?: ModelBackendFactory;
}

export class StreamHub implements StreamHubApi {
  private readonly runners = new Map<string, StreamRunner>();
  /** The name each runner holds its model under in the pool. */
  private readonly modelUsers = new Map<StreamRunner, string>();
  private added = 0;
  private readonly models: ModelPool;
  private readonly log: Logger;
  private readonly sources: SourceFactory;
  private readonly results = new Subject<FrameResult>();
  private readonly states = new Subject<StreamStateEvent>();
  private closed = false;

  readonly results$: Observable<FrameResult> = this.results.asObservable();
  readonly states$: Observable<StreamStateEvent> = this.states.asObservable();

  /** A hub for a serve config: its model settings, ffmpeg sources, ONNX Runtime backends. */
  static forConfig(config: Pick<ServeConfig, 'models'>, log?: Logger): StreamHub {
    return new StreamHub({ modelSettings: (path) => modelSettings(config, path), log });
  }

  constructor(options: StreamHubOptions) {
    this.log = options.log ?? defaultLog;
    this.sources = options.sources ?? ffmpegSources;
    this.models = new ModelPool(options.modelSettings, this.log, options.backends ?? onnxBackends);
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

  async add(settings: StreamSettings): Promise<StreamStats> {
    if (this.closed) throw new Error('server is shutting down');
    if (this.runners.has(settings.id)) throw new DuplicateStreamError(settings.id);
    // Each runner holds its model under its own name: a stream added under an id whose previous
    // stream is still stopping must not be released along with it.
    const user = `${settings.id}#${++this.added}`;
    const runner = new StreamRunner(settings, {
      log: this.log,
      sources: this.sources,
      onResult: (result) => {
        if (this.runners.get(runner.id) === runner) this.results.next(result);
      },
    });
    this.runners.set(settings.id, runner);
    runner.state$.subscribe((state) =>
      this.states.next({ stream: settings.id, state, reconnects: runner.reconnects, ...(runner.lastError ? { error: runner.lastError } : {}) }),
    );
    let model: LoadedModel;
    try {
      this.modelUsers.set(runner, user);
      model = await this.models.acquire(settings.model, user);
    } catch (err) {
      runner.fail(new Error(`model ${settings.model}: ${err instanceof Error ? err.message : String(err)}`));
      return runner.stats();
    }
    if (this.runners.get(settings.id) === runner) runner.start(model.backend);
    return runner.stats();
  }

  async remove(id: string): Promise<boolean> {
    const runner = this.runners.get(id);
    if (!runner) return false;
    this.runners.delete(id);
    await runner.stop();
    const user = this.modelUsers.get(runner);
    this.modelUsers.delete(runner);
    if (user !== undefined) await this.models.release(runner.settings.model, user);
    return true;
  }

  async update(id: string, settings: StreamSettings): Promise<StreamStats> {
    const runner = this.runners.get(id);
    if (!runner) throw new UnknownStreamError(id);
    if (settings.id !== id) throw new Error(`stream "${id}": the id cannot change (got "${settings.id}")`);
    if (runner.reconfigure(settings)) return runner.stats();
    // The source or the model changed: a new runner (a new source) under the same id.
    await this.remove(id);
    return this.add(settings);
  }

  childProcesses(): number {
    return liveFfmpegChildren();
  }

  async resetAnalytics(id: string): Promise<boolean> {
    const runner = this.runners.get(id);
    if (!runner) throw new UnknownStreamError(id);
    return runner.resetAnalytics();
  }

  decoder(): DecoderInfo {
    const c = ffmpegChoice();
    return { version: c.version, origin: c.origin, path: c.ffmpeg };
  }

  detectBackend(path: string): Promise<ModelBackend> {
    if (this.closed) return Promise.reject(new Error('server is shutting down'));
    return this.models.acquire(path, DETECT_USER).then((m) => m.backend);
  }

  modelStats(paths: Iterable<string>): ModelStats[] {
    return [...new Set(paths)].flatMap((path) => {
      const m = this.models.get(path);
      return m ? [{ path, activeProvider: m.backend.activeProvider, batching: m.backend.metrics() }] : [];
    });
  }

  async modelInfo(): Promise<ModelInfo[]> {
    const users = new Map<string, string[]>();
    for (const r of this.runners.values()) users.set(r.settings.model, [...(users.get(r.settings.model) ?? []), r.id]);
    return (await this.models.loaded()).map(({ settings, backend }) => ({
      path: settings.path,
      inputWidth: backend.info.inputWidth,
      inputHeight: backend.info.inputHeight,
      classes: Array.from({ length: backend.info.nc }, (_, i) => backend.info.names[i] ?? String(i)),
      format: backend.info.format,
      task: backend.info.task,
      activeProvider: backend.activeProvider,
      ...backend.batching,
      streams: users.get(settings.path) ?? [],
      batching: backend.metrics(),
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.ids().map((id) => this.remove(id)));
    await this.models.close();
    this.results.complete();
    this.states.complete();
  }
}
