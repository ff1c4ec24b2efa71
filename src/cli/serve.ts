/** `streamlens serve`: the live server. Without --config it runs the built-in demo. */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from './main.js';
import { ConfigError, loadConfig, parseConfig, type ServeConfig } from '../config.js';
import { startServer } from '../serve/server.js';
import { createLogger, levelFromEnv } from '../log.js';
import { ensureDemoClip } from '../tools/synth/index.js';
import { ensureModel } from '../tools/modelgen/index.js';

const help = `Usage: streamlens serve [--config <file>] [--host <host>] [--port <port>]

Runs the live server: every configured stream is decoded, run through its model (and tracker)
and broadcast to WebSocket clients at ws://HOST:PORT/ws. HTTP API under /api (docs/protocol.md).
Without --config, serves the built-in demo: a synthetic clip looped in real time with the
project's own detector (both generated on first run).

Options:
  --config <file>   JSON config (docs/configuration.md; examples in streams/)
  --host <host>     listen address (default from config, else 127.0.0.1)
  --port <port>     listen port (default from config, else 8080; 0 = any free port)
  -h, --help        this help

Log level: server.logLevel in the config, or STREAMLENS_LOG_LEVEL=debug|info|warn|error|silent
(overrides the config). Logs are JSON lines on stderr.
Stops gracefully on SIGINT/SIGTERM.`;

/** The demo: the synthetic clip looped in real time through the synthetic detector. */
async function demoConfig(): Promise<ServeConfig> {
  const [clip, model] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  return parseConfig(
    {
      server: { mediaFolders: [dirname(clip.video)] },
      models: { [model]: { maxBatch: 4, maxWaitMs: 5 } },
      streams: [{ id: 'demo', url: clip.video, loop: true, realtime: true, video: true }],
    },
    process.cwd(),
  );
}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } } }));
  } catch (err) {
    process.stderr.write(`streamlens serve: ${(err as Error).message}\n`);
    return 2;
  }
  let config: ServeConfig;
  try {
    config = values.config ? loadConfig(values.config) : await demoConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`streamlens serve: invalid config ${values.config ?? '(demo)'}:\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (values.host) config.server.host = values.host;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`streamlens serve: --port must be an integer in [0, 65535], got "${values.port}"\n`);
      return 2;
    }
    config.server.port = port;
  }

  // STREAMLENS_LOG_LEVEL overrides server.logLevel.
  const log = createLogger({}, levelFromEnv(config.server.logLevel));
  const server = await startServer({ config, version: version(), log });
  process.stdout.write(`streamlens serving ${config.streams.length} stream(s) on ${server.url} (WebSocket ${server.url.replace(/^http/, 'ws')}/ws)\n`);

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'shutting down');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
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
