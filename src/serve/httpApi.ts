/**
 * The HTTP API (node:http, no framework). Every response is JSON except the snapshots; errors are
 * `{"error": "...", ...details}` with a fitting status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, formatDropPolicy, parseAnalytics, parseMotion, parseStream, streamContext, type AnalyticsSettings, type MotionConfig, type ServeConfig, type StreamSettings } from '../config.js';
import { redactUrl } from '../ingest/sourceUrl.js';
import type { AnalyticsCounts } from '../types.js';
import { DuplicateStreamError, HubUnavailableError, UnknownStreamError, type StreamHubApi } from '../pipeline/hub.js';
import type { ClusterApi } from '../cluster/clusterHub.js';
import type { JobList } from '../cluster/jobQueue.js';
import type { Logger } from '../log.js';
import type { StreamStateStore } from '../pipeline/streamState.js';
import { needsSourceFrames } from '../pipeline/motion.js';
import type { StreamStats } from '../types.js';
import { nowMs } from '../clock.js';
import { HttpError, readJsonBody } from './body.js';
import { renderSnapshot, snapshotDecodeBytes, type LatestFrames } from './snapshot.js';
import { BusyError, type ImageGate } from './imageGate.js';
import type { SourceHostPolicy } from '../ingest/sourceHosts.js';
import { detectImage, parseClasses, parseConf, pickModel, readImageBody } from './detectImage.js';
import { batchingView } from './protocol.js';
import type { StreamStatsSource } from './streamStats.js';
import { eventSnapshot, listEvents, type EventQueries } from './eventsApi.js';

export interface ApiContext {
  config: ServeConfig;
  hub: StreamHubApi;
  /** Stream stats with serve's client drops. */
  streams: StreamStatsSource;
  snapshots: LatestFrames;
  /** Limits on image decoding (POST /api/detect, snapshots). */
  images: ImageGate;
  /** Which hosts streams added over the API may reach (server.sourceHosts). */
  sourceHosts: SourceHostPolicy;
  /** The event store (GET /api/events); undefined without a dataDir. */
  events?: EventQueries;
  /** Cluster mode: this node's view of the cluster. */
  cluster?: ClusterApi;
  /** The analysis job queue, when there is one. */
  jobs?: JobList;
  /** Where streams changed over the API are kept across restarts; undefined: not kept. */
  state?: StreamStateStore;
  log: Logger;
  version: string;
  startedAt: number;
  clientCount(): number;
}

type Handler = (ctx: ApiContext, req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void>;

interface Route {
  method: string;
  /** The path; `:name` stands for one segment, handed to the handler (decoded) in order. */
  path: string;
  handler: Handler;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** A stream's settings as the API shows them: the config file's shape, secrets hidden. */
export type PublicSettings = Omit<StreamSettings, 'dropPolicy'> & { dropPolicy: string };

/** A stream in GET /api/streams (and the dashboard, src/serve/dashboard/wire.ts): its stats and settings. */
export type StreamView = StreamStats & { config: PublicSettings };

export function publicSettings(s: StreamSettings): PublicSettings {
  return { ...s, url: redactUrl(s.url), dropPolicy: formatDropPolicy(s.dropPolicy) };
}

function streamView(ctx: ApiContext, id: string): StreamView | undefined {
  const stats = ctx.streams.stats(id);
  const settings = ctx.hub.settings(id);
  return stats && settings ? { ...stats, config: publicSettings(settings) } : undefined;
}

/**
 * Keeps a change made over the API for the next start. The change itself is made already, so a
 * failure to keep it does not fail the request: it is logged and the answer says so (`warning`).
 */
async function keep(ctx: ApiContext, what: string, change: (state: StreamStateStore) => Promise<void>): Promise<{ warning?: string }> {
  if (!ctx.state) return {};
  try {
    await change(ctx.state);
    return {};
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    ctx.log.error({ file: ctx.state.location, err }, `${what}: not kept for the next start`);
    return { warning: `${what}, but it cannot be kept for the next start (${ctx.state.location}: ${reason})` };
  }
}

/** The settings of stream `id`; 404 when there is no such stream. */
function settingsOf(ctx: ApiContext, id: string): StreamSettings {
  const settings = ctx.hub.settings(id);
  if (!settings) throw new HttpError(404, `no stream "${id}"`);
  return settings;
}

/** What `parse` makes of a request body; its ConfigError is a 400 naming the fields. */
function validated<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) throw new HttpError(400, err.message, { issues: err.issues });
    throw err;
  }
}

