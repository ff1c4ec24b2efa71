/** `streamlens serve`: the live server. Without --config it runs the built-in demo. */
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { numberOption, packageVersion, runCommand, UsageError, type Command } from './command.js';
import { ConfigError, DEFAULT_CLUSTER, DEFAULT_MODEL, loadConfig, parseConfig, STREAM_ID_PATTERN, streamContext, type ServeConfig } from '../config.js';
import { ClusterHub, defaultNodeId } from '../cluster/clusterHub.js';
import { JobQueue } from '../cluster/jobQueue.js';
import { isFileSource, redactUrl } from '../ingest/sourceUrl.js';
import { startServer } from '../serve/server.js';
import { killAllFfmpeg, liveFfmpegChildren } from '../ingest/ffmpeg.js';
import { StreamHub } from '../pipeline/streamHub.js';
import { StreamStateFile } from '../pipeline/streamState.js';
import { createLogger, levelFromEnv, type Logger } from '../log.js';
import { demoClipPath, ensureDemoClip } from '../tools/synth/index.js';
import { ensureModel, isBuiltinModel, modelsDir, type BuiltinModel } from '../tools/modelgen/index.js';

const help = `Usage: streamlens serve [--config <file>] [--host <host>] [--port <port>] [--cluster <redis-url> [--node-id <id>]]

Runs the live server: every configured stream is decoded, run through its model (and tracker)
and broadcast to WebSocket clients at ws://HOST:PORT/ws. HTTP API under /api (docs/protocol.md).
Without --config, serves the built-in demo: a synthetic clip looped in real time with the
project's own detector (both generated on first run). With --config, a stream whose file is the
demo clip (streams/media/demo.mp4) and a model that is one of the project's built-in models
(models/synthetic-det-640.onnx, ...) are generated when missing, so streams/demo.json works on a
fresh clone. Streams added, changed or removed over the API are kept in <config name>.state.json
next to the config file (the config's stateFile moves it or turns it off) and restored at the
next start; the demo keeps nothing.

Options:
  --config <file>   JSON config (docs/configuration.md; examples in streams/)
  --host <host>     listen address (default from config, else 127.0.0.1)
  --port <port>     listen port (default from config, else 8080; 0 = any free port)
  --cluster <url>   run as a node of the cluster whose state is in this Redis (redis://host:port;
                    overrides cluster.redis of the config): the streams are shared by the nodes,
                    each runs its share, any node serves any stream (docs/cluster.md)
  --node-id <id>    this node's id in the cluster (default <host name>-<port>)
  -h, --help        this help

Log level: server.logLevel in the config, or STREAMLENS_LOG_LEVEL=debug|info|warn|error|silent
(overrides the config). Logs are JSON lines on stderr.
Stops gracefully on SIGINT/SIGTERM (a second signal, or 20 s, ends it at once; no ffmpeg is
left behind either way).`;

/** After a signal, the longest graceful shutdown before children are killed and the process exits. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

/** The demo: the synthetic clip looped in real time through the synthetic detector. */
async function demoConfig(): Promise<ServeConfig> {
  const [, model] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  const video = demoClipPath();
  return parseConfig(
    {
      server: { mediaFolders: [dirname(video)] },
      models: { [model]: { maxBatch: 4, maxWaitMs: 5 } },
      streams: [{ id: 'demo', url: video, loop: true, realtime: true, video: true }],
    },
    process.cwd(),
  );
}

/** A built-in model's cache path (`models/<name>-<imgsz>[-b<batch>].onnx`) parsed back, if `path` is one. */
function builtinModelAt(path: string): { name: BuiltinModel; imgsz: number; batch: 'dynamic' | number } | undefined {
  if (dirname(resolve(path)) !== modelsDir()) return undefined;
  const m = /^(.+)-(\d+)(?:-b(\d+))?\.onnx$/.exec(basename(path));
  if (!m || !isBuiltinModel(m[1])) return undefined;
  return { name: m[1], imgsz: Number(m[2]), batch: m[3] ? Number(m[3]) : 'dynamic' };
}

/**
 * Generates what a config uses and the project can build: the demo clip (a stream's file is exactly
 * streams/media/demo.mp4) and built-in models under models/. Other missing files are left to fail
 * as usual (the stream shows state "failed" with the reason).
 */
