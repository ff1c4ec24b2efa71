/**
 * The live server: HTTP API + `/ws` on one node:http server, over a hub (StreamHubApi: local
 * streams or streams elsewhere). Results leave the hub to the result sinks: the WebSocket gateway,
 * the snapshot cache, the metrics, then the live sinks the config enables (output/sinks.ts).
 * `close()` is the graceful shutdown: stop accepting, close WebSockets with 1001, stop every
 * stream (ending its ffmpeg), close the models, flush and close the sinks.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { ServeConfig } from '../config.js';
import type { StreamHubApi } from '../pipeline/hub.js';
import type { StreamStateStore } from '../pipeline/streamState.js';
import type { Logger } from '../log.js';
import { log as defaultLog } from '../log.js';
import { openLiveSinks } from '../output/sinks.js';
import { SinkSet } from '../output/sinkSet.js';
import { isAuthorised } from './auth.js';
import { apiMethods, handleApiRequest, type ApiContext } from './httpApi.js';
import { isDashboardPath, serveDashboard } from './staticFiles.js';
import { ServerMetrics } from './metrics.js';
import { registerEventMetrics } from './eventMetrics.js';
import { EventStore } from '../output/events/eventStore.js';
import type { EventSinkStats } from '../output/events/sinkStats.js';
import { LatestFrames } from './snapshot.js';
import { ImageGate } from './imageGate.js';
import { ClientDropCounts, servedStats, type StreamStatsSource } from './streamStats.js';
import { SourceHostPolicy } from '../ingest/sourceHosts.js';
import { WsGateway, type ClientInfo } from './wsGateway.js';
import type { ClusterApi } from '../cluster/clusterHub.js';
import type { JobList } from '../cluster/jobQueue.js';

export interface RunningServer {
  /** http://host:port */
  url: string;
  port: number;
  hub: StreamHubApi;
  /** Stream stats as the API reports them (with client drops). */
  streams: StreamStatsSource;
  /** The newest frame (with JPEG) of each stream producing video. */
  snapshots: LatestFrames;
  /** The result sinks, in the order each result reaches them. */
  sinks: SinkSet;
  clients(): ClientInfo[];
  close(): Promise<void>;
}

