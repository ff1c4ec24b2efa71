/**
 * The `streamlens serve` configuration: one schema, validated at the boundary. Every error names
 * the field path (`streams[1].dropPolicy: expected ...`) so a bad file or API request says exactly
 * what to fix. Defaults live here and nowhere else.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { DEFAULT_TRACKER_CONFIG } from './track/byteTracker.js';
import { MODEL_FORMATS, type ModelFormat } from './infer/adapters/types.js';
import type { ExecutionProvider, GraphOptimizationLevel } from './infer/detector.js';
import type { DropPolicy, StreamConfig, TrackerConfig } from './types.js';

export interface ServerSettings {
  host: string;
  port: number;
  /** Bearer token for the HTTP API and WebSocket; undefined = no auth. */
  authToken?: string;
  /** Absolute folders local file sources must live under. */
  mediaFolders: string[];
  /** Largest WebSocket message a client may send, bytes. */
  maxPayloadBytes: number;
  /** Largest HTTP request body, bytes. */
  maxBodyBytes: number;
  /** Largest image posted to /api/detect, bytes. */
  maxUploadBytes: number;
  /** Time allowed for a whole HTTP request (headers and body), ms. */
  requestTimeoutMs: number;
  /** Per-client bound on the server-side send buffer (ws bufferedAmount), bytes. */
  clientBufferBytes: number;
  /** A client that cannot take messages for this long is closed with 4008, ms. */
  stuckClientTimeoutMs: number;
  /** Period of `stats` messages to WebSocket clients, ms. */
  statsIntervalMs: number;
  maxClients: number;
  /** Serve GET /metrics without the bearer token (for a scraper on a trusted network). */
  metricsPublic: boolean;
  /** Log level; STREAMLENS_LOG_LEVEL overrides it. */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export type { ExecutionProvider, GraphOptimizationLevel };

const PROVIDERS: readonly ExecutionProvider[] = ['tensorrt', 'cuda', 'cpu'];

export interface ModelSettings {
  /** Absolute path of the model file. */
  path: string;
  /** Execution providers in order of preference, e.g. ["cuda", "cpu"]. */
  providers: ExecutionProvider[];
  /** Output format; detected from the model when omitted. */
  format?: ModelFormat;
  /** 0 = onnxruntime's default. */
  intraOpThreads: number;
  /** Idle session threads busy-wait (ONNX Runtime's default, true) or sleep (false). */
  allowSpinning: boolean;
  graphOptimizationLevel: GraphOptimizationLevel;
  /** Frames per inference call across all streams sharing the model. */
  maxBatch: number;
  /** How long the batcher waits to fill a batch, ms. */
  maxWaitMs: number;
  /** Pad dynamic batches up to the next of these sizes (fixed shapes for shape-specialised engines); [] = no padding. */
  padBatchSizes: number[];
}

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of the delay randomised, 0..1 (full jitter at 1). */
  jitter: number;
}

/** A stream as the server runs it: the shared StreamConfig plus live-source settings. */
export interface StreamSettings extends StreamConfig {
  rtspTransport: 'tcp' | 'udp';
  reconnect: BackoffSettings;
  /** Time allowed to probe the source before a connection attempt counts as failed, ms. */
  probeTimeoutMs: number;
  jpegQuality: number;
  /** JPEGs wider than this are scaled down; 0 = source width. */
  jpegMaxWidth: number;
}

export interface ServeConfig {
  server: ServerSettings;
  /** Keyed by absolute model path. */
  models: Record<string, ModelSettings>;
  streams: StreamSettings[];
  /** Tracker defaults for streams that do not set their own. */
  tracker: TrackerConfig;
  /** Where relative paths in streams added later (over the API) resolve from. */
  baseDir: string;
}

