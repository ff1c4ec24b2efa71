/**
 * Starts test/fixtures/rtsp_server.py (GStreamer RTSP server, Debian packages in
 * test/fixtures/README.md) serving an H.264, H.265 or MJPEG MP4 looped in real time at
 * rtsp://127.0.0.1:PORT/PATH.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ensureDemoClip } from '../../src/tools/synth/generate.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/rtsp_server.py', import.meta.url));
/** Debian's python3 has the GObject bindings; a pyenv `python3` on PATH may not. */
const PYTHON = process.env.RTSP_SERVER_PYTHON || '/usr/bin/python3';

export interface RtspServerOptions {
  /** TCP port; default 0 = a free port chosen by the server (read back from its ready line). */
  port?: number;
  /** H.264, H.265 or MJPEG MP4 to serve; default the cached synthetic demo clip. */
  file?: string;
  /** Mount path without the leading slash; default `stream`. */
  path?: string;
  /** Milliseconds to wait for readiness (GStreamer starts slowly on a loaded machine); default 60000. */
  timeoutMs?: number;
  /** How long a port still held by a just-killed predecessor is retried; default 5000, 0 = once. */
  busyRetryMs?: number;
  /** Each session starts this many access units into the clip (mid-GOP, like joining a camera). */
  startFrame?: number;
  /** Require RTSP authentication (basic unless `auth: 'digest'`). */
  user?: string;
  password?: string;
  auth?: 'basic' | 'digest';
}

export interface RtspServer {
  url: string;
  port: number;
  /** The server process (SIGSTOP freezes it: a camera that hangs with its connections open). */
  pid: number;
  /** SIGTERM, then waits for the process to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** SIGKILL at once, without waiting: a server that dies mid-stream. */
  kill(): void;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Resolves once an RTSP OPTIONS request on the port gets an answer (200; OPTIONS needs no credentials). */
function rtspAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(`OPTIONS rtsp://127.0.0.1:${port}/ RTSP/1.0\r\nCSeq: 1\r\n\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n\r\n')) done(/^RTSP\/1\.0 200/.test(reply));
    });
  });
}

/** The server could not bind its port (exit code 3), e.g. a killed predecessor still holds it. */
class PortBusyError extends Error {}

interface Launched {
  child: ChildProcess;
  exited: Promise<void>;
  port: number;
}

async function launch(args: string[], timeoutMs: number): Promise<Launched> {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });

  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onError = (err: Error): void => fail(new Error(`rtsp_server: ${err.message}`));
    const onExit = (code: number | null, signal: string | null): void => {
      const why = `rtsp_server: exited (${signal ?? code}) before it was ready${stderr ? `: ${stderr.trim()}` : ''}`;
      fail(code === 3 ? new PortBusyError(why) : new Error(why));
    };
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /READY rtsp:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (!m) return;
      settle();
      resolve(Number(m[1]));
    };
    const settle = (): void => {
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
      child.stdout.off('data', onData);
    };
    const fail = (err: Error): void => {
      settle();
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`rtsp_server: not ready after ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`)), timeoutMs);
    child.on('error', onError);
    child.on('exit', onExit);
    child.stdout.on('data', onData);
  });
  child.stdout.resume();

  if (!(await rtspAnswers(port))) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`rtsp_server: port ${port} does not answer RTSP OPTIONS`);
  }
  return { child, exited, port };
}

export async function startRtspServer(opts: RtspServerOptions = {}): Promise<RtspServer> {
  const file = opts.file ?? (await ensureDemoClip()).video;
  const path = opts.path ?? 'stream';
  const args = ['--file', file, '--port', String(opts.port ?? 0), '--path', path];
  if (opts.startFrame) args.push('--start-frame', String(opts.startFrame));
  if (opts.user !== undefined) args.push('--user', opts.user, '--password', opts.password ?? '', '--auth', opts.auth ?? 'basic');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const busyUntil = Date.now() + (opts.busyRetryMs ?? 5000);
  let launched: Launched;
  for (;;) {
    try {
      launched = await launch(args, timeoutMs);
      break;
    } catch (err) {
      // Restarting right after kill(): the old process may not have released the port yet.
      if (!(err instanceof PortBusyError) || Date.now() > busyUntil) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const { child, exited, port } = launched;

  return {
    url: `rtsp://127.0.0.1:${port}/${path}`,
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
