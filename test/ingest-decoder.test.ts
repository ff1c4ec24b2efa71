import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, FrameDecoder, type FrameDecoderOptions } from '../src/ingest/decoder.js';
import { ffmpegPath, liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import { probeSource } from '../src/ingest/probe.js';
import { percentile } from '../src/percentile.js';
import type { Frame } from '../src/types.js';

const VTEST = fileURLToPath(new URL('../../shared/data/vtest.avi', import.meta.url));
const SCALE_FLAGS = 'bilinear+accurate_rnd+full_chroma_int';
let dir: string;

function ffmpeg(...args: string[]): Buffer {
  return execFileSync(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { maxBuffer: 1 << 30 });
}

/** A lossless clip from a lavfi source (FFV1 keeps odd sizes and exact pixels). */
function clip(name: string, source: string, seconds: number): string {
  const path = join(dir, name);
  ffmpeg('-f', 'lavfi', '-i', source, '-t', String(seconds), '-c:v', 'ffv1', path);
  return path;
}

/** One second of a 10 fps H.264 test pattern as MPEG-TS, its timestamps starting at `offsetSeconds`. */
function tsSegment(name: string, size: string, offsetSeconds: number): Buffer {
  const path = join(dir, name);
  ffmpeg('-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=10`, '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-output_ts_offset', String(offsetSeconds), '-f', 'mpegts', path);
  return readFileSync(path);
}

async function decoder(url: string, opts: Partial<FrameDecoderOptions> = {}): Promise<FrameDecoder> {
  const info = await probeSource(url);
  return new FrameDecoder({ streamId: 'test', url, info, dstWidth: 640, dstHeight: 640, ...opts });
}

async function collect(d: FrameDecoder): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of d.frames()) frames.push(f);
  return frames;
}

function pixel(f: Frame, x: number, y: number): number[] {
  const o = (y * f.letterbox.dstWidth + x) * 3;
  return [f.rgb[o], f.rgb[o + 1], f.rgb[o + 2]];
}

function rowIsPad(f: Frame, y: number): boolean {
  const w = f.letterbox.dstWidth;
  return f.rgb.subarray(y * w * 3, (y + 1) * w * 3).every((v) => v === 114);
}

function columnIsPad(f: Frame, x: number): boolean {
  for (let y = 0; y < f.letterbox.dstHeight; y++) if (pixel(f, x, y).some((v) => v !== 114)) return false;
  return true;
}

/**
 * Takes `count` frames, waiting `delayMs` after each (checking they come in order), then stops:
 * the most bytes the decoder held and what ffmpeg had written by then (/proc/pid/io wchar).
 * `settledAt`: before that last reading, wait (at most 10 s) until the decoder holds this many
 * bytes, so a slow (niced, loaded) ffmpeg has caught up with what it is allowed to decode.
 */
