import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';
import type { RtspServer } from './helpers/rtspServer.js';
import { startRtspServer } from './helpers/rtspServer.js';

/**
 * Reads `frames` frames over RTSP with ffmpeg; resolves with the number of whole frames received.
 * `onData` is called when the first bytes arrive. The deadline is generous: a loaded machine is slow.
 */
function readFrames(url: string, frames: number, onData?: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), ['-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-frames:v', String(frames), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let stderr = '';
    const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      if (bytes === 0) onData?.();
      bytes += d.length;
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (code === 0) resolve(Math.floor(bytes / (640 * 480 * 3)));
      else reject(new Error(`ffmpeg reading ${url} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}

function connectError(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('RTSP test server fixture', () => {
  const servers: RtspServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('serves the clip, stops, and restarts on the same port', async () => {
    const first = await startRtspServer();
    servers.push(first);
    expect(first.url).toBe(`rtsp://127.0.0.1:${first.port}/stream`);
    expect(await readFrames(first.url, 10)).toBe(10);
    await first.stop();
    expect(await connectError(first.port)).toBe('ECONNREFUSED');

    const second = await startRtspServer({ port: first.port, path: 'cam' });
    servers.push(second);
    expect(second.url).toBe(`rtsp://127.0.0.1:${first.port}/cam`);
    expect(await readFrames(second.url, 5)).toBe(5);

    // Killed while a client reads: that stream ends; restarted at once on the same port, it serves again.
    let reading!: () => void;
    const started = new Promise<void>((resolve) => (reading = resolve));
    const reader = readFrames(second.url, 1000, reading).catch(() => -1);
    await started;
    second.kill();
    const third = await startRtspServer({ port: first.port, path: 'cam' });
    servers.push(third);
    expect(await reader).toBeLessThan(1000);
    expect(await readFrames(third.url, 5)).toBe(5);
  }, 600_000);

  it('reports a port that is taken', async () => {
    const owner = await startRtspServer();
    servers.push(owner);
    await expect(startRtspServer({ port: owner.port, busyRetryMs: 0 })).rejects.toThrow(/cannot listen on 127\.0\.0\.1/);
  });

  it('refuses a file that is not an H.264 MP4, with the reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rtsp-'));
    try {
      const bogus = join(dir, 'not-video.mp4');
      await writeFile(bogus, 'hello\n');
      await expect(startRtspServer({ file: bogus })).rejects.toThrow(/cannot read .*not-video\.mp4/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