export interface StartServerOptions {
  config: ServeConfig;
  /** The streams; the server owns it from here (close() closes it). The config's streams are added to it. */
  hub: StreamHubApi;
  version: string;
  log?: Logger;
  /** Cluster mode: the node's view of the cluster (GET /api/cluster, /healthz). */
  cluster?: ClusterApi;
  /** The analysis job queue (GET /api/jobs). */
  jobs?: JobList;
  /**
   * Keeps the streams added, changed or removed over the API across restarts: the streams started
   * are the config's with the kept changes applied. None: changes last until the server stops (a
   * cluster keeps its desired state itself).
   */
  streamState?: StreamStateStore;
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || host === '::1' || host === 'localhost';
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Longest a shutdown waits for requests in progress, ms. */
const MAX_DRAIN_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Every method some path of this server answers (for `OPTIONS *`). */
const SERVER_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';

/** OPTIONS: 204 with the methods the path takes (`*`: the server's), 404 for a path nobody serves. */
function answerOptions(req: IncomingMessage, res: ServerResponse): void {
  let allow: string | undefined;
  if (req.url === '*') allow = SERVER_METHODS;
  else {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (isDashboardPath(pathname) || pathname === '/metrics') allow = 'GET, HEAD, OPTIONS';
    else if (pathname === '/ws') allow = 'GET, OPTIONS';
    else allow = apiMethods(pathname).join(', ') || undefined;
  }
  if (allow === undefined) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route for ${req.url}` }));
    return;
  }
  res.writeHead(204, { allow, 'cache-control': 'no-store' }).end();
}

/** The event outputs (MQTT, webhooks, store) report their figures for /metrics. */
function hasEventStats(sink: object): sink is { eventStats(): EventSinkStats[] } {
  return typeof (sink as { eventStats?: unknown }).eventStats === 'function';
}

/** GET /metrics (Prometheus text format). */
function serveMetrics(metrics: ServerMetrics, req: IncomingMessage, res: ServerResponse, log: Logger): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD, OPTIONS' }).end(JSON.stringify({ error: `method ${req.method} not allowed` }));
    return;
  }
  metrics.text().then(
    (text) => {
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (err: unknown) => {
      log.error({ err }, 'metrics collection failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
    },
  );
}

/** The streams a cluster node runs itself: each node's /metrics counts only those, so sums over nodes count each stream once. */
function runningHere(streams: StreamStatsSource, nodeId: string): StreamStatsSource {
  return {
    stats: (id) => {
      const s = streams.stats(id);
      return s?.node === nodeId ? s : undefined;
    },
    list: () => streams.list().filter((s) => s.node === nodeId),
  };
}

/** Starts the configured streams and listens. Streams keep (re)connecting in the background. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config } = options;
  const settings = config.server;
  const log = options.log ?? defaultLog;
  if (!settings.authToken && !isLoopback(settings.host)) {
    log.warn({ host: settings.host }, 'listening beyond loopback without server.authToken: anyone who can reach this port can use the API');
  }
  const { hub, streamState } = options;
  // Read before anything is opened: a state file that exists but cannot be read stops the start.
  const starting = streamState ? await streamState.restore(config.streams) : config.streams;
  const clientDrops = new ClientDropCounts();
  const streams = servedStats(hub, clientDrops, { briefErrors: settings.sourceErrors === 'brief' });
  const snapshots = new LatestFrames();
  const gateway = new WsGateway({ hub, streams, clientDrops, settings, log });
  const metrics = new ServerMetrics(hub, options.cluster ? runningHere(streams, options.cluster.nodeId) : streams, {
    clientCount: () => gateway.clientCount,
    clientDrops: () => gateway.drops(),
    connectionsAccepted: () => gateway.connectionsAccepted,
    renditions: () => gateway.renditionCounts(),
  });
  let ctx: ApiContext;
  let shuttingDown = false;
  const inFlight = new Set<Promise<void>>();
  const server = createServer(
    {
      requestTimeout: settings.requestTimeoutMs,
      headersTimeout: Math.min(settings.requestTimeoutMs, 60_000),
      // The timeouts above are enforced by a periodic check (30 s by default): check often enough
      // that a slow client (slowloris) is cut off close to the timeout.
      connectionsCheckingInterval: Math.min(1000, settings.requestTimeoutMs),
    },
    (req, res) => {
      if (shuttingDown) {
        // A request on a kept-alive connection after shutdown began: answered, and the connection ends.
        res.writeHead(503, { 'content-type': 'application/json', connection: 'close', 'retry-after': '5' }).end(JSON.stringify({ error: 'server shutting down' }));
        return;
      }
      // OPTIONS says which methods a path takes; it reveals nothing, so it needs no token.
      if (req.method === 'OPTIONS') return void answerOptions(req, res);
      const url = new URL(req.url ?? '/', 'http://localhost');
      // The dashboard's static files hold no data: served without the token (see staticFiles.ts).
      if (isDashboardPath(url.pathname)) return void serveDashboard(req, res, url);
      if (url.pathname === '/metrics' && (settings.metricsPublic || isAuthorised(req, url, settings.authToken))) return void serveMetrics(metrics, req, res, log);
      if (url.pathname !== '/healthz' && !isAuthorised(req, url, settings.authToken)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end(JSON.stringify({ error: 'missing or wrong bearer token' }));
        return;
      }
      const handled: Promise<void> = handleApiRequest(ctx, req, res, url).finally(() => inFlight.delete(handled));
      inFlight.add(handled);
    },
  );
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!isAuthorised(req, url, settings.authToken)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    gateway.handleUpgrade(req, socket, head);
  });

  // Listen before anything is started: a port in use (EADDRINUSE) ends startup with nothing left running.
  let port: number;
  try {
    port = await listen(server, settings.host, settings.port);
  } catch (err) {
    await gateway.close();
    await hub.close();
    throw err;
  }
  const live = openLiveSinks({ config, log, version: options.version });
  const sinks = new SinkSet([gateway, snapshots, metrics, ...live], log, { live: true });
  registerEventMetrics(metrics.registry, () => live.flatMap((s) => (hasEventStats(s) ? s.eventStats() : [])));
  const subscriptions = [
    hub.results$.subscribe((result) => void sinks.write(result)),
    // Results of streams running on other nodes: for this node's WebSocket clients only (their owner counts, stores and publishes them).
    ...(hub.relayed$ ? [hub.relayed$.subscribe((result) => gateway.write(result))] : []),
    hub.states$.subscribe((e) => {
      if (e.state !== 'stopped') return;
      snapshots.forget(e.stream);
      clientDrops.forget(e.stream);
    }),
  ];
  const events = live.find((s): s is EventStore => s instanceof EventStore);
  // Assigned before any request can arrive: the listen callback's continuation runs before the next I/O event.
  // libvips' operation cache keeps up to 50 MB of recent results: a server never decodes the same
  // upload twice (and draws each snapshot once itself), so it would only hold memory.
  sharp.cache(false);
  const images = new ImageGate({
    concurrency: settings.detectConcurrency,
    queue: settings.detectQueue,
    memoryBytes: settings.detectMemoryMB * 1048576,
    waitMs: settings.requestTimeoutMs,
  });
  ctx = {
    config,
    hub,
    streams,
    snapshots,
    images,
    sourceHosts: new SourceHostPolicy(settings.sourceHosts ?? {}),
    events,
    cluster: options.cluster,
    jobs: options.jobs,
    state: streamState,
    log,
    version: options.version,
    startedAt: Date.now(),
    clientCount: () => gateway.clientCount,
  };

  // Streams start in the background: a camera that is down must not keep the server from listening.
  for (const s of starting) {
    hub.add(s).catch((err: unknown) => log.error({ stream: s.id, err }, 'stream could not start'));
  }
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      shuttingDown = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
      server.closeIdleConnections();
      // Requests in progress (an image being detected) are answered before the models close.
      await Promise.race([Promise.allSettled([...inFlight]), sleep(Math.min(settings.requestTimeoutMs, MAX_DRAIN_MS))]);
      await hub.close();
      for (const sub of subscriptions) sub.unsubscribe();
      await sinks.close().catch((err: unknown) => log.error({ err }, 'closing the result sinks failed'));
      await options.jobs?.close().catch((err: unknown) => log.error({ err }, 'closing the job queue failed'));
      server.closeAllConnections();
      await stopped;
    })());

  return { url: `http://${host}:${port}`, port, hub, streams, snapshots, sinks, clients: () => gateway.clients(), close };
}
