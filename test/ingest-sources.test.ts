/**
 * Issue 13, real sources of every kind, opened as each kind is (docs/sources.md): files over HTTP
 * (mp4, webm, a URL that names no extension), MJPEG cameras with and without Content-Length (with
 * the bundled 2018 ffmpeg and Debian's), HLS recordings that end or loop, live HLS that starts at
 * the live edge and stalls without replaying stale segments, live MPEG-TS over HTTP, RTSP with
 * refused credentials (basic and digest) and a camera that freezes with its connection open.
 * Servers are real (node:http in this process, the GStreamer RTSP fixture); ffmpeg is real.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledFfmpegPath } from '../src/ingest/binaries.js';
import { DecodeError } from '../src/ingest/decoder.js';
import { liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import { ffmpegSources } from '../src/ingest/ffmpegSource.js';
import type { FrameSource, SourceRequest } from '../src/ingest/source.js';
import { SourceError } from '../src/ingest/probe.js';
import type { Frame } from '../src/types.js';
import { generateClip } from '../src/tools/synth/index.js';
import { startHttpSources, type HttpSources } from '../bench/sourceServers.js';
import { startRtspServer } from './helpers/rtspServer.js';
import { rgbAt, wrapImage } from '../src/output/render/image.js';

const SYSTEM_FFMPEG = '/usr/bin/ffmpeg';
const FFMPEGS = [
  ['bundled ffmpeg (2018)', bundledFfmpegPath()],
  ["Debian's ffmpeg", SYSTEM_FFMPEG],
] as const;

let dir: string;
let clip: string;
let webm: string;
let segments: string[];
let http: HttpSources;
/** Frames in the clip, counted by decoding the local file. */
let clipFrames: number;

function ffmpeg(...args: string[]): void {
  execFileSync(SYSTEM_FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { timeout: 120_000 });
}

/** Runs `fn` with FFMPEG_PATH set to `binary` (ingest reads it at each spawn). */
async function withFfmpeg<T>(binary: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.FFMPEG_PATH;
  process.env.FFMPEG_PATH = binary;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
  }
}

const OUTPUT = { width: 320, height: 320 };

/** Opens as a running stream does: the output known at open (a live source opens once). */
function open(url: string, extra: Partial<SourceRequest> = {}): Promise<FrameSource> {
  return ffmpegSources.open({ streamId: 't', url, output: OUTPUT, openTimeoutMs: 20_000, ...extra });
}

/** Pulls up to `max` frames (all when undefined); the error, if the frames end with one. */
async function pull(source: FrameSource, max?: number): Promise<{ frames: Frame[]; error?: unknown }> {
  const frames: Frame[] = [];
  try {
    for await (const f of source.frames(OUTPUT)) {
      frames.push(f);
      if (max !== undefined && frames.length >= max) break;
    }
  } catch (error) {
    return { frames, error };
  } finally {
    await source.stop();
  }
  return { frames };
}

function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-sources-'));
  clip = (await generateClip({ out: join(dir, 'clip.mp4'), seed: 21, seconds: 4, targets: 5, width: 320, height: 240 })).video;
  clipFrames = 60;
  webm = join(dir, 'clip.webm');
  ffmpeg('-i', clip, '-c:v', 'libvpx', '-b:v', '800k', '-deadline', 'realtime', '-cpu-used', '8', webm);
  // One-second MPEG-TS segments (the clip has a keyframe every second).
  ffmpeg('-i', clip, '-c', 'copy', '-f', 'segment', '-segment_time', '1', '-reset_timestamps', '0', join(dir, 'seg%d.ts'));
  segments = readdirSync(dir).filter((f) => /^seg\d+\.ts$/.test(f)).sort((a, b) => Number(a.slice(3, -3)) - Number(b.slice(3, -3))).map((f) => join(dir, f));
  ffmpeg('-i', clip, '-frames:v', '8', '-q:v', '5', join(dir, 'j%d.jpg'));
  const jpegs = Array.from({ length: 8 }, (_, i) => readFileSync(join(dir, `j${i + 1}.jpg`)));
  http = await startHttpSources({
    files: { '/clip.mp4': clip, '/clip.webm': webm, '/download': clip },
    mjpeg: {
      '/mjpeg': { jpegs, fps: 15 },
      '/mjpeg-cl': { jpegs, fps: 15, contentLength: true },
      '/mjpeg-auth': { jpegs, fps: 15, auth: { user: 'admin', password: 'pw' } },
    },
    hlsVod: { '/vod.m3u8': { segments, segmentSeconds: 1 } },
    hlsLive: { '/live.m3u8': { segments, segmentSeconds: 1, window: 3 } },
    liveTs: { '/live.ts': clip },
  });
});

