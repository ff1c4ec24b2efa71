/**
 * Loading the `streamlens serve` configuration: the schema (src/config/schema.ts) checks shapes,
 * bounds and unknown fields and fills in defaults; this module adds what a schema cannot say
 * (paths resolved from the config file, source URLs against the media folders, a stream's model
 * and tracker from the rest of the config, one field against another). Every error names the field
 * path (`streams[1].dropPolicy: expected ...`), so a bad file or API request says exactly what to fix.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join as joinPath, relative, resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import {
  AnalyticsSchema,
  ConfigSchema,
  DEFAULT_MODEL,
  DEFAULT_EVENT_STORE,
  EventsSchema,
  DEFAULT_SERVER,
  DEFAULT_TRACKER,
  ModelSchema,
  MotionDocumentSchema,
  StreamSchema,
  TrackerSchema,
  parseDropPolicy,
  type AnalyticsSettings,
  type BackoffSettings,
  type ClusterSettings,
  type EventsSettings,
  type EventStoreSettings,
  type ModelSettings,
  type MotionConfig,
  type MqttSettings,
  type ServerSettings,
  type StreamSettings,
  type TrackerConfig,
  type WebhookSettings,
} from './config/schema.js';
import { ConfigError, describeValue, schemaCheck, type ConfigIssue } from './config/validate.js';
import { sourceKind, urlScheme } from './ingest/sourceUrl.js';
import { hostEntryError } from './ingest/sourceHosts.js';

export * from './config/schema.js';
export { ConfigError, type ConfigIssue } from './config/validate.js';

export interface ServeConfig {
  server: ServerSettings;
  /** Keyed by absolute model path. */
  models: Record<string, ModelSettings>;
  streams: StreamSettings[];
  /** Tracker defaults for streams that do not set their own. */
  tracker: TrackerConfig;
  /** Where relative paths in streams added later (over the API) resolve from. */
  baseDir: string;
  /** Absolute folder the server keeps data in; undefined = no event store. */
  dataDir?: string;
  /** Absolute path of the file that keeps the streams changed over the API; undefined = not kept. */
  stateFile?: string;
  events: EventsSettings;
  /** Set when the server runs as a node of a cluster (docs/cluster.md). */
  cluster?: ClusterSettings;
}

const checkConfigSchema = schemaCheck(ConfigSchema);
const checkStreamSchema = schemaCheck(StreamSchema);
const checkAnalyticsSchema = schemaCheck(AnalyticsSchema);
const checkMotionSchema = schemaCheck(MotionDocumentSchema);

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
  const scheme = urlScheme(url);
  if (scheme !== undefined) {
    const kind = sourceKind(url);
    // A file: URL is a file by kind, but only plain paths are checked against the media folders.
    if (kind !== 'rtsp' && kind !== 'http') {
      return { error: `expected an rtsp://, rtsps://, http:// or https:// URL or a file under a media folder, got scheme "${scheme}:"` };
    }
    try {
      const u = new URL(url);
      if (!u.hostname) return { error: `expected a host in ${describeValue(url)}` };
    } catch {
      return { error: `expected a valid URL, got ${describeValue(url)}` };
    }
    return { url, isFile: false };
  }
  if (url.includes('|') || url.includes('\0')) return { error: `expected a plain file path, got ${describeValue(url)}` };
  const file = realpathOrSelf(resolve(baseDir, url));
  const folders = mediaFolders.map(realpathOrSelf);
  if (!folders.some((f) => isInside(f, file))) {
    return { error: `file ${describeValue(file)} is not inside a media folder (server.mediaFolders: ${folders.join(', ') || 'none'})` };
  }
  return { url: file, isFile: true };
}

export interface StreamContext {
  baseDir: string;
  mediaFolders: string[];
  /** Absolute paths of the configured models; a stream may omit `model` when there is exactly one. */
  modelPaths: string[];
  tracker: TrackerConfig;
  /** The configured models' hardware decoding, which their streams inherit (none when absent). */
  modelHwaccel?: Record<string, Pick<ModelSettings, 'hwaccel' | 'hwaccelDevice'>>;
}

type TrackerInput = boolean | Static<typeof TrackerSchema>;

