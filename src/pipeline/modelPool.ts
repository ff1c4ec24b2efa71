/**
 * One model backend per distinct model file, shared by every stream that uses it, so frames from
 * several cameras batch together. Opened on first use through a backend factory, closed when the
 * last user leaves.
 */
import { openModelBackend, type ModelBackend } from '../infer/backend.js';
import type { ModelSettings } from '../config.js';
import type { Logger } from '../log.js';

/** Opens the backend of a model from its settings (the ONNX Runtime one in production, a fake in tests). */
export type ModelBackendFactory = (settings: ModelSettings, log: Logger) => Promise<ModelBackend>;

/** Worker thread + session + batcher, from a model's settings. */
export const onnxBackends: ModelBackendFactory = (settings, log) =>
  openModelBackend(
    { ...settings, onWarning: (message) => log.warn({ model: settings.path }, message) },
    { maxBatch: settings.maxBatch, maxWaitMs: settings.maxWaitMs, padSizes: settings.padBatchSizes, maxQueuePerStream: settings.maxQueuePerStream },
  );

export interface LoadedModel {
  settings: ModelSettings;
  backend: ModelBackend;
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
    private readonly open: ModelBackendFactory = onnxBackends,
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
    return { settings, backend: await this.open(settings, this.log) };
  }
}

async function closeModel(loading: Promise<LoadedModel>): Promise<void> {
  const model = await loading.catch(() => undefined);
  await model?.backend.close();
}