afterAll(async () => {
  await http?.close();
});

describe('files over HTTP are files', () => {
  it.each(['/clip.mp4', '/clip.webm', '/download'])('%s: every frame, finite, no live options', async (path) => {
    const source = await open(http.url(path));
    expect(source.info.type).toBe('http-file');
    expect(source.info).toMatchObject({ width: 320, height: 240, isFile: true });
    const { frames, error } = await pull(source);
    expect(error).toBeUndefined();
    expect(frames.length).toBe(clipFrames);
    for (let i = 1; i < frames.length; i++) expect(frames[i].pts).toBeGreaterThan(frames[i - 1].pts);
    expect(liveFfmpegChildren()).toBe(0);
  });

  it('loops when asked (looping re-reads the file over HTTP)', async () => {
    const { frames } = await pull(await open(http.url('/clip.webm'), { loop: true }), clipFrames + 20);
    expect(frames.length).toBe(clipFrames + 20);
  });
});

describe.each(FFMPEGS)('MJPEG cameras with the %s', (_name, binary) => {
  it.each(['/mjpeg', '/mjpeg-cl'])('%s streams (parts with and without Content-Length), camera-clock pts', async (path) => {
    await withFfmpeg(binary, async () => {
      const source = await open(http.url(path), { jpeg: { quality: 70 } });
      expect(source.info.type).toBe('mjpeg');
      expect(source.info).toMatchObject({ width: 320, height: 240, codec: 'mjpeg', isFile: false });
      const t0 = performance.now();
      const { frames, error } = await pull(source, 20);
      const seconds = (performance.now() - t0) / 1000;
      expect(error).toBeUndefined();
      expect(frames).toHaveLength(20);
      expect(frames.every((f) => f.jpeg && f.jpeg.length > 0)).toBe(true);
      // Arrival time is the clock: 19 intervals of a 15 fps camera span about 1.27 s of pts.
      const span = frames[19].pts - frames[0].pts;
      expect(span).toBeGreaterThan(0.8);
      expect(span).toBeLessThan(seconds + 0.5);
    });
  });

  it('a camera that wants credentials: the right ones stream, wrong ones are UNAUTHORIZED at once', async () => {
    await withFfmpeg(binary, async () => {
      const url = http.url('/mjpeg-auth').replace('http://', 'http://admin:pw@');
      const { frames } = await pull(await open(url), 3);
      expect(frames).toHaveLength(3);
      const t0 = performance.now();
      const err = await rejection(open(url.replace(':pw@', ':nope@')));
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).code).toBe('UNAUTHORIZED');
      expect((err as SourceError).message).not.toContain('nope');
      // At once: well inside the 20 s open timeout it would otherwise sit out (ffmpeg's start
      // alone can take seconds on a loaded machine).
      expect(performance.now() - t0).toBeLessThan(10_000);
    });
  });
});