export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Tracker defaults come from the tracker itself (enabled, ByteTrack's published thresholds). */
export const DEFAULT_TRACKER: TrackerConfig = { ...DEFAULT_TRACKER_CONFIG };

export const DEFAULT_SERVER = {
  host: '127.0.0.1',
  port: 8080,
  mediaFolders: ['media'],
  maxPayloadBytes: 64 * 1024,
  maxBodyBytes: 64 * 1024,
  maxUploadBytes: 20 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  clientBufferBytes: 4 * 1024 * 1024,
  stuckClientTimeoutMs: 10_000,
  statsIntervalMs: 1000,
  maxClients: 256,
  metricsPublic: false,
  logLevel: 'info',
} as const;

/** GPU providers first: a host without them falls back to the CPU with one warning line per provider. */
export const DEFAULT_MODEL = {
  providers: ['tensorrt', 'cuda', 'cpu'] as ExecutionProvider[],
  intraOpThreads: 0,
  allowSpinning: true,
  graphOptimizationLevel: 'all' as GraphOptimizationLevel,
  maxBatch: 4,
  maxWaitMs: 5,
  padBatchSizes: [] as number[],
};

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.3 };

export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const LIVE_SCHEMES = ['rtsp:', 'rtsps:', 'http:', 'https:'];

// ---- tiny validator: each reader records an issue and returns undefined on a bad value ----

type Obj = Record<string, unknown>;

class Reader {
  readonly issues: ConfigIssue[] = [];

  fail(path: string, expected: string, got: unknown): undefined {
    this.issues.push({ path, message: `expected ${expected}, got ${describe(got)}` });
    return undefined;
  }

  object(v: unknown, path: string, known: readonly string[]): Obj | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.fail(path, 'an object', v);
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) this.issues.push({ path: join(path, k), message: `unknown field (known: ${known.join(', ')})` });
    }
    return v as Obj;
  }

  number(o: Obj, key: string, path: string, def: number, opts: { min?: number; max?: number; int?: boolean } = {}): number {
    const v = o[key];
    if (v === undefined) return def;
    const p = join(path, key);
    const { min = -Infinity, max = Infinity, int = false } = opts;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
      const range = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `<= ${max}` : ''].filter(Boolean).join(' and ');
      this.fail(p, `${int ? 'an integer' : 'a number'}${range ? ' ' + range : ''}`, v);
      return def;
    }
    return v;
  }

  boolean(o: Obj, key: string, path: string, def: boolean): boolean {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') {
      this.fail(join(path, key), 'true or false', v);
      return def;
    }
    return v;
  }

  string(o: Obj, key: string, path: string, def?: string): string | undefined {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'string' || v.length === 0) return this.fail(join(path, key), 'a non-empty string', v);
    return v;
  }

  oneOf<T extends string>(o: Obj, key: string, path: string, allowed: readonly T[], def: T): T {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(join(path, key), choices(allowed), v);
      return def;
    }
    return v as T;
  }

  /** Increasing positive integers in [1, max], e.g. batch sizes. */
  sizes(o: Obj, key: string, path: string, max: number): number[] {
    const v = o[key];
    if (v === undefined) return [];
    const ok = Array.isArray(v) && v.every((n, i) => Number.isInteger(n) && n >= 1 && n <= max && (i === 0 || n > (v[i - 1] as number)));
    if (!ok) {
      this.fail(join(path, key), `increasing integers from 1 to ${max}`, v);
      return [];
    }
    return v as number[];
  }

  stringArray(o: Obj, key: string, path: string, def: string[]): string[] {
    const v = o[key];
    if (v === undefined) return def;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s.length > 0)) {
      this.fail(join(path, key), 'an array of non-empty strings', v);
      return def;
    }
    return v as string[];
  }
}

