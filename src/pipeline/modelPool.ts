/**
 * One Detector + Batcher per distinct model file, shared by every stream that uses it, so frames
 * from several cameras batch together. Loaded on first use, closed when the last stream leaves.
 */
import { Detector } from '../infer/detector.js';
import { Batcher } from '../infer/batcher.js';
import type { ModelSettings } from '../config.js';
import type { Logger } from '../log.js';

export interface LoadedModel {
  settings: ModelSettings;
  detector: Detector;
  batcher: Batcher;
}

interface Entry {
  loading: Promise<LoadedModel>;
  /** Set once loading succeeded (synchronous access for stats). */
  model?: LoadedModel;
  users: Set<string>;
}

export class ModelPool {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly settingsFor: (path: string) => ModelSettings,
    private readonly log: Logger,
  ) {}

  /** The model for `path`, loading it if needed; `user` (a stream id) holds it until release. */
  acquire(path: string, user: string): Promise<LoadedModel> {
    let entry = this.entries.get(path);
    if (!entry) {
      const loading = this.load(path);
      entry = { loading, users: new Set() };
      const created = entry;
      this.entries.set(path, entry);
      loading.then((m) => (created.model = m), () => undefined);
      // A model that fails to load is forgotten, so a later stream retries it.
      loading.catch(() => {
        if (this.entries.get(path) === created) this.entries.delete(path);
      });
    }
    entry.users.add(user);
    return entry.loading;
  }

  async release(path: string, user: string): Promise<void> {
    const entry = this.entries.get(path);
    if (!entry || !entry.users.delete(user) || entry.users.size > 0) return;
    this.entries.delete(path);
    await closeModel(entry.loading);
  }

  /** The model for `path` if it has finished loading, without waiting. */
  get(path: string): LoadedModel | undefined {
    return this.entries.get(path)?.model;
  }

  /** Whether `path` is loaded or loading. */
  has(path: string): boolean {
    return this.entries.has(path);
  }

  /** Models that finished loading. */
  async loaded(): Promise<LoadedModel[]> {
    const settled = await Promise.allSettled([...this.entries.values()].map((e) => e.loading));
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  async close(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((e) => closeModel(e.loading)));
  }

  private async load(path: string): Promise<LoadedModel> {
    const settings = this.settingsFor(path);
    const detector = await Detector.open({
      modelPath: path,
      providers: settings.providers,
      intraOpThreads: settings.intraOpThreads || undefined,
      allowSpinning: settings.allowSpinning,
      graphOptimizationLevel: settings.graphOptimizationLevel,
      format: settings.format,
      maxBatch: settings.maxBatch,
      onWarning: (message) => this.log.warn({ model: path }, message),
    });
    const batcher = new Batcher(detector, { maxBatch: settings.maxBatch, maxWaitMs: settings.maxWaitMs, padSizes: settings.padBatchSizes });
    return { settings, detector, batcher };
  }
}

async function closeModel(loading: Promise<LoadedModel>): Promise<void> {
  const model = await loading.catch(() => undefined);
  if (!model) return;
  model.batcher.close();
  await model.detector.close();
}
