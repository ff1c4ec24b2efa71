/**
 * Issue 8: graceful shutdown of the real CLI on SIGINT and SIGTERM. With a file stream (video),
 * a stream probing a silent RTSP server and WebSocket clients: the server stops accepting, the
 * clients get 1001, the log ends with complete JSON lines ('shutting down', 'stopped'), the
 * process exits 0 and every ffmpeg/ffprobe child it had is gone (pids from pgrep -P, checked
 * dead; no process anywhere still reads this test's media folder). SIGKILLed, it runs no handler:
 * its children still exit (the watchdog of src/ingest/childWatchdog.ts, issue 13).
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilentServer, type SilentServer } from './helpers/silentServer.js';
import WebSocket from 'ws';
import { startServeCli } from './helpers/serveCli.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { alive, childPids } from './helpers/processes.js';

let dir: string;
let model: string;
let silent: SilentServer | undefined;
let silentPort: number;

beforeAll(async () => {
  const [clip, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  model = m;
  dir = mkdtempSync(join(tmpdir(), 'streamlens-shutdown-'));
  copyFileSync(clip.video, join(dir, 'clip.mp4'));
  silent = await startSilentServer();
  silentPort = silent.port;
});

afterAll(async () => {
  await silent?.close();
});

function ffmpegChildren(pid: number): number[] {
  return childPids(pid).filter((p) => {
    try {
      return /ffmpeg|ffprobe/.test(readFileSync(`/proc/${p}/comm`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/** Processes anywhere whose command line names `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    if (p === process.pid) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

describe.each(['SIGINT', 'SIGTERM'] as const)('streamlens serve, %s', (signal) => {
  it('stops accepting, closes WebSockets with 1001, flushes logs, exits 0, leaves no ffmpeg', async () => {
    const file = join(dir, `${signal}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        server: { mediaFolders: [dir] },
        models: { [model]: { intraOpThreads: 1 } },
        streams: [
          { id: 'file', url: join(dir, 'clip.mp4'), loop: true, realtime: true, video: true },
          { id: 'file2', url: join(dir, 'clip.mp4'), loop: true, realtime: true, video: false },
          // The open of this one waits on the silent server (ffmpeg, until its socket timeout): a child at shutdown.
          { id: 'silent', url: `rtsp://127.0.0.1:${silentPort}/cam`, probeTimeoutMs: 60_000 },
        ],
      }),
    );
    const server = await startServeCli(['--config', file, '--port', '0'], { logLevel: 'info', timeoutMs: 30_000 });
    const { child, url } = server;
    try {
      const clients = await Promise.all(
        [true, false].map(async (video) => {
          const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
          const state = { ws, detections: 0, code: undefined as number | undefined };
          ws.on('message', (data, isBinary) => {
            if (!isBinary && JSON.parse(data.toString()).type === 'detections') state.detections++;
          });
          ws.on('close', (code) => (state.code = code));
          await new Promise((r) => ws.once('open', r));
          ws.send(JSON.stringify({ type: 'subscribe', streams: ['file', 'file2'], video }));
          return state;
        }),
      );
      const until = Date.now() + 30_000;
      // The children seen together: the camera's open can end at its socket timeout and be retried,
      // so a second look could miss it.
      let kids: number[] = [];
      while ((clients.some((c) => c.detections < 5) || (kids = ffmpegChildren(child.pid!)).length < 3) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(clients.every((c) => c.detections >= 5)).toBe(true);
      expect(kids.length).toBeGreaterThanOrEqual(3); // two decoders + the one opening the silent camera

      const t0 = Date.now();
      child.kill(signal);
      const { code, signal: sig } = await Promise.race([server.exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no exit within 25 s')), 25_000))]);
      const shutdownMs = Date.now() - t0;
      console.log(`${signal}: exited after ${shutdownMs} ms`);
      expect({ code, sig }).toEqual({ code: 0, sig: null });
      expect(shutdownMs).toBeLessThan(15_000);
      for (const c of clients) expect(c.code).toBe(1001);
      // Stopped accepting: nothing listens there any more.
      await expect(fetch(url + '/healthz', { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
      // Every child it had is gone, and nothing else reads the test's files.
      for (const pid of kids) expect(alive(pid), `ffmpeg ${pid}`).toBe(false);
      expect(processesMentioning(dir)).toEqual([]);
      // Logs flushed: complete JSON lines, ending with the shutdown.
      const stderr = server.stderr();
      const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.msg === 'shutting down')).toMatchObject({ level: 'info', signal });
      expect(lines.at(-1)).toMatchObject({ msg: 'stopped', signal, ffmpegChildren: 0 });
      expect(stderr.endsWith('\n')).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('streamlens serve, SIGKILL (issue 13)', () => {
  it('no exit handler runs, yet every ffmpeg it had (decoders and one opening a silent camera) exits', async () => {
    const file = join(dir, 'SIGKILL.json');
    writeFileSync(
      file,
      JSON.stringify({
        server: { mediaFolders: [dir] },
        models: { [model]: { intraOpThreads: 1 } },
        streams: [
          { id: 'file', url: join(dir, 'clip.mp4'), loop: true, realtime: true, video: true },
          { id: 'silent', url: `rtsp://127.0.0.1:${silentPort}/cam`, probeTimeoutMs: 60_000 },
        ],
      }),
    );
    const server = await startServeCli(['--config', file, '--port', '0'], { timeoutMs: 30_000 });
    const { child } = server;
    try {
      const until = Date.now() + 30_000;
      let kids: number[] = [];
      while ((kids = ffmpegChildren(child.pid!)).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(kids.length).toBeGreaterThanOrEqual(2); // the file's decoder + the one waiting on the silent camera
      child.kill('SIGKILL');
      expect((await server.exited).signal).toBe('SIGKILL');
      const end = Date.now() + 10_000;
      while (kids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(kids.filter(alive)).toEqual([]);
      expect(processesMentioning(dir)).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