/**
 * A PUT of one part of a running stream's settings (`what`: analytics, motion): `change` makes the
 * new settings from the body (throwing the HttpError that refuses it); they are applied without
 * restarting the source (only the stages see them: StreamHubApi.update), logged and kept.
 */
async function changeStream(
  ctx: ApiContext,
  req: IncomingMessage,
  id: string,
  what: string,
  change: (body: unknown, settings: StreamSettings) => { settings: StreamSettings; logged: Record<string, unknown> },
): Promise<{ warning?: string }> {
  const current = settingsOf(ctx, id);
  const body = await readJsonBody(req, ctx.config.server.maxBodyBytes);
  const { settings, logged } = change(body, current);
  await ctx.hub.update(id, settings);
  ctx.log.info({ stream: id, ...logged }, `stream ${what} changed`);
  return keep(ctx, `${what} changed`, (state) => state.put(ctx.hub.settings(id) ?? settings));
}

/** GET /api/streams/:id/analytics */
export interface AnalyticsView {
  stream: string;
  config: AnalyticsSettings;
  counts: AnalyticsCounts;
}

/** A stream's zones and lines and their counts (docs/analytics.md); 404 for an unknown stream. */
function analyticsView(ctx: ApiContext, id: string): AnalyticsView {
  const config = settingsOf(ctx, id).analytics;
  const empty: AnalyticsCounts = {
    lines: Object.fromEntries(config.lines.map((l) => [l.name, { in: {}, out: {} }])),
    zones: Object.fromEntries(config.zones.map((z) => [z.name, {}])),
  };
  return { stream: id, config, counts: ctx.hub.stats(id)?.analytics ?? empty };
}

/** GET /api/streams/:id/motion */
export interface MotionView {
  stream: string;
  config: MotionConfig;
}

/** A stream's motion gating settings (docs/motion.md); 404 for an unknown stream. */
function motionView(ctx: ApiContext, id: string): MotionView {
  return { stream: id, config: settingsOf(ctx, id).motion };
}

/**
 * Why `next` cannot be applied to a running stream, or undefined. Motion regions cut their windows
 * from the source-size frames its decoder makes only when told so as the stream starts
 * (`sourceFrames` of its stats; where that is not known yet, its settings tell); turning them on
 * where it makes none would need the source restarted, which a settings change must not do.
 */
function liveMotionRefusal(current: StreamSettings, stats: StreamStats | undefined, next: MotionConfig): string | undefined {
  if (!needsSourceFrames(next) || (stats?.sourceFrames ?? needsSourceFrames(current.motion))) return undefined;
  return (
    'motion.regions cannot be turned on while the stream runs: the windows are cut from source-size frames, ' +
    'and its decoder was started without them (it makes them only when told so as the stream starts). Remove the stream and add it again with "regions": true (docs/motion.md)'
  );
}