/** `"a", "b" or "c"` */
function choices(list: readonly string[]): string {
  return list.map((a) => `"${a}"`).join(', ').replace(/, ([^,]*)$/, ' or $1');
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

// ---- pieces ----

export function parseDropPolicy(v: unknown): DropPolicy | undefined {
  if (v === 'latest') return { kind: 'latest' };
  if (v === 'all') return { kind: 'all' };
  if (typeof v === 'string') {
    const m = /^queue:(\d{1,6})$/.exec(v);
    if (m && Number(m[1]) >= 1) return { kind: 'queue', size: Number(m[1]) };
  }
  return undefined;
}

export function formatDropPolicy(p: DropPolicy): string {
  return p.kind === 'queue' ? `queue:${p.size}` : p.kind;
}

function isInside(folder: string, file: string): boolean {
  const rel = relative(folder, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * Checks a source URL: rtsp, rtsps, http and https URLs, or a local file path that (after
 * resolving symlinks and `..`) lies inside one of `mediaFolders`. Returns the URL to hand to ffmpeg
 * (absolute for files) or an error message.
 */
export function checkSourceUrl(url: string, baseDir: string, mediaFolders: string[]): { url: string; isFile: boolean } | { error: string } {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  // One-letter "schemes" are Windows drive letters, i.e. paths.
  if (scheme && scheme.length > 1) {
    if (!LIVE_SCHEMES.includes(scheme + ':')) {
      return { error: `expected an rtsp://, rtsps://, http:// or https:// URL or a file under a media folder, got scheme "${scheme}:"` };
    }
    try {
      const u = new URL(url);
      if (!u.hostname) return { error: `expected a host in ${describe(url)}` };
    } catch {
      return { error: `expected a valid URL, got ${describe(url)}` };
    }
    return { url, isFile: false };
  }
  if (url.includes('|') || url.includes('\0')) return { error: `expected a plain file path, got ${describe(url)}` };
  const file = realpathOrSelf(resolve(baseDir, url));
  const folders = mediaFolders.map(realpathOrSelf);
  if (!folders.some((f) => isInside(f, file))) {
    return { error: `file ${describe(file)} is not inside a media folder (server.mediaFolders: ${folders.join(', ') || 'none'})` };
  }
  return { url: file, isFile: true };
}

function parseTracker(r: Reader, v: unknown, path: string, base: TrackerConfig): TrackerConfig {
  if (v === undefined) return { ...base };
  if (typeof v === 'boolean') return { ...base, enabled: v };
  const o = r.object(v, path, Object.keys(DEFAULT_TRACKER));
  if (!o) return { ...base };
  return {
    // Writing a tracker section at all means "track" unless it says otherwise.
    enabled: r.boolean(o, 'enabled', path, true),
    trackThresh: r.number(o, 'trackThresh', path, base.trackThresh, { min: 0, max: 1 }),
    lowThresh: r.number(o, 'lowThresh', path, base.lowThresh, { min: 0, max: 1 }),
    newTrackThresh: r.number(o, 'newTrackThresh', path, base.newTrackThresh, { min: 0, max: 1 }),
    matchThresh: r.number(o, 'matchThresh', path, base.matchThresh, { min: 0, max: 1 }),
    lostTrackSeconds: r.number(o, 'lostTrackSeconds', path, base.lostTrackSeconds, { min: 0, max: 3600 }),
    keepTracksOnReconnect: r.boolean(o, 'keepTracksOnReconnect', path, base.keepTracksOnReconnect),
  };
}

function parseBackoff(r: Reader, v: unknown, path: string): BackoffSettings {
  if (v === undefined) return { ...DEFAULT_BACKOFF };
  const o = r.object(v, path, Object.keys(DEFAULT_BACKOFF));
  if (!o) return { ...DEFAULT_BACKOFF };
  const b: BackoffSettings = {
    initialMs: r.number(o, 'initialMs', path, DEFAULT_BACKOFF.initialMs, { min: 10, max: 600_000 }),
    maxMs: r.number(o, 'maxMs', path, DEFAULT_BACKOFF.maxMs, { min: 10, max: 3_600_000 }),
    factor: r.number(o, 'factor', path, DEFAULT_BACKOFF.factor, { min: 1, max: 10 }),
    jitter: r.number(o, 'jitter', path, DEFAULT_BACKOFF.jitter, { min: 0, max: 1 }),
  };
  if (b.maxMs < b.initialMs) r.issues.push({ path: join(path, 'maxMs'), message: `expected >= initialMs (${b.initialMs}), got ${b.maxMs}` });
  return b;
}

const STREAM_FIELDS = [
  'id', 'url', 'model', 'conf', 'classes', 'fps', 'dropPolicy', 'maxStalenessMs', 'loop', 'realtime', 'video',
  'stallTimeoutSeconds', 'tracker', 'rtspTransport', 'reconnect', 'probeTimeoutMs', 'jpegQuality', 'jpegMaxWidth',
] as const;

export interface StreamContext {
  baseDir: string;
  mediaFolders: string[];
  /** Absolute paths of the configured models; a stream may omit `model` when there is exactly one. */
  modelPaths: string[];
  tracker: TrackerConfig;
}

function readStream(r: Reader, v: unknown, path: string, ctx: StreamContext): StreamSettings | undefined {
  const o = r.object(v, path, STREAM_FIELDS);
  if (!o) return undefined;
  const id = r.string(o, 'id', path);
  if (id === undefined && o.id === undefined) r.issues.push({ path: join(path, 'id'), message: 'required' });
  else if (id !== undefined && !STREAM_ID_PATTERN.test(id)) r.fail(join(path, 'id'), '1-64 characters from A-Z a-z 0-9 _ . - (starting with a letter or digit)', id);

  let url: string | undefined;
  let isFile = false;
  const rawUrl = r.string(o, 'url', path);
  if (rawUrl === undefined && o.url === undefined) r.issues.push({ path: join(path, 'url'), message: 'required' });
  if (rawUrl !== undefined) {
    const checked = checkSourceUrl(rawUrl, ctx.baseDir, ctx.mediaFolders);
    if ('error' in checked) r.issues.push({ path: join(path, 'url'), message: checked.error });
    else ({ url, isFile } = checked);
  }

  let model = r.string(o, 'model', path);
  if (model !== undefined) model = resolve(ctx.baseDir, model);
  else if (o.model === undefined) {
    if (ctx.modelPaths.length === 1) model = ctx.modelPaths[0];
    else r.issues.push({ path: join(path, 'model'), message: `required (the config lists ${ctx.modelPaths.length} models)` });
  }

  const classesRaw = o.classes;
  let classes: number[] = [];
  if (classesRaw !== undefined) {
    if (!Array.isArray(classesRaw) || !classesRaw.every((c) => Number.isInteger(c) && (c as number) >= 0)) {
      r.fail(join(path, 'classes'), 'an array of class ids (integers >= 0)', classesRaw);
    } else classes = classesRaw as number[];
  }

  const realtime = r.boolean(o, 'realtime', path, true);
  let dropPolicy: DropPolicy = !isFile || realtime ? { kind: 'latest' } : { kind: 'all' };
  if (o.dropPolicy !== undefined) {
    const p = parseDropPolicy(o.dropPolicy);
    if (p) dropPolicy = p;
    else r.fail(join(path, 'dropPolicy'), '"latest", "all" or "queue:N" (N >= 1)', o.dropPolicy);
  }

  const s: StreamSettings = {
    id: id ?? '',
    url: url ?? '',
    model: model ?? '',
    conf: r.number(o, 'conf', path, 0.25, { min: 0, max: 1 }),
    classes,
    fps: r.number(o, 'fps', path, 0, { min: 0, max: 240 }),
    dropPolicy,
    maxStalenessMs: r.number(o, 'maxStalenessMs', path, 0, { min: 0, max: 600_000 }),
    loop: r.boolean(o, 'loop', path, false),
    realtime,
    video: r.boolean(o, 'video', path, true),
    stallTimeoutSeconds: r.number(o, 'stallTimeoutSeconds', path, 10, { min: 0.5, max: 3600 }),
    tracker: parseTracker(r, o.tracker, join(path, 'tracker'), ctx.tracker),
    rtspTransport: r.oneOf(o, 'rtspTransport', path, ['tcp', 'udp'] as const, 'tcp'),
    reconnect: parseBackoff(r, o.reconnect, join(path, 'reconnect')),
    probeTimeoutMs: r.number(o, 'probeTimeoutMs', path, 10_000, { min: 100, max: 600_000 }),
    jpegQuality: r.number(o, 'jpegQuality', path, 75, { min: 1, max: 100, int: true }),
    jpegMaxWidth: r.number(o, 'jpegMaxWidth', path, 1280, { min: 0, max: 8192, int: true }),
  };
  return s;
}

/** Validates one stream (a config entry or a POST /api/streams body). Throws ConfigError. */
export function parseStream(v: unknown, ctx: StreamContext, path = ''): StreamSettings {
  const r = new Reader();
  const s = readStream(r, v, path, ctx);
  if (r.issues.length || !s) throw new ConfigError(r.issues.length ? r.issues : [{ path: path || 'stream', message: 'invalid' }]);
  return s;
}

function readServer(r: Reader, v: unknown, baseDir: string): ServerSettings {
  const o = (v === undefined ? {} : r.object(v, 'server', [...Object.keys(DEFAULT_SERVER), 'authToken'])) ?? {};
  const d = DEFAULT_SERVER;
  const host = r.string(o, 'host', 'server', d.host) ?? d.host;
  return {
    host,
    port: r.number(o, 'port', 'server', d.port, { min: 0, max: 65535, int: true }),
    authToken: r.string(o, 'authToken', 'server'),
    mediaFolders: r.stringArray(o, 'mediaFolders', 'server', [...d.mediaFolders]).map((f) => resolve(baseDir, f)),
    maxPayloadBytes: r.number(o, 'maxPayloadBytes', 'server', d.maxPayloadBytes, { min: 256, max: 16 * 1024 * 1024, int: true }),
    maxBodyBytes: r.number(o, 'maxBodyBytes', 'server', d.maxBodyBytes, { min: 256, max: 16 * 1024 * 1024, int: true }),
    maxUploadBytes: r.number(o, 'maxUploadBytes', 'server', d.maxUploadBytes, { min: 1024, max: 512 * 1024 * 1024, int: true }),
    requestTimeoutMs: r.number(o, 'requestTimeoutMs', 'server', d.requestTimeoutMs, { min: 100, max: 600_000 }),
    clientBufferBytes: r.number(o, 'clientBufferBytes', 'server', d.clientBufferBytes, { min: 16 * 1024, max: 1024 * 1024 * 1024, int: true }),
    stuckClientTimeoutMs: r.number(o, 'stuckClientTimeoutMs', 'server', d.stuckClientTimeoutMs, { min: 100, max: 3_600_000 }),
    statsIntervalMs: r.number(o, 'statsIntervalMs', 'server', d.statsIntervalMs, { min: 50, max: 3_600_000 }),
    maxClients: r.number(o, 'maxClients', 'server', d.maxClients, { min: 1, max: 100_000, int: true }),
    metricsPublic: r.boolean(o, 'metricsPublic', 'server', d.metricsPublic),
    logLevel: r.oneOf(o, 'logLevel', 'server', ['debug', 'info', 'warn', 'error', 'silent'] as const, d.logLevel),
  };
}

function readModels(r: Reader, v: unknown, baseDir: string): Record<string, ModelSettings> {
  const out: Record<string, ModelSettings> = {};
  if (v === undefined) return out;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    r.fail('models', 'an object keyed by model path', v);
    return out;
  }
  for (const [key, mv] of Object.entries(v as Obj)) {
    const path = `models[${JSON.stringify(key)}]`;
    const o = r.object(mv ?? {}, path, ['providers', 'format', 'intraOpThreads', 'allowSpinning', 'graphOptimizationLevel', 'maxBatch', 'maxWaitMs', 'padBatchSizes']);
    if (!o) continue;
    const abs = resolve(baseDir, key);
    const providers = r.stringArray(o, 'providers', path, [...DEFAULT_MODEL.providers]);
    providers.forEach((p, i) => {
      if (!(PROVIDERS as readonly string[]).includes(p)) r.fail(`${path}.providers[${i}]`, choices(PROVIDERS), p);
    });
    const format = o.format === undefined ? undefined : r.oneOf(o, 'format', path, MODEL_FORMATS, 'yolov10');
    out[abs] = {
      path: abs,
      providers: providers as ExecutionProvider[],
      ...(format ? { format } : {}),
      intraOpThreads: r.number(o, 'intraOpThreads', path, DEFAULT_MODEL.intraOpThreads, { min: 0, max: 256, int: true }),
      allowSpinning: r.boolean(o, 'allowSpinning', path, DEFAULT_MODEL.allowSpinning),
      graphOptimizationLevel: r.oneOf(o, 'graphOptimizationLevel', path, ['disabled', 'basic', 'extended', 'all'] as const, DEFAULT_MODEL.graphOptimizationLevel),
      maxBatch: r.number(o, 'maxBatch', path, DEFAULT_MODEL.maxBatch, { min: 1, max: 64, int: true }),
      maxWaitMs: r.number(o, 'maxWaitMs', path, DEFAULT_MODEL.maxWaitMs, { min: 0, max: 1000 }),
      padBatchSizes: r.sizes(o, 'padBatchSizes', path, 64),
    };
  }
  return out;
}

/** Model settings for a path, defaults when the config does not list it. */
export function modelSettings(config: Pick<ServeConfig, 'models'>, path: string): ModelSettings {
  return config.models[path] ?? { path, ...DEFAULT_MODEL, providers: [...DEFAULT_MODEL.providers], padBatchSizes: [] };
}

/** Validates a whole config document. `baseDir` anchors relative model, media and file paths. */
export function parseConfig(json: unknown, baseDir: string): ServeConfig {
  const r = new Reader();
  const root = r.object(json, '', ['server', 'models', 'tracker', 'streams']) ?? {};
  const server = readServer(r, root.server, baseDir);
  const models = readModels(r, root.models, baseDir);
  const tracker = parseTracker(r, root.tracker, 'tracker', DEFAULT_TRACKER);
  const ctx: StreamContext = { baseDir, mediaFolders: server.mediaFolders, modelPaths: Object.keys(models), tracker };
  const streams: StreamSettings[] = [];
  if (root.streams !== undefined && !Array.isArray(root.streams)) r.fail('streams', 'an array', root.streams);
  const seen = new Set<string>();
  (Array.isArray(root.streams) ? root.streams : []).forEach((sv, i) => {
    const s = readStream(r, sv, `streams[${i}]`, ctx);
    if (!s) return;
    if (s.id && seen.has(s.id)) r.issues.push({ path: `streams[${i}].id`, message: `duplicate id "${s.id}"` });
    seen.add(s.id);
    streams.push(s);
  });
  if (r.issues.length) throw new ConfigError(r.issues);
  return { server, models, streams, tracker, baseDir };
}

/** Reads and validates a JSON config file; relative paths resolve from the file's folder. */
export function loadConfig(file: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: file, message: `cannot read: ${(err as Error).message}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([{ path: file, message: `invalid JSON: ${(err as Error).message}` }]);
  }
  return parseConfig(json, dirname(resolve(file)));
}

/** Context for streams added at runtime: same rules as the config file's streams. */
export function streamContext(config: ServeConfig): StreamContext {
  return { baseDir: config.baseDir, mediaFolders: config.server.mediaFolders, modelPaths: Object.keys(config.models), tracker: config.tracker };
}