/** `true`/`false` switch `base` on or off; an object overrides fields of `base` and means "track" unless it says otherwise. */
function resolveTracker(v: TrackerInput | undefined, base: TrackerConfig): TrackerConfig {
  if (v === undefined) return { ...base };
  if (typeof v === 'boolean') return { ...base, enabled: v };
  return { ...base, enabled: true, ...v };
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A backoff whose maxMs is below its initialMs is reported (when its schema check passed). */
function checkBackoff(b: BackoffSettings | undefined, path: string, issues: ConfigIssue[]): void {
  if (b && clean(issues, path) && b.maxMs < b.initialMs) issues.push({ path: `${path}.maxMs`, message: `expected >= initialMs (${b.initialMs}), got ${b.maxMs}` });
}

/** Whether the schema check reported nothing at or under `path`. */
function clean(issues: ConfigIssue[], path: string): boolean {
  if (path === '') return issues.length === 0;
  return !issues.some((i) => i.path === path || i.path.startsWith(path + '.') || i.path.startsWith(path + '['));
}

type StreamInput = Static<typeof StreamSchema>;

/** Twice the polygon's signed area (shoelace); 0 when its points are on one line. */
function doubleArea(polygon: ReadonlyArray<readonly [number, number]>): number {
  let a = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) a += polygon[j][0] * polygon[i][1] - polygon[j][1] * polygon[i][0];
  return a;
}

/**
 * The rules of analytics settings beyond the schema (appended to `issues`): unique names, lines of
 * non-zero length, polygons with an area, normalised coordinates within 0..1.
 */
function checkAnalytics(a: AnalyticsSettings, path: string, issues: ConfigIssue[]): void {
  const at = (key: string): string => join(path, key);
  const unit = (c: string | undefined, p: readonly number[]): boolean => (c ?? a.coordinates) !== 'normalized' || p.every((v) => v >= 0 && v <= 1);
  const UNIT = 'normalized coordinates must be within 0..1';
  for (const kind of ['zones', 'lines'] as const) {
    const seen = new Set<string>();
    a[kind].forEach((item, i) => {
      if (seen.has(item.name)) issues.push({ path: at(`${kind}[${i}].name`), message: `duplicate ${kind === 'zones' ? 'zone' : 'line'} name "${item.name}"` });
      seen.add(item.name);
    });
  }
  a.zones.forEach((z, i) => {
    const bad = z.polygon.findIndex((p) => !unit(z.coordinates, p));
    if (bad >= 0) issues.push({ path: at(`zones[${i}].polygon[${bad}]`), message: UNIT });
    if (doubleArea(z.polygon) === 0) issues.push({ path: at(`zones[${i}].polygon`), message: 'no area: its points are on one line' });
  });
  a.lines.forEach((l, i) => {
    for (const end of ['from', 'to'] as const) if (!unit(l.coordinates, l[end])) issues.push({ path: at(`lines[${i}].${end}`), message: UNIT });
    if (l.from[0] === l.to[0] && l.from[1] === l.to[1]) issues.push({ path: at(`lines[${i}].to`), message: 'zero length: equals from' });
  });
}

/**
 * Validates analytics settings (a stream's `analytics`, the body of PUT /api/streams/:id/analytics,
 * the file of `analyze --analytics`); paths are prefixed with `path`. Throws ConfigError.
 */
export function parseAnalytics(v: unknown, path = ''): AnalyticsSettings {
  const doc = structuredClone(v);
  const issues = checkAnalyticsSchema(doc, path);
  if (issues.length === 0) checkAnalytics(doc as AnalyticsSettings, path, issues);
  if (issues.length) throw new ConfigError(issues);
  return doc as AnalyticsSettings;
}

/** A stream's `motion` on its own (the file of `analyze --motion-mask`), defaults filled in. Throws ConfigError. */
export function parseMotion(v: unknown, path = ''): MotionConfig {
  const doc = structuredClone(v);
  const issues = checkMotionSchema(doc, path);
  if (issues.length) throw new ConfigError(issues);
  return doc as MotionConfig;
}

/**
 * The rules beyond the schema for one stream whose schema check left `issues` (appended to); returns
 * the settings when the stream is valid. `v` has the schema's defaults filled in.
 */
