/**
 * A real Redis for tests: Debian's redis-server (scripts/install-test-deps.sh) on 127.0.0.1, on a
 * free port, without persistence (a restart loses everything, as a cache-configured Redis does),
 * restartable on the same port (a Redis outage mid-run).
 */
import { startLocalDaemon } from './localDaemon.js';

const REDIS = process.env.REDIS_SERVER_PATH || '/usr/bin/redis-server';

export interface RedisServer {
  url: string;
  port: number;
  pid(): number | undefined;
  /** SIGTERM and wait for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()), empty. */
  start(): Promise<void>;
  /** stop() and remove its folder. */
  close(): Promise<void>;
}

export async function startRedis(opts: { timeoutMs?: number } = {}): Promise<RedisServer> {
  const daemon = await startLocalDaemon({
    name: 'redis-server',
    binary: REDIS,
    args: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
    timeoutMs: opts.timeoutMs,
  });
  return { url: `redis://127.0.0.1:${daemon.port}`, port: daemon.port, pid: daemon.pid, stop: daemon.stop, start: daemon.start, close: daemon.close };
}
