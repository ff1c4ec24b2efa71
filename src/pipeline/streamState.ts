/**
 * Streams added, changed or removed over the API, kept across restarts. The kept state is the
 * difference to the config file: the streams added or changed (their whole settings, in the config
 * file's shape) and the ids of the config's streams that were removed. At start it is applied over
 * the config's streams, so a stream added over the API comes back, a removed one stays away, and
 * streams nobody touched follow the config file as it is now.
 *
 * `StreamStateStore` is the seam: the local server keeps the state in a JSON file next to its
 * config (`StreamStateFile`); a cluster keeps its desired state elsewhere (Redis) and passes none.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, formatDropPolicy, parseStream, type StreamContext, type StreamSettings } from '../config.js';
import type { Logger } from '../log.js';

export interface StreamStateStore {
  /** Where the state is kept (for logs and GET /api/info). */
  readonly location: string;
  /**
   * The streams to start: `configured` (the config file's) with the kept changes applied, in the
   * config's order, then the streams added over the API in the order they were added.
   */
  restore(configured: readonly StreamSettings[]): Promise<StreamSettings[]>;
  /** A stream was added, or its settings changed, over the API: kept as it is now. */
  put(settings: StreamSettings): Promise<void>;
  /** A stream was removed over the API. */
  delete(id: string): Promise<void>;
}

/** A stream as the state file keeps it: the config file's shape (what POST /api/streams takes). */
export type KeptStream = Omit<StreamSettings, 'dropPolicy'> & { dropPolicy: string };

interface StateDocument {
  about: string;
  /** Streams added or changed over the API. */
  streams: KeptStream[];
  /** Ids of config file streams removed over the API. */
  removed: string[];
}

const ABOUT = 'streamlens serve: streams added, changed or removed over the API, applied over the config file at start (docs/configuration.md). Delete this file to go back to the config file alone.';

export function keptStream(s: StreamSettings): KeptStream {
  return { ...structuredClone(s), dropPolicy: formatDropPolicy(s.dropPolicy) };
}

export interface StreamStateFileOptions {
  /** How kept streams are validated when restored (the config's media folders, models, tracker defaults). */
  context: StreamContext;
  log: Logger;
}

/**
 * The state in one JSON file, written whole (temporary file + rename, so a crash leaves the old or
 * the new state, never half of one), readable only by its owner (stream URLs may hold passwords).
 * Writes are serialised in call order.
 */
export class StreamStateFile implements StreamStateStore {
  private added = new Map<string, KeptStream>();
  private removed = new Set<string>();
  private configuredIds = new Set<string>();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly location: string,
    private readonly options: StreamStateFileOptions,
  ) {}

  async restore(configured: readonly StreamSettings[]): Promise<StreamSettings[]> {
    this.configuredIds = new Set(configured.map((s) => s.id));
    const doc = await this.read();
    this.added = new Map(doc.streams.map((s) => [s.id, s]));
    this.removed = new Set(doc.removed.filter((id) => this.configuredIds.has(id)));
    const out: StreamSettings[] = [];
    const restored = (kept: KeptStream): StreamSettings | undefined => {
      try {
        return parseStream(kept, this.options.context, `kept stream "${kept.id}"`);
      } catch (err) {
        // Kept in the file: it comes back once the config allows it again (e.g. its media folder).
        const why = err instanceof ConfigError ? err.message : String(err);
        this.options.log.error({ stream: kept.id, file: this.location, error: why }, 'a stream kept from the API cannot be restored');
        return undefined;
      }
    };
    for (const s of configured) {
      if (this.removed.has(s.id)) continue;
      const kept = this.added.get(s.id);
      // A change that no longer validates leaves the stream as the config file has it.
      out.push((kept && restored(kept)) || s);
    }
    for (const kept of this.added.values()) {
      if (this.configuredIds.has(kept.id)) continue;
      const settings = restored(kept);
      if (settings) out.push(settings);
    }
    if (this.added.size || this.removed.size) {
      this.options.log.info(
        { file: this.location, addedOrChanged: [...this.added.keys()], removed: [...this.removed] },
        'streams changed over the API restored',
      );
    }
    return out;
  }

  put(settings: StreamSettings): Promise<void> {
    // Re-inserted, so an added stream's place is the order of its last change.
    this.added.delete(settings.id);
    this.added.set(settings.id, keptStream(settings));
    this.removed.delete(settings.id);
    return this.write();
  }

  delete(id: string): Promise<void> {
    this.added.delete(id);
    if (this.configuredIds.has(id)) this.removed.add(id);
    return this.write();
  }

  private async read(): Promise<StateDocument> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      // Nothing kept yet (the file, or its folder, does not exist): writing will say if it cannot be.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { about: ABOUT, streams: [], removed: [] };
      throw err;
    }
    const doc = parseDocument(text);
    if (typeof doc === 'string') {
      // Not overwritten by the next change: moved aside for whoever wants to repair it.
      const aside = `${this.location}.unreadable-${Date.now()}`;
      await rename(this.location, aside);
      this.options.log.error({ file: this.location, movedTo: aside, error: doc }, 'the stream state file is unreadable: starting from the config file alone');
      return { about: ABOUT, streams: [], removed: [] };
    }
    return doc;
  }

  private write(): Promise<void> {
    const doc: StateDocument = { about: ABOUT, streams: [...this.added.values()], removed: [...this.removed] };
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    const next = this.writing.catch(() => undefined).then(() => writeAtomically(this.location, text));
    this.writing = next;
    return next;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The document, or what is wrong with it. Entries are validated as streams when restored. */
export function parseDocument(text: string): StateDocument | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `invalid JSON: ${(err as Error).message}`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected a JSON object';
  const o = v as Record<string, unknown>;
  const streams = o.streams ?? [];
  const removed = o.removed ?? [];
  if (!Array.isArray(streams) || !streams.every((s) => typeof s === 'object' && s !== null && typeof (s as { id?: unknown }).id === 'string')) {
    return 'streams: expected an array of streams with an id';
  }
  if (!Array.isArray(removed) || !removed.every((id) => typeof id === 'string')) return 'removed: expected an array of stream ids';
  return { about: ABOUT, streams: streams as KeptStream[], removed: removed as string[] };
}