function resolveStream(v: StreamInput, path: string, ctx: StreamContext, issues: ConfigIssue[]): StreamSettings | undefined {
  const at = (key: string): string => join(path, key);
  let url: { url: string; isFile: boolean } | undefined;
  if (clean(issues, at('url'))) {
    const checked = checkSourceUrl(v.url, ctx.baseDir, ctx.mediaFolders);
    if ('error' in checked) issues.push({ path: at('url'), message: checked.error });
    else url = checked;
  }
  let model: string | undefined;
  if (v.model !== undefined) model = resolve(ctx.baseDir, v.model);
  else if (ctx.modelPaths.length === 1) model = ctx.modelPaths[0];
  else issues.push({ path: at('model'), message: `required (the config lists ${ctx.modelPaths.length} models)` });
  const reconnect = v.reconnect as BackoffSettings | undefined;
  checkBackoff(reconnect, at('reconnect'), issues);
  const analytics = v.analytics as AnalyticsSettings | undefined;
  if (analytics && clean(issues, at('analytics'))) checkAnalytics(analytics, at('analytics'), issues);
  if (!clean(issues, path) || !url || !model || !reconnect || !analytics) return undefined;

  const { dropPolicy, tracker, ...plain } = v;
  // A stream without its own hwaccel decodes as its model says (a GPU host decodes where it infers).
  const modelHw = ctx.modelHwaccel?.[model];
  const hwaccelDevice = v.hwaccel !== undefined ? v.hwaccelDevice : (v.hwaccelDevice ?? modelHw?.hwaccelDevice);
  return {
    ...(plain as Omit<StreamSettings, 'dropPolicy' | 'tracker' | 'reconnect'>),
    hwaccel: v.hwaccel ?? modelHw?.hwaccel ?? 'none',
    ...(hwaccelDevice !== undefined ? { hwaccelDevice } : {}),
    url: url.url,
    model,
    reconnect,
    analytics,
    // A live source or a file played in real time keeps only the newest frame; a file read as fast as inference goes loses none.
    dropPolicy: (dropPolicy !== undefined ? parseDropPolicy(dropPolicy) : undefined) ?? (!url.isFile || v.realtime ? { kind: 'latest' } : { kind: 'all' }),
    tracker: resolveTracker(tracker, ctx.tracker),
  };
}

