import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, FrameDecoder } from '../src/ingest/decoder.js';
import { ffmpegPath, liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import { probeSource } from '../src/ingest/probe.js';
import { startRtspServer, type RtspServer } from './helpers/rtspServer.js';
import { startMutedRtspServer } from './helpers/mutedRtspServer.js';
import { startSilentServer } from './helpers/silentServer.js';
import { bundledFfmpegPath } from '../src/ingest/binaries.js';

let dir: string;
let server: RtspServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-rtsp-'));
  const file = join(dir, 'cam.mp4');
  execFileSync(ffmpegPath(), [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-bf', '0', '-pix_fmt', 'yuv420p', file,
  ]);
  server = await startRtspServer({ file });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('RTSP ingest (GStreamer RTSP server)', () => {
  it('probes as a live source, decodes letterboxed frames with JPEGs and rising pts, ends when the server dies', async () => {
    const info = await probeSource(server.url, { timeoutMs: 10_000 });
    expect(info).toMatchObject({ width: 640, height: 360, isFile: false, codec: 'h264', frameCount: undefined });
    const d = new FrameDecoder({
      streamId: 'cam', url: server.url, info, dstWidth: 320, dstHeight: 320, jpeg: { quality: 70 }, startSeq: 7, socketTimeoutMs: 2000,
    });
    const it = d.frames();
    let lastPts = -Infinity;
    for (let i = 0; i < 10; i++) {
      const { value: f, done } = await it.next();
      expect(done).toBe(false);
      expect([f.index, f.seq]).toEqual([i, 7 + i]);
      expect(f.letterbox).toMatchObject({ resizedWidth: 320, resizedHeight: 180, padY: 70 });
      expect(f.pts).toBeGreaterThan(lastPts);
      expect(f.jpeg?.[0]).toBe(0xff);
      lastPts = f.pts;
    }
    const pid = d.pid as number;
    server.kill();
    const t0 = Date.now();
    // Drain what was in flight; the run must then end (cleanly or with a DecodeError), not hang.
    const end = await (async () => {
      try {
        for (;;) if ((await it.next()).done) return 'ended';
      } catch (err) {
        return err instanceof DecodeError ? 'DecodeError' : String(err);
      }
    })();
    expect(['ended', 'DecodeError']).toContain(end);
    // Not hanging (15 x the 2 s socket timeout), however slowly a loaded machine reaps ffmpeg.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(liveFfmpegChildren()).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('a server that accepts and never answers: ffmpeg gives up at the socket timeout (-stimeout), no hang', async () => {
    const silent = await startSilentServer();
    const url = `rtsp://127.0.0.1:${silent.port}/cam`;
    const info = { url, width: 640, height: 360, fps: 25, codec: 'h264', isFile: false };
    const d = new FrameDecoder({ streamId: 'cam', url, info, dstWidth: 320, dstHeight: 320, socketTimeoutMs: 1000 });
    const t0 = Date.now();
    try {
      const err = await d.frames().next().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as Error).message).toMatch(/^no video from rtsp:\/\/127\.0\.0\.1:\d+\/cam within 1000 ms \(ffmpeg exited with code 1: Invalid data found when processing input\)$/);
      // The message says the 1 s socket timeout ended it; this only catches a hang (without the
      // timeout ffmpeg waits on this server for good), not a loaded machine's slow ffmpeg start.
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(liveFfmpegChildren()).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it.each([
    ['bundled ffmpeg (2018)', () => bundledFfmpegPath()],
    ["Debian's ffmpeg", () => '/usr/bin/ffmpeg'],
  ])('a camera that describes its stream and never sends it is a TIMEOUT, not a clean end (%s)', async (_name, binary) => {
    const muted = await startMutedRtspServer('hevc', 320, 240);
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = binary();
    try {
      const d = new FrameDecoder({ streamId: 'cam', url: muted.url, dstWidth: 320, dstHeight: 320, socketTimeoutMs: 1000 });
      const info = await d.open();
      // The SDP alone describes the stream; the video never comes.
      expect(info).toMatchObject({ width: 320, height: 240, codec: 'hevc', isFile: false });
      expect(muted.plays()).toBe(1);
      const err = await d.frames().next().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).code).toBe('TIMEOUT');
      expect((err as Error).message).toMatch(/^no video from rtsp:\/\/127\.0\.0\.1:\d+\/cam within 1000 ms \(ffmpeg exited with code \d+/);
      expect(liveFfmpegChildren()).toBe(0);
      // Without parameter sets that give the size, the open itself times out, with the same words.
      const h264 = await startMutedRtspServer('h264', 320, 240);
      try {
        const early = await new FrameDecoder({ streamId: 'cam', url: h264.url, dstWidth: 320, dstHeight: 320, socketTimeoutMs: 1000 }).open().then(() => undefined, (e: unknown) => e);
        expect((early as DecodeError).code).toBe('TIMEOUT');
        expect((early as Error).message).toMatch(/^no video from rtsp:\/\/127\.0\.0\.1:\d+\/cam within 1000 ms/);
      } finally {
        await h264.close();
      }
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
      await muted.close();
    }
  });
});
