/**
 * A real server binary for tests (redis-server, mosquitto) on 127.0.0.1 on a free port, in a
 * folder of its own, restartable on the same port (an outage mid-run). Ready when the port
 * accepts; a server that exited could not bind (a previous one still holds the port), so it is
 * tried again until the deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../bench/freePort.js';

/** util-linux's setpriv: the server gets SIGKILL when the test worker dies, so none is left holding a port. */
const SETPRIV = '/usr/bin/setpriv';

export interface LocalDaemon {
  readonly port: number;
  /** Its own folder (removed by close()). */
  readonly dir: string;
  pid(): number | undefined;
  /** SIGTERM and wait for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()). */
  start(): Promise<void>;
  /** stop() and remove its folder. */
  close(): Promise<void>;
  /** The last 4000 characters it wrote (stdout and stderr), for failure messages. */
  log(): string;
}

export interface LocalDaemonOptions {
  /** Names it in errors and its folder. */
  name: string;
  binary: string;
  /** Its command line for this port and folder (called at every start). */
  args(port: number, dir: string): string[];
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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

export async function startLocalDaemon(opts: LocalDaemonOptions): Promise<LocalDaemon> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), `streamlens-${opts.name}-`));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const launch = async (): Promise<void> => {
    const args = opts.args(port, dir);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
      const c = existsSync(SETPRIV) ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', opts.binary, ...args], { stdio }) : spawn(opts.binary, args, { stdio });
      running.add(c);
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      void gone.then(() => running.delete(c));
      const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString()).slice(-4000);
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
      if (Date.now() >= deadline) throw new Error(`${opts.name} did not start on port ${port}: ${output.trim()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  await launch();
  return {
    port,
    dir,
    pid: () => child?.pid,
    stop,
    start: launch,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