describe('HLS', () => {
  it('a playlist with #EXT-X-ENDLIST is a recording: every frame once, then the end', async () => {
    const source = await open(http.url('/vod.m3u8'));
    expect(source.info.type).toBe('hls-vod');
    expect(source.info.isFile).toBe(true);
    const { frames, error } = await pull(source);
    expect(error).toBeUndefined();
    expect(frames.length).toBe(clipFrames);
  });

  it('a recording loops with loop: true', async () => {
    const { frames } = await pull(await open(http.url('/vod.m3u8'), { loop: true }), clipFrames + 15);
    expect(frames.length).toBe(clipFrames + 15);
  });

  it('live: starts at the newest segment, stalls with a reason when the playlist freezes, and does not replay it', async () => {
    const before = http.log().length;
    const source = await open(http.url('/live.m3u8'));
    expect(source.info.type).toBe('hls-live');
    const listed = source.playlist!;
    const newest = listed.mediaSequence + listed.segments.length - 1;
    const firstSegment = http.log().slice(before).find((p) => p.endsWith('.ts'));
    // The live edge: the newest listed segment (ffmpeg's default would start three back).
    expect(Number(/seg(\d+)\.ts$/.exec(firstSegment!)![1])).toBeGreaterThanOrEqual(newest);

    const frames: Frame[] = [];
    let error: unknown;
    const t0 = performance.now();
    try {
      for await (const f of source.frames(OUTPUT)) {
        frames.push(f);
        if (frames.length === 20) http.freeze('/live.m3u8');
      }
    } catch (e) {
      error = e;
    }
    expect(frames.length).toBeGreaterThanOrEqual(20);
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe('STALLED');
    expect((error as Error).message).toMatch(/HLS playlist stopped advancing \(no new segment for \d+ s; media sequence \d+/);
    expect(performance.now() - t0).toBeLessThan(20_000);

    // Opening again while frozen: refused, and no segment is fetched (nothing stale is played).
    const at = http.log().length;
    const err = await rejection(open(http.url('/live.m3u8'), { previousPlaylist: source.playlist }));
    expect((err as SourceError).code).toBe('STALLED');
    expect(http.log().slice(at).filter((p) => p.endsWith('.ts'))).toEqual([]);

    // The encoder is back: a new segment, and the stream opens again.
    http.resume('/live.m3u8');
    const deadline = performance.now() + 10_000;
    let again: FrameSource | undefined;
    while (!again && performance.now() < deadline) {
      again = await open(http.url('/live.m3u8'), { previousPlaylist: source.playlist }).catch(async () => {
        await new Promise((r) => setTimeout(r, 300));
        return undefined;
      });
    }
    expect(again).toBeDefined();
    expect((await pull(again!, 5)).frames).toHaveLength(5);
  });
});

describe('live MPEG-TS over HTTP', () => {
  it('opens without a probe, joins mid-stream, streams', async () => {
    const source = await open(http.url('/live.ts'));
    expect(source.info.type).toBe('http-live');
    expect(source.info).toMatchObject({ width: 320, height: 240, codec: 'h264', isFile: false });
    const { frames, error } = await pull(source, 10);
    expect(error).toBeUndefined();
    expect(frames).toHaveLength(10);
  });

  it('hands out source frames when asked (motion regions): opened once more, once its size is known', async () => {
    const source = await open(http.url('/live.ts'), { source: true });
    const { frames, error } = await pull(source, 3);
    expect(error).toBeUndefined();
    expect(frames).toHaveLength(3);
    for (const f of frames) {
      expect(f.source).toMatchObject({ width: 320, height: 240 });
      // yuv420p: a full-size luma plane and two quarter-size chroma planes.
      expect(f.source!.yuv.length).toBe(320 * 240 * 1.5);
      // The same picture as the letterboxed model input: its centre pixel, within scaling and
      // chroma-subsampling error.
      const lb = f.letterbox;
      const src = rgbAt(wrapImage(320, 240, f.source!.yuv, f.source!.matrix), 160, 120);
      const inp = ((Math.round(120 * lb.scale + lb.padY) * lb.dstWidth) + Math.round(160 * lb.scale + lb.padX)) * 3;
      for (let c = 0; c < 3; c++) expect(Math.abs(src[c]! - f.rgb[inp + c]!)).toBeLessThanOrEqual(40);
    }
  });
});

describe.each(FFMPEGS)('RTSP with the %s', (_name, binary) => {
  it.each(['basic', 'digest'] as const)('%s auth: right credentials stream; a wrong password is UNAUTHORIZED, not a timeout', async (auth) => {
    const server = await startRtspServer({ file: clip, user: 'cam', password: 's3cret', auth });
    try {
      await withFfmpeg(binary, async () => {
        const good = server.url.replace('rtsp://', 'rtsp://cam:s3cret@');
        const { frames } = await pull(await open(good), 3);
        expect(frames).toHaveLength(3);
        const t0 = performance.now();
        const err = await rejection(open(good.replace('s3cret', 'wrong')));
        expect(err).toBeInstanceOf(SourceError);
        expect((err as SourceError).code).toBe('UNAUTHORIZED');
        expect((err as Error).message).toMatch(/401 Unauthorized/);
        expect((err as Error).message).not.toContain('wrong');
        expect(performance.now() - t0).toBeLessThan(10_000); // half the open timeout it would sit out
      });
    } finally {
      await server.stop();
    }
  });

  it.each([
    ['H.265', 'hevc', ['-c:v', 'libx265', '-x265-params', 'log-level=error', '-g', '15', '-bf', '0', '-tag:v', 'hvc1']],
    // RTP/JPEG carries no Huffman tables: a camera's JPEGs use the standard ones (-huffman default).
    ['MJPEG', 'mjpeg', ['-c:v', 'mjpeg', '-huffman', 'default', '-pix_fmt', 'yuvj420p', '-q:v', '5']],
  ])('%s over RTSP streams, undamaged', async (_codec, codec, encode) => {
    const file = join(dir, `rtsp-${codec}.mp4`);
    if (!existsSync(file)) ffmpeg('-i', clip, ...encode, '-an', file);
    const server = await startRtspServer({ file });
    try {
      await withFfmpeg(binary, async () => {
        const source = await open(server.url);
        expect(source.info).toMatchObject({ type: 'rtsp', codec, width: 320, height: 240, isFile: false });
        const { frames, error } = await pull(source, 15);
        expect(error).toBeUndefined();
        expect(frames).toHaveLength(15);
        expect(source.decodeErrors).toBe(0);
      });
    } finally {
      await server.stop();
    }
  });

  it('RTP over UDP streams too', async () => {
    const server = await startRtspServer({ file: clip });
    try {
      await withFfmpeg(binary, async () => {
        const { frames, error } = await pull(await open(server.url, { rtspTransport: 'udp' }), 10);
        expect(error).toBeUndefined();
        expect(frames).toHaveLength(10);
      });
    } finally {
      await server.stop();
    }
  });

  it('a camera that freezes with its TCP connection open is a stall, not "the stream ended"', async () => {
    const server = await startRtspServer({ file: clip });
    try {
      await withFfmpeg(binary, async () => {
        const source = await open(server.url, { socketTimeoutMs: 2000 });
        const frames: Frame[] = [];
        let error: unknown;
        try {
          for await (const f of source.frames(OUTPUT)) {
            frames.push(f);
            if (frames.length === 5) process.kill(server.pid, 'SIGSTOP');
          }
        } catch (e) {
          error = e;
        }
        expect(frames.length).toBeGreaterThanOrEqual(5);
        expect(error).toBeInstanceOf(DecodeError);
        expect((error as DecodeError).code).toBe('STALLED');
        expect((error as Error).message).toMatch(/stopped sending video: no frame for [\d.]+ s/);
      });
    } finally {
      process.kill(server.pid, 'SIGCONT');
      await server.stop();
    }
  });
});
