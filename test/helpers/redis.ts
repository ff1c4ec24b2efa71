/**
 * A real Redis for tests: Debian's redis-server (scripts/install-test-deps.sh) on 127.0.0.1, on a
 * free port, without persistence (a restart loses everything, as a cache-configured Redis does),
 * restartable on the same port (a Redis outage mid-run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS = process.env.REDIS_SERVER_PATH || '/usr/bin/redis-server';
/** util-linux's setpriv: the server gets SIGKILL when the test worker dies, so none is left holding a port. */
const SETPRIV = '/usr/bin/setpriv';

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

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startRedis(opts: { timeoutMs?: number } = {}): Promise<RedisServer> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = existsSync(SETPRIV) ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', REDIS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(REDIS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(c);
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      void gone.then(() => running.delete(c));
      const keep = (chunk: Buffer): void => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      };
      c.stdout!.on('data', keep);
      c.stderr!.on('data', keep);
      let up = false;
      while (!up && c.exitCode === null && c.signalCode === null && Date.now() < deadline) {
        up = await accepts(port);
        if (!up) await new Promise((r) => setTimeout(r, 50));
      }
      if (up && c.exitCode === null) {
        child = c;
        exited = gone;
        return;
      }
      c.kill('SIGKILL');
      await gone;
      if (Date.now() >= deadline) throw new Error(`redis-server did not start on port ${port}: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => child?.pid,
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      child = undefined;
    },
    start: launch,
    async close() {
      await this.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