async function consumeSlowly(
  d: FrameDecoder,
  count: number,
  delayMs: number,
  opts: { each?: (taken: number, pid: number) => void; settledAt?: number } = {},
): Promise<{ frames: number; maxBuffered: number; written: number; pid: number }> {
  let frames = 0;
  let maxBuffered = 0;
  let written = 0;
  let pid = 0;
  for await (const f of d.frames()) {
    expect(f.index).toBe(frames);
    pid = d.pid as number;
    opts.each?.(frames + 1, pid);
    await new Promise((r) => setTimeout(r, delayMs));
    maxBuffered = Math.max(maxBuffered, d.bufferedBytes);
    if (++frames === count) {
      const end = Date.now() + 10_000;
      while (opts.settledAt !== undefined && d.bufferedBytes < opts.settledAt && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      maxBuffered = Math.max(maxBuffered, d.bufferedBytes);
      written = Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
      break;
    }
  }
  return { frames, maxBuffered, written, pid };
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-decode-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FrameDecoder', () => {
  it('decodes all 795 frames of vtest.avi in order, letterboxed 768x576 -> 640x640', async () => {
    const d = await decoder(VTEST, { startSeq: 1000 });
    const t0 = performance.now();
    let n = 0;
    for await (const f of d.frames()) {
      expect(f.index).toBe(n);
      expect(f.seq).toBe(1000 + n);
      expect(f.pts).toBeCloseTo(n / 10, 9);
      expect(f.rgb.length).toBe(640 * 640 * 3);
      // Each frame owns its memory, so it can be transferred to a worker without a copy.
      expect(f.rgb.byteOffset).toBe(0);
      expect(f.rgb.buffer.byteLength).toBe(f.rgb.length);
      if (n === 0) {
        expect(f.streamId).toBe('test');
        expect(f.letterbox.scale).toBeCloseTo(0.833333, 6);
        expect(f.letterbox).toMatchObject({ srcWidth: 768, srcHeight: 576, resizedWidth: 640, resizedHeight: 480, padX: 0, padY: 80 });
        expect(rowIsPad(f, 79) && rowIsPad(f, 560)).toBe(true);
        expect(rowIsPad(f, 80) || rowIsPad(f, 559)).toBe(false);
      }
      n++;
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`vtest.avi -> 640x640 rgb24: ${n} frames in ${seconds.toFixed(2)} s = ${(n / seconds).toFixed(0)} fps`);
    expect(n).toBe(795);
    expect(liveFfmpegChildren()).toBe(0);
  });

  it('backpressure: a slow consumer gets every frame, ffmpeg waits on the pipe, memory stays flat', async () => {
    const d = await decoder(VTEST);
    const frameBytes = 640 * 640 * 3;
    let rssAt10 = 0;
    const r = await consumeSlowly(d, 50, 20, {
      each: (n) => {
        if (n === 10) rssAt10 = process.memoryUsage().rss;
      },
    });
    const rssGrowthMb = (process.memoryUsage().rss - rssAt10) / 2 ** 20;
    expect(r.frames).toBe(50);
    expect(r.maxBuffered).toBeLessThanOrEqual(2 * frameBytes);
    // Bytes ffmpeg has written so far (stdout + stderr): only a few frames beyond what we took.
    expect(r.written).toBeGreaterThanOrEqual(50 * frameBytes);
    expect(r.written).toBeLessThan(54 * frameBytes);
    expect(rssGrowthMb).toBeLessThan(40); // 40 frames pass through in this window: 47 MiB if kept
    expect(processGone(r.pid)).toBe(true);
  });

  it('readAhead: ffmpeg decodes that many frames ahead of a slow consumer, then waits; nice is applied', async () => {
    const d = await decoder(VTEST, { readAhead: 6, nice: 10 });
    const frameBytes = 640 * 640 * 3;
    let niceness = 0;
    const r = await consumeSlowly(d, 30, 40, {
      each: (_n, pid) => {
        // Field 19 of /proc/pid/stat (after the parenthesised command name) is the nice value.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        niceness = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      },
      // Niced on a busy machine, ffmpeg may lag: let it fill what it may before measuring.
      settledAt: 6 * frameBytes,
    });
    expect(niceness).toBe(10);
    // Six finished frames wait (plus the partial one), never much more.
    expect(r.maxBuffered).toBeGreaterThanOrEqual(5 * frameBytes);
    expect(r.maxBuffered).toBeLessThanOrEqual(7 * frameBytes);
    expect(r.written).toBeGreaterThanOrEqual(35 * frameBytes);
    expect(r.written).toBeLessThan(40 * frameBytes);
  });

  it('a source that changes resolution mid-stream is letterboxed anew from its first new frame', async () => {
    // Two H.264 segments of different sizes in one MPEG-TS, as a camera that changes its SPS sends.
    // The second segment's timestamps continue where the first one's end.
    const joined = join(dir, 'joined.ts');
    writeFileSync(joined, Buffer.concat([tsSegment('a.ts', '320x240', 0), tsSegment('b.ts', '640x360', 1)]));
    const changes: unknown[] = [];
    const d = await decoder(joined, { dstWidth: 320, dstHeight: 320, onResolutionChange: (c) => changes.push(c) });
    const frames = await collect(d);
    expect(frames.map((f) => f.index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(changes).toEqual([{ fromFrame: 10, width: 640, height: 360, previous: { width: 320, height: 240 } }]);
    // 320x240 -> 320x240 + 40 rows of pad above and below; 640x360 -> 320x180 + 70 rows.
    for (const f of frames.slice(0, 10)) expect(f.letterbox).toMatchObject({ srcWidth: 320, srcHeight: 240, resizedHeight: 240, padY: 40 });
    for (const f of frames.slice(10)) expect(f.letterbox).toMatchObject({ srcWidth: 640, srcHeight: 360, resizedWidth: 320, resizedHeight: 180, padY: 70 });
    const last = frames[19];
    expect(rowIsPad(last, 69)).toBe(true);
    expect(rowIsPad(last, 70)).toBe(false);
    expect(rowIsPad(last, 249)).toBe(false);
    expect(rowIsPad(last, 250)).toBe(true);
    // pts keep rising across the change (each frame paired with its own timestamp).
    for (let i = 1; i < 20; i++) expect(frames[i].pts).toBeGreaterThan(frames[i - 1].pts);
    expect(d.letterbox).toMatchObject({ srcWidth: 640, srcHeight: 360 });
  });

  it('recordings joined end to end (MPEG-TS, both starting at the same time): pts keep rising at the frame interval', async () => {
    const joined = join(dir, 'restart.ts');
    writeFileSync(joined, Buffer.concat([tsSegment('r1.ts', '320x240', 0), tsSegment('r2.ts', '320x240', 0)]));
    const frames = await collect(await decoder(joined, { dstWidth: 320, dstHeight: 320 }));
    expect(frames).toHaveLength(20);
    const steps = frames.slice(1).map((f, i) => f.pts - frames[i].pts);
    // Both halves carry the same timestamps; ffmpeg's discontinuity handling continues them at 10 fps.
    for (const step of steps) expect(step).toBeCloseTo(0.1, 6);
  });

  it('landscape: pad rows are exactly 114 and the content matches a direct ffmpeg scale', async () => {
    const path = clip('land.mkv', 'testsrc2=size=1280x720:rate=10', 0.5);
    const frames = await collect(await decoder(path));
    expect(frames.length).toBe(5);
    const f = frames[2];
    expect(f.letterbox).toMatchObject({ resizedWidth: 640, resizedHeight: 360, padX: 0, padY: 140 });
    for (let y = 0; y < 140; y++) expect(rowIsPad(f, y)).toBe(true);
    for (let y = 500; y < 640; y++) expect(rowIsPad(f, y)).toBe(true);
    const direct = ffmpeg('-i', path, '-vf', `scale=640:360:flags=${SCALE_FLAGS},format=rgb24`, '-f', 'rawvideo', 'pipe:1');
    const ref = direct.subarray(2 * 640 * 360 * 3, 3 * 640 * 360 * 3);
    let maxDiff = 0;
    let sumDiff = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ref[i] - f.rgb[140 * 640 * 3 + i]);
      maxDiff = Math.max(maxDiff, d);
      sumDiff += d;
    }
    expect(maxDiff).toBeLessThanOrEqual(2);
    expect(sumDiff / ref.length).toBeLessThan(0.5);
  });

  it('portrait 360x640: 140 pad columns left and right, no scaling', async () => {
    const path = clip('portrait.mkv', 'testsrc2=size=360x640:rate=10', 0.2);
    const [f] = await collect(await decoder(path));
    expect(f.letterbox).toMatchObject({ scale: 1, resizedWidth: 360, resizedHeight: 640, padX: 140, padY: 0 });
    expect(columnIsPad(f, 0) && columnIsPad(f, 139) && columnIsPad(f, 500) && columnIsPad(f, 639)).toBe(true);
    expect(columnIsPad(f, 140) || columnIsPad(f, 499)).toBe(false);
  });

  it('odd leftover 768x577: 79 pad rows on top, 80 at the bottom', async () => {
    const path = clip('odd.mkv', 'testsrc=size=768x577:rate=10', 0.2) // testsrc (RGB) keeps an odd height;
    const [f] = await collect(await decoder(path));
    expect(f.letterbox).toMatchObject({ resizedHeight: 481, padY: 79 });
    expect(rowIsPad(f, 78) && rowIsPad(f, 560)).toBe(true);
    expect(rowIsPad(f, 79) || rowIsPad(f, 559)).toBe(false);
  });

  it('square 500x500 fills a 640x640 canvas (upscale, no pad)', async () => {
    const path = clip('square.mkv', 'testsrc2=size=500x500:rate=10', 0.2);
    const [f] = await collect(await decoder(path));
    expect(f.letterbox).toMatchObject({ scale: 1.28, resizedWidth: 640, resizedHeight: 640, padX: 0, padY: 0 });
    expect(rowIsPad(f, 0) || rowIsPad(f, 639) || columnIsPad(f, 0)).toBe(false);
  });

  it('fps cap keeps true pts from the stream (25 fps clip capped to 10)', async () => {
    const path = clip('rate.mkv', 'testsrc2=size=320x240:rate=25', 2);
    const frames = await collect(await decoder(path, { fps: 10 }));
    expect(frames.length).toBe(20);
    frames.forEach((f, i) => {
      expect(f.index).toBe(i);
      expect(f.pts).toBeCloseTo(i / 10, 6);
    });
  });

  it('loop + realtime: paced at the native rate, pts keeps rising across the loop point', async () => {
    const path = clip('loop.mkv', 'testsrc2=size=320x240:rate=10', 0.5);
    const d = await decoder(path, { loop: true, realtime: true });
    const pts: number[] = [];
    const t0 = performance.now();
    for await (const f of d.frames()) {
      pts.push(f.pts);
      if (f.index === 11) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    pts.forEach((p, i) => expect(p).toBeCloseTo(i / 10, 6));
    expect(seconds).toBeGreaterThan(0.9); // 12 frames at 10 fps: the last one is due at 1.1 s
    expect(liveFfmpegChildren()).toBe(0);
  });

  it('JPEG output pairs 1:1 with frames, decodes, and shows the same frame', async () => {
    // Brightness rises by 8 each frame, so a JPEG paired with the wrong frame is obvious.
    const path = clip('ramp.mkv', "color=c=black:s=1280x720:r=10,format=gray,geq=lum='16+N*8'", 2.5);
    const frames = await collect(await decoder(path, { jpeg: { quality: 80, maxWidth: 640 } }));
    expect(frames.length).toBe(25);
    for (const f of frames) {
      const jpeg = f.jpeg as Uint8Array;
      expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
      const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([640, 360]);
      const jpegCentre = data[(180 * 640 + 320) * info.channels];
      const rgbCentre = pixel(f, 320, 320)[0];
      expect(Math.abs(jpegCentre - rgbCentre)).toBeLessThanOrEqual(3);
      expect(Math.abs(rgbCentre - (16 + f.index * 8))).toBeLessThanOrEqual(3);
    }
  });

  it('source output: each frame carries its own source pixels at the source size, equal to a direct decode', async () => {
    // Odd size (no even-size assumption), and brightness rising per frame so a mispairing shows.
    const path = clip('src-ramp.mkv', "color=c=black:s=333x211:r=10,format=gray,geq=lum='16+N*8'", 1.5);
    const texture = clip('src-texture.mkv', 'testsrc2=size=320x240:rate=10', 0.5);
    const frames = await collect(await decoder(path, { source: true, jpeg: { quality: 80 } }));
    expect(frames.length).toBe(15);
    // yuv420p, limited range: the Y plane, then U and V of half the size rounded up (167x106).
    const oddSize = 333 * 211 + 2 * 167 * 106;
    const rampDirect = ffmpeg('-i', path, '-vf', 'scale=out_range=tv,format=yuv420p', '-f', 'rawvideo', 'pipe:1');
    let last = -1;
    for (const f of frames) {
      const src = f.source!;
      expect([src.width, src.height, src.yuv.length]).toEqual([333, 211, oddSize]);
      expect(Buffer.from(src.yuv).equals(rampDirect.subarray(f.index * oddSize, (f.index + 1) * oddSize))).toBe(true);
      const centre = src.yuv[105 * 333 + 166];
      expect(centre).toBeGreaterThan(last);
      last = centre;
      expect(f.jpeg).toBeDefined();
    }
    const textured = await collect(await decoder(texture, { source: true }));
    const direct = ffmpeg('-i', texture, '-vf', 'scale=flags=bilinear,format=yuv420p', '-f', 'rawvideo', 'pipe:1');
    const size = 320 * 240 * 1.5;
    textured.forEach((f, i) => expect(Buffer.from(f.source!.yuv).equals(direct.subarray(i * size, (i + 1) * size))).toBe(true));
    expect(textured[0].source!.yuv.buffer).not.toBe(textured[1].source!.yuv.buffer);
  });

  it('source output after a resolution change keeps the first size (scaled back to it)', async () => {
    const joined = join(dir, 'joined-src.ts');
    writeFileSync(joined, Buffer.concat([tsSegment('sa.ts', '320x240', 0), tsSegment('sb.ts', '640x480', 1)]));
    const frames = await collect(await decoder(joined, { dstWidth: 320, dstHeight: 320, source: true }));
    expect(frames).toHaveLength(20);
    for (const f of frames) expect([f.source!.width, f.source!.height, f.source!.yuv.length]).toEqual([320, 240, 320 * 240 * 1.5]);
    expect(frames[15].letterbox).toMatchObject({ srcWidth: 640, srcHeight: 480 });
  });

  it('realtime with JPEG: a frame is handed over as soon as it is decoded, not held until the next one', async () => {
    // 2 fps paced: a frame held for its successor's JPEG would wait a whole capture interval
    // between capture and delivery. The interval is measured in the same run (realtime pacing is
    // by the wall clock, however loaded the machine), and half of it is the line: 250 ms of
    // slack for decoding and scheduling, so only the hold, not a slow machine, crosses it.
    const src = clip('paced.mkv', 'testsrc2=size=320x240:rate=2', 6);
    const d = await decoder(src, { realtime: true, jpeg: { quality: 80 } });
    const lags: number[] = [];
    const captures: number[] = [];
    for await (const f of d.frames()) {
      lags.push(performance.timeOrigin + performance.now() - f.captureTs);
      captures.push(f.captureTs);
      expect(f.jpeg).toBeDefined();
    }
    expect(lags.length).toBe(12);
    const interval = percentile(captures.slice(1).map((t, i) => t - captures[i]), 0.5);
    const lag = percentile(lags, 0.5);
    console.log(`realtime JPEG: capture interval p50 ${interval.toFixed(0)} ms, capture->delivery p50 ${lag.toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms`);
    expect(interval).toBeGreaterThan(400);
    expect(lag).toBeLessThan(interval / 2);
  });

  it('stop() kills ffmpeg and ends the iteration', async () => {
    const d = await decoder(VTEST, { realtime: true, loop: true });
    const it = d.frames();
    const first = await it.next();
    expect(first.done).toBe(false);
    const pid = d.pid as number;
    expect(liveFfmpegChildren()).toBe(1);
    const pending = it.next();
    await d.stop();
    expect((await pending).done).toBe(true);
    expect(liveFfmpegChildren()).toBe(0);
    expect(processGone(pid)).toBe(true);
  });

  it('breaking out of for-await stops ffmpeg too', async () => {
    const d = await decoder(VTEST);
    let pid = 0;
    for await (const f of d.frames()) {
      pid = d.pid as number;
      if (f.index === 2) break;
    }
    expect(liveFfmpegChildren()).toBe(0);
    expect(processGone(pid)).toBe(true);
  });

  it('ffmpeg failing ends the iteration with a DecodeError carrying its stderr', async () => {
    const good = clip('good.mkv', 'testsrc2=size=320x240:rate=10', 0.5);
    const info = await probeSource(good);
    const broken = join(dir, 'broken.mp4');
    writeFileSync(broken, readFileSync(good).subarray(0, 2000));
    const d = new FrameDecoder({ streamId: 'test', url: broken, info, dstWidth: 640, dstHeight: 640 });
    const err = await collect(d).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).message).toMatch(/^ffmpeg exited with code 1: .+ \(decoding .*broken\.mp4\)$/);
    expect((err as DecodeError).stderr.length).toBeGreaterThan(0);
    expect(liveFfmpegChildren()).toBe(0);
  });
});