const routeTable: Route[] = [
  {
    method: 'GET',
    path: '/healthz',
    // Degraded (a cluster node cut off from Redis) still answers 200: the node keeps serving what it runs.
    handler: async (ctx, _req, res) => json(res, 200, { status: ctx.cluster?.status() ?? 'ok', streams: ctx.hub.ids().length, ...(ctx.cluster ? { node: ctx.cluster.nodeId } : {}) }),
  },
  {
    method: 'GET',
    path: '/api/cluster',
    handler: async (ctx, _req, res) => {
      if (!ctx.cluster) throw new HttpError(404, 'not a cluster node (serve --cluster redis://...)');
      json(res, 200, ctx.cluster.view());
    },
  },
  {
    method: 'GET',
    path: '/api/jobs',
    handler: async (ctx, _req, res) => {
      if (!ctx.jobs) throw new HttpError(404, 'no job queue (serve --cluster redis://...)');
      let jobs;
      try {
        jobs = await ctx.jobs.list();
      } catch (err) {
        throw new HttpError(503, `the job queue (Redis) is unreachable: ${err instanceof Error ? err.message : String(err)}`);
      }
      json(res, 200, { jobs });
    },
  },
  {
    method: 'GET',
    path: '/api/info',
    handler: async (ctx, _req, res) =>
      json(res, 200, {
        name: 'streamlens',
        version: ctx.version,
        ffmpeg: ctx.hub.decoder(),
        uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
        models: (await ctx.hub.modelInfo()).map((m) => ({ ...m, batching: batchingView(m.batching) })),
        streams: ctx.hub.ids().length,
        clients: ctx.clientCount(),
        stateFile: ctx.state?.location ?? null,
      }),
  },
  {
    method: 'GET',
    path: '/api/streams',
    handler: async (ctx, _req, res) => json(res, 200, { streams: ctx.hub.ids().flatMap((id) => streamView(ctx, id) ?? []) }),
  },
  {
    method: 'POST',
    path: '/api/streams',
    handler: async (ctx, req, res) => {
      const body = await readJsonBody(req, ctx.config.server.maxBodyBytes);
      const settings = validated(() => parseStream(body, streamContext(ctx.config)));
      const refused = await ctx.sourceHosts.refusal(settings.url);
      if (refused) throw new HttpError(403, refused);
      let stats: StreamStats;
      try {
        stats = await ctx.hub.add(settings);
      } catch (err) {
        if (err instanceof DuplicateStreamError) throw new HttpError(409, err.message);
        throw err;
      }
      ctx.log.info({ stream: settings.id, url: redactUrl(settings.url) }, 'stream added');
      // Kept only while it runs: a DELETE that won the race has already removed it from the state.
      const kept = ctx.hub.has(settings.id) ? await keep(ctx, 'stream added', (state) => state.put(settings)) : {};
      // This stream as add() left it: a DELETE of the id may have won the race meanwhile (then
      // "stopped"), and another POST may already have added a new stream under it.
      json(res, 201, { ...stats, config: publicSettings(settings), ...kept } satisfies StreamView & { warning?: string });
    },
  },
  {
    method: 'GET',
    path: '/api/streams/:id',
    handler: async (ctx, _req, res, [id]) => {
      const view = streamView(ctx, id);
      if (!view) throw new HttpError(404, `no stream "${id}"`);
      json(res, 200, view);
    },
  },
  {
    method: 'GET',
    path: '/api/streams/:id/analytics',
    handler: async (ctx, _req, res, [id]) => json(res, 200, analyticsView(ctx, id)),
  },
  {
    method: 'PUT',
    path: '/api/streams/:id/analytics',
    handler: async (ctx, req, res, [id]) => {
      const kept = await changeStream(ctx, req, id, 'analytics', (body, settings) => {
        const analytics = validated(() => parseAnalytics(body));
        return { settings: { ...settings, analytics }, logged: { zones: analytics.zones.length, lines: analytics.lines.length } };
      });
      json(res, 200, { ...analyticsView(ctx, id), ...kept });
    },
  },
  {
    method: 'GET',
    path: '/api/streams/:id/motion',
    handler: async (ctx, _req, res, [id]) => json(res, 200, motionView(ctx, id)),
  },
  {
    method: 'PUT',
    path: '/api/streams/:id/motion',
    handler: async (ctx, req, res, [id]) => {
      const kept = await changeStream(ctx, req, id, 'motion', (body, settings) => {
        const motion = validated(() => parseMotion(body));
        const refused = liveMotionRefusal(settings, ctx.hub.stats(id), motion);
        if (refused) throw new HttpError(409, refused);
        return { settings: { ...settings, motion }, logged: { enabled: motion.enabled, threshold: motion.threshold, minArea: motion.minArea, masks: motion.mask.length } };
      });
      json(res, 200, { ...motionView(ctx, id), ...kept });
    },
  },
  {
    method: 'POST',
    path: '/api/streams/:id/analytics/reset',
    handler: async (ctx, _req, res, [id]) => {
      if (!ctx.hub.has(id)) throw new HttpError(404, `no stream "${id}"`);
      await ctx.hub.resetAnalytics(id);
      ctx.log.info({ stream: id }, 'stream analytics counts reset');
      json(res, 200, analyticsView(ctx, id));
    },
  },
  {
    method: 'DELETE',
    path: '/api/streams/:id',
    handler: async (ctx, _req, res, [id]) => {
      if (!(await ctx.hub.remove(id))) throw new HttpError(404, `no stream "${id}"`);
      ctx.log.info({ stream: id }, 'stream removed');
      const kept = await keep(ctx, 'stream removed', (state) => state.delete(id));
      if (kept.warning) json(res, 200, kept);
      else res.writeHead(204).end();
    },
  },
  {
    method: 'POST',
    path: '/api/detect',
    handler: async (ctx, req, res, _params, url) => {
      const startTs = nowMs();
      // Taken in before the body is read: beyond the gate's queue, a request costs nothing but its answer.
      const release = ctx.images.admit();
      try {
        await detect(ctx, req, res, url, startTs);
      } finally {
        release();
      }
    },
  },
  {
    method: 'GET',
    path: '/api/streams/:id/snapshot.jpg',
    handler: async (ctx, _req, res, [id]) => {
      const settings = settingsOf(ctx, id);
      if (!settings.video) throw new HttpError(404, `stream "${id}" does not produce video (set "video": true)`);
      // Drawn once per frame, whoever asks: a flood of requests costs one drawing per frame.
      const snapshot = ctx.snapshots.snapshot(id, (result) => ctx.images.decode(snapshotDecodeBytes(result), () => renderSnapshot(result)));
      if (!snapshot) throw new HttpError(503, `stream "${id}" has no frame yet`);
      const jpeg = await snapshot.jpeg;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'no-store', 'x-frame-seq': String(snapshot.seq) });
      res.end(jpeg);
    },
  },
  {
    method: 'GET',
    path: '/api/events',
    handler: async (ctx, _req, res, _params, url) => json(res, 200, await listEvents(ctx.events, url.searchParams)),
  },
  {
    method: 'GET',
    path: '/api/events/:id/snapshot.jpg',
    handler: async (ctx, _req, res, [id]) => {
      const jpeg = await eventSnapshot(ctx.events, id);
      // An event's snapshot never changes: clients may keep it.
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'private, max-age=86400' });
      res.end(jpeg);
    },
  },
];