async function ensureGenerated(config: ServeConfig, log: Logger): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  const demo = demoClipPath();
  if (config.streams.some((s) => isFileSource(s.url) && resolve(s.url) === demo) && !existsSync(demo)) {
    log.info({ file: demo }, 'generating the demo clip');
    jobs.push(ensureDemoClip());
  }
  for (const path of new Set([...Object.keys(config.models), ...config.streams.map((s) => s.model)])) {
    const builtin = existsSync(path) ? undefined : builtinModelAt(path);
    if (!builtin) continue;
    log.info({ model: path }, 'generating a built-in model');
    jobs.push(ensureModel(builtin.name, { imgsz: builtin.imgsz, batch: builtin.batch }));
  }
  await Promise.all(jobs);
}

function run(argv: string[]): Promise<number> {
  return runCommand('serve', () => serve(argv));
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, cluster: { type: 'string' }, 'node-id': { type: 'string' } },
  });
  const port = values.port === undefined ? undefined : numberOption('port', values.port, 0, { min: 0, max: 65535, integer: true });
  let config: ServeConfig;
  try {
    config = values.config ? loadConfig(values.config) : await demoConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid config ${values.config ?? '(demo)'}:\n${err.message}`);
    throw err;
  }
  if (values.host) config.server.host = values.host;
  if (port !== undefined) config.server.port = port;
  if (values.cluster !== undefined) {
    if (!/^rediss?:\/\/[^/\s]/.test(values.cluster)) throw new UsageError(`--cluster must be a redis:// or rediss:// URL, got "${values.cluster}"`);
    config.cluster = { ...DEFAULT_CLUSTER, ...config.cluster, redis: values.cluster };
  }
  if (values['node-id'] !== undefined) {
    if (!config.cluster) throw new UsageError('--node-id names a cluster node: give --cluster too');
    if (!STREAM_ID_PATTERN.test(values['node-id'])) throw new UsageError(`--node-id: expected 1-64 characters from A-Z a-z 0-9 _ . -, got "${values['node-id']}"`);
    config.cluster.nodeId = values['node-id'];
  }

  // STREAMLENS_LOG_LEVEL overrides server.logLevel.
  const log = createLogger({}, levelFromEnv(config.server.logLevel));
  if (values.config) await ensureGenerated(config, log);
  const local = StreamHub.forConfig(config, log);
  log.info({ ...local.decoder() }, 'ffmpeg');
  const c = config.cluster;
  let server;
  if (c) {
    // Cluster mode: the config's streams join the cluster's desired state instead of starting here.
    const nodeId = c.nodeId ?? defaultNodeId(config.server.port);
    const providers = [...new Set(Object.values(config.models).flatMap((m) => m.providers))];
    const cluster = new ClusterHub({ settings: c, nodeId, url: c.url, local, providers: providers.length ? providers : DEFAULT_MODEL.providers, seed: config.streams, log });
    const jobs = new JobQueue(c.redis);
    server = await startServer({ config: { ...config, streams: [] }, hub: cluster, cluster, jobs, version: packageVersion(), log });
    await cluster.start(server.url);
    process.stdout.write(`streamlens node ${nodeId} of the cluster at ${redactUrl(c.redis)} serving on ${server.url} (WebSocket ${server.url.replace(/^http/, 'ws')}/ws)\n`);
  } else {
    const streamState = config.stateFile ? new StreamStateFile(config.stateFile, { context: streamContext(config), log }) : undefined;
    server = await startServer({ config, hub: local, version: packageVersion(), log, streamState });
    process.stdout.write(`streamlens serving ${server.hub.ids().length} stream(s) on ${server.url} (WebSocket ${server.url.replace(/^http/, 'ws')}/ws)\n`);
    process.stdout.write(streamState ? `streams added, changed or removed over the API are kept in ${streamState.location}\n` : 'streams added over the API are not kept after the server stops (no config file)\n');
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: no more waiting, but still no ffmpeg left behind.
        log.warn({ signal }, 'second signal: killing ffmpeg children and exiting now');
        killAllFfmpeg('SIGKILL');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long: killing ffmpeg children and exiting');
        killAllFfmpeg('SIGKILL');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS);
      force.unref();
      server.close().then(
        () => {
          clearTimeout(force);
          log.info({ signal, ffmpegChildren: liveFfmpegChildren() }, 'stopped');
          resolve(0);
        },
        (err: unknown) => {
          clearTimeout(force);
          log.error({ err }, 'shutdown failed');
          killAllFfmpeg('SIGKILL');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const command: Command = {
  summary: 'run the live server (built-in demo without --config)',
  help,
  run,
};
