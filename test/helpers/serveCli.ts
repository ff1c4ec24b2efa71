/** `streamlens serve` as users run it: the built CLI in its own process, on 127.0.0.1. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface ServeCli {
  child: ChildProcess;
  /** http://127.0.0.1:PORT as the CLI printed it. */
  url: string;
  port: number;
  /** Everything the server wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the server and resolves once it prints where it listens; kills it if that takes too long. */
export function startServeCli(args: string[], opts: { logLevel?: string; /** Raised to at least 120 s. */ timeoutMs?: number } = {}): Promise<ServeCli> {
  const child = spawn(process.execPath, [cli, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STREAMLENS_LOG_LEVEL: opts.logLevel ?? 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // A hang deadline (never under 120 s): a server start loads a model and spawns ffmpegs, which a
  // loaded machine can slow many times over.
  const timeoutMs = Math.max(opts.timeoutMs ?? 0, 120_000);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not listen within ${timeoutMs} ms:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:(\d+))/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      resolve({ child, url: m[1], port: Number(m[2]), stderr: () => stderr, exited });
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${stderr.slice(-4000)}`));
    });
  });
}