/** `path` as a regular expression whose groups are its `:name` segments. */
function pathPattern(path: string): RegExp {
  const parts = path.split('/').map((part) => (part.startsWith(':') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('/')}$`);
}

const routes = routeTable.map((route) => ({ ...route, pattern: pathPattern(route.path) }));

/** The API's routes (method and path, `:id` one segment), in the order requests are matched. */
export function apiRoutes(): { method: string; path: string }[] {
  return routeTable.map(({ method, path }) => ({ method, path }));
}

/** POST /api/detect once the request is taken in. */
async function detect(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, startTs: number): Promise<void> {
  const streamModels = ctx.hub.ids().flatMap((id) => ctx.hub.settings(id)?.model ?? []);
  const path = pickModel(url.searchParams.get('model'), [...Object.keys(ctx.config.models), ...streamModels], ctx.config.baseDir);
  const conf = parseConf(url.searchParams.get('conf'));
  const classes = parseClasses(url.searchParams.get('classes'));
  const body = await readImageBody(req, ctx.config.server.maxUploadBytes);
  let model;
  try {
    model = await ctx.hub.detectBackend(path);
  } catch (err) {
    throw new HttpError(503, `model ${path} cannot be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
  json(res, 200, await detectImage(model, body, { conf, classes }, { gate: ctx.images, maxPixels: ctx.config.server.maxImagePixels }, startTs));
}

function decodeParam(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in path');
  }
}

/**
 * The methods a path of the API answers, as an Allow header lists them (HEAD wherever GET is,
 * OPTIONS everywhere); empty for a path the API does not know.
 */
export function apiMethods(pathname: string): string[] {
  const methods = new Set(routes.filter((r) => r.pattern.test(pathname)).map((r) => r.method));
  if (methods.size === 0) return [];
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return [...methods];
}

/**
 * Routes one request; unknown paths get 404, known paths with another method 405 with an Allow
 * header, OPTIONS 204 with one. HEAD runs the GET route (node:http sends its headers, not its body).
 */
export async function handleApiRequest(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  try {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    for (const route of routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      const params = m.slice(1).map(decodeParam);
      await route.handler(ctx, req, res, params, url);
      return;
    }
    const allowed = apiMethods(url.pathname);
    if (allowed.length === 0) throw new HttpError(404, `no route for ${url.pathname}`);
    res.setHeader('allow', allowed.join(', '));
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'cache-control': 'no-store' }).end();
      return;
    }
    throw new HttpError(405, `method ${req.method} not allowed`);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HubUnavailableError) err = new HttpError(503, err.message);
    if (err instanceof UnknownStreamError) err = new HttpError(404, err.message);
    // Busy: refused before the body was read (or after waiting too long); come back in a second.
    if (err instanceof BusyError) err = new HttpError(503, err.message, undefined, { 'retry-after': '1', connection: 'close' });
    if (err instanceof HttpError) {
      // The rest of an oversized body is not read: the connection cannot be reused.
      if (err.status === 413) res.setHeader('connection', 'close');
      for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
      json(res, err.status, { error: err.message, ...err.details });
      return;
    }
    ctx.log.error({ err, path: url.pathname }, 'request failed');
    json(res, 500, { error: 'internal error' });
  }
}