/** Validates one stream (a config entry or a POST /api/streams body). Throws ConfigError. */
export function parseStream(v: unknown, ctx: StreamContext, path = ''): StreamSettings {
  const doc = structuredClone(v);
  const issues = checkStreamSchema(doc, path);
  const s = isObject(doc) ? resolveStream(doc as StreamInput, path, ctx, issues) : undefined;
  if (issues.length || !s) throw new ConfigError(issues.length ? issues : [{ path: path || 'stream', message: 'invalid' }]);
  return s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Model settings for a path, defaults when the config does not list it. */
export function modelSettings(config: Pick<ServeConfig, 'models'>, path: string): ModelSettings {
  return config.models[path] ?? { ...structuredClone(DEFAULT_MODEL), path };
}

type ConfigInput = Static<typeof ConfigSchema>;

/** The event outputs: the store lives in `<dataDir>/events` and is on whenever there is a dataDir. */
function resolveEvents(v: Static<typeof EventsSchema> | undefined, dataDir: string | undefined, issues: ConfigIssue[]): EventsSettings {
  const mqtt = v?.mqtt as MqttSettings | undefined;
  checkBackoff(mqtt?.reconnect, 'events.mqtt.reconnect', issues);
  const webhooks = (v?.webhooks ?? []) as WebhookSettings[];
  webhooks.forEach((w, i) => checkBackoff(w.retry, `events.webhooks[${i}].retry`, issues));
  // Given, the store section has its defaults filled in by the schema check; absent, it is all defaults.
  const { enabled, ...storeSettings } = v?.store ?? { enabled: true, ...DEFAULT_EVENT_STORE };
  let store: EventStoreSettings | undefined;
  if (enabled && dataDir !== undefined) store = { ...(storeSettings as Omit<EventStoreSettings, 'dir'>), dir: joinPath(dataDir, 'events') };
  else if (enabled && v?.store !== undefined) issues.push({ path: 'events.store', message: 'needs a top-level "dataDir" (the folder events are kept in)' });
  return { ...(mqtt ? { mqtt } : {}), webhooks, ...(store ? { store } : {}) };
}

/** A node must heartbeat (and renew its leases) more often than they expire. */
export function checkCluster(c: ClusterSettings, issues: ConfigIssue[]): void {
  for (const key of ['nodeTtlMs', 'leaseTtlMs'] as const) {
    if (c[key] <= c.heartbeatMs) issues.push({ path: `cluster.${key}`, message: `expected > heartbeatMs (${c.heartbeatMs}), got ${c[key]}` });
  }
}

/**
 * Validates a whole config document. `baseDir` anchors relative model, media and file paths;
 * `file`, the config file the document was read from, places the default state file.
 */
export function parseConfig(json: unknown, baseDir: string, options: { file?: string } = {}): ServeConfig {
  const doc = structuredClone(json);
  const issues = checkConfigSchema(doc);
  if (!isObject(doc)) throw new ConfigError(issues);
  const input = doc as ConfigInput;

  // The schema filled in defaults; a section with errors falls back to the defaults so the streams can still be checked.
  const server = (clean(issues, 'server') ? input.server : structuredClone(DEFAULT_SERVER)) as ServerSettings;
  server.mediaFolders = server.mediaFolders.map((f) => resolve(baseDir, f));
  for (const list of ['allow', 'deny'] as const) {
    (server.sourceHosts?.[list] ?? []).forEach((entry, i) => {
      const error = hostEntryError(entry);
      if (error) issues.push({ path: `server.sourceHosts.${list}[${i}]`, message: error });
    });
  }
  const models: Record<string, ModelSettings> = {};
  for (const [key, m] of Object.entries(isObject(input.models) ? input.models : {})) {
    const path = resolve(baseDir, key);
    const at = `models[${JSON.stringify(key)}]`;
    if (!isObject(m)) continue;
    models[path] = { ...m, path } as ModelSettings;
    const sizes = m.padBatchSizes;
    if (clean(issues, at) && sizes && !sizes.every((n, i) => i === 0 || n > sizes[i - 1])) {
      issues.push({ path: `${at}.padBatchSizes`, message: `${ModelSchema.properties.padBatchSizes.errorMessage}, got ${describeValue(sizes)}` });
    }
  }
  const tracker = clean(issues, 'tracker') ? resolveTracker(input.tracker, DEFAULT_TRACKER) : { ...DEFAULT_TRACKER };

  const ctx: StreamContext = { baseDir, mediaFolders: server.mediaFolders, modelPaths: Object.keys(models), tracker, modelHwaccel: models };
  const streams: StreamSettings[] = [];
  const seen = new Set<string>();
  (Array.isArray(input.streams) ? input.streams : []).forEach((sv, i) => {
    if (!isObject(sv)) return;
    const path = `streams[${i}]`;
    if (typeof sv.id === 'string' && seen.has(sv.id)) issues.push({ path: `${path}.id`, message: `duplicate id "${sv.id}"` });
    if (typeof sv.id === 'string') seen.add(sv.id);
    const s = resolveStream(sv, path, ctx, issues);
    if (s) streams.push(s);
  });
  const dataDir = typeof input.dataDir === 'string' ? resolve(baseDir, input.dataDir) : undefined;
  const events = clean(issues, 'events') ? resolveEvents(input.events, dataDir, issues) : { webhooks: [] };
  const cluster = clean(issues, 'cluster') ? (input.cluster as ClusterSettings | undefined) : undefined;
  if (cluster) checkCluster(cluster, issues);
  const stateFile = typeof input.stateFile === 'string' ? resolve(baseDir, input.stateFile) : input.stateFile === undefined && options.file ? defaultStateFile(options.file) : undefined;
  if (issues.length) throw new ConfigError(issues);
  return { server, models, streams, tracker, baseDir, ...(dataDir ? { dataDir } : {}), ...(stateFile ? { stateFile } : {}), events, ...(cluster ? { cluster } : {}) };
}

/** `cams.json` -> `cams.state.json` in the same folder. */
export function defaultStateFile(configFile: string): string {
  const abs = resolve(configFile);
  return joinPath(dirname(abs), `${basename(abs, extname(abs))}.state.json`);
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
  return parseConfig(json, dirname(resolve(file)), { file });
}

/** Context for streams added at runtime: same rules as the config file's streams. */
export function streamContext(config: ServeConfig): StreamContext {
  return { baseDir: config.baseDir, mediaFolders: config.server.mediaFolders, modelPaths: Object.keys(config.models), tracker: config.tracker, modelHwaccel: config.models };
}
