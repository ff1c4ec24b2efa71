import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath, liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import { holdClosedPort } from './helpers/closedPort.js';
import { startSilentServer } from './helpers/silentServer.js';
import { frameRate, probeSource, SourceError, sourceInfoFrom, sourceInfoFromLog } from '../src/ingest/probe.js';

const VTEST = fileURLToPath(new URL('../../shared/data/vtest.avi', import.meta.url));
let dir: string;

function ffmpeg(...args: string[]): void {
  execFileSync(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

async function probeError(url: string, timeoutMs = 10_000): Promise<SourceError> {
  const err = await probeSource(url, { timeoutMs }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-probe-'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(dir, 'clip.mp4'));
  const mp4 = readFileSync(join(dir, 'clip.mp4'));
  writeFileSync(join(dir, 'truncated.mp4'), mp4.subarray(0, mp4.length >> 1));
  ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', join(dir, 'tone.wav'));
  writeFileSync(join(dir, 'notes.txt'), 'this is not a video\n'.repeat(20));
  writeFileSync(join(dir, 'notes.mp4'), 'not a video either, whatever the name says\n');
  writeFileSync(join(dir, 'empty.mp4'), '');
  // Bytes that are neither text nor a container ffmpeg knows.
  writeFileSync(join(dir, 'noise.mp4'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probeSource', () => {
  it('reads size, fps, exact frame count and codec of vtest.avi', async () => {
    const info = await probeSource(VTEST);
    expect(info).toMatchObject({ url: VTEST, width: 768, height: 576, fps: 10, frameCount: 795, frameCountExact: true, duration: 79.5, codec: 'msmpeg4v3', isFile: true });
  });

  it('reads a generated H.264 MP4', async () => {
    const info = await probeSource(join(dir, 'clip.mp4'));
    expect(info).toMatchObject({ width: 320, height: 240, fps: 25, frameCount: 50, codec: 'h264', isFile: true });
  });

  it('missing file: ENOENT, "input not found: <path>"', async () => {
    const path = join(dir, 'nope.mp4');
    const err = await probeError(path);
    expect(err.code).toBe('ENOENT');
    expect(err.message).toBe(`input not found: ${path}`);
  });

  it('text file, whatever its name: NOT_VIDEO, "a text file" (not "truncated MP4")', async () => {
    for (const name of ['notes.txt', 'notes.mp4']) {
      const path = join(dir, name);
      const err = await probeError(path);
      expect(err.code).toBe('NOT_VIDEO');
      expect(err.message).toBe(`not a video: ${path} (a text file)`);
    }
  });

  it('empty file: EMPTY, "empty file"', async () => {
    const path = join(dir, 'empty.mp4');
    const err = await probeError(path);
    expect(err.code).toBe('EMPTY');
    expect(err.message).toBe(`empty file: ${path}`);
  });

  it('bytes ffmpeg does not know, named .mp4: NOT_VIDEO with ffprobe\'s reason', async () => {
    const path = join(dir, 'noise.mp4');
    const err = await probeError(path);
    expect(err.code).toBe('NOT_VIDEO');
    expect(err.message).toBe(`not a video: ${path} (ffprobe: Invalid data found when processing input)`);
  });

  it('directory: NOT_VIDEO', async () => {
    expect((await probeError(dir)).code).toBe('NOT_VIDEO');
  });

  it('truncated MP4 (moov atom missing): TRUNCATED, says so', async () => {
    const path = join(dir, 'truncated.mp4');
    const err = await probeError(path);
    expect(err.code).toBe('TRUNCATED');
    expect(err.message).toMatch(new RegExp(`^truncated MP4: ${path} \\(cut off inside its '(mdat|moov)' box, \\d+ bytes; no index: moov atom not found\\)$`));
  });

  it('an MP4 whose recording stopped before its index was written: TRUNCATED, "unfinished"', async () => {
    // Whole boxes up to the media data, then nothing: what a recorder leaves when it is killed.
    const mp4 = readFileSync(join(dir, 'clip.mp4'));
    const ftyp = mp4.readUInt32BE(0);
    const mdat = mp4.indexOf('mdat', 0, 'latin1') - 4;
    const mdatSize = mp4.readUInt32BE(mdat);
    const path = join(dir, 'unfinished.mp4');
    writeFileSync(path, Buffer.concat([mp4.subarray(0, ftyp), mp4.subarray(mdat, mdat + mdatSize)]));
    const err = await probeError(path);
    expect(err.code).toBe('TRUNCATED');
    expect(err.message).toBe(`unfinished MP4: ${path} (no index: moov atom not found; the recording was not finalised)`);
  });

  it('an MP4 garbled throughout: NOT_VIDEO, "a damaged MP4"', async () => {
    const mp4 = Buffer.from(readFileSync(join(dir, 'clip.mp4')));
    for (let i = 0; i < mp4.length; i += 97) mp4[i] = (mp4[i] * 31 + 7) & 0xff;
    const path = join(dir, 'garbled.mp4');
    writeFileSync(path, mp4);
    const err = await probeError(path);
    expect(err.code).toBe('NOT_VIDEO');
    expect(err.message).toMatch(new RegExp(`^not a video: ${path} \\(a damaged MP4: no valid box at byte \\d+\\)$`));
  });

  it('audio-only file: NO_VIDEO_STREAM', async () => {
    const path = join(dir, 'tone.wav');
    const err = await probeError(path);
    expect(err.code).toBe('NO_VIDEO_STREAM');
    expect(err.message).toBe(`no video stream in ${path} (format wav)`);
  });

  it('nothing listening: UNREACHABLE, fast, password hidden', async () => {
    const closed = await holdClosedPort();
    try {
      const { port } = closed;
      // Refused at once: the probe does not sit out its socket timeout (0.8 x 60 s).
      const t0 = Date.now();
      const err = await probeError(`rtsp://admin:secret@127.0.0.1:${port}/cam`, 60_000);
      expect(err.code).toBe('UNREACHABLE');
      expect(err.message).toBe(`cannot open rtsp://admin:***@127.0.0.1:${port}/cam (ffprobe: Connection refused)`);
      expect(Date.now() - t0).toBeLessThan(30_000);
    } finally {
      await closed.release();
    }
  });

  it('server that accepts and never answers: TIMEOUT within the deadline, no ffprobe left', async () => {
    const silent = await startSilentServer();
    try {
      const t0 = Date.now();
      const err = await probeError(`rtsp://127.0.0.1:${silent.port}/cam`, 1500);
      expect(err.code).toBe('TIMEOUT');
      // A hang guard, not a speed test: the code says the deadline ended it; without a deadline
      // ffprobe would wait on this server for good. Spawning and reaping it on a loaded machine is slow.
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(liveFfmpegChildren()).toBe(0);
    } finally {
      await silent.close();
    }
  });
});

describe('sourceInfoFrom', () => {
  it('estimates the frame count from duration x fps when the container has none', () => {
    const info = sourceInfoFrom(
      { streams: [{ codec_type: 'video', codec_name: 'h264', width: 1280, height: 720, avg_frame_rate: '30000/1001', duration: '10.010' }] },
      'x.mkv',
      true,
    );
    expect(info.fps).toBeCloseTo(29.97, 2);
    expect(info).toMatchObject({ frameCount: 300, frameCountExact: false, duration: 10.01 });
  });

  it('live sources have no frame count; fps falls back to r_frame_rate', () => {
    const info = sourceInfoFrom(
      { streams: [{ codec_type: 'video', codec_name: 'h264', width: 640, height: 480, avg_frame_rate: '0/0', r_frame_rate: '15/1' }] },
      'rtsp://cam/x',
      false,
    );
    expect(info).toMatchObject({ fps: 15, frameCount: undefined, isFile: false });
  });

  it('frameRate ignores 0/0 and timebase-like rates', () => {
    expect([frameRate('0/0'), frameRate(undefined), frameRate('90000/1'), frameRate('25')]).toEqual([0, 0, 0, 25]);
  });
});

describe('probing through ffmpeg when ffprobe cannot', () => {
  it('probes an MPEG-TS file (the bundled static ffprobe crashes on MPEG-TS; ffmpeg answers instead)', async () => {
    const ts = join(dir, 'clip.ts');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', ts);
    const info = await probeSource(ts);
    expect(info).toMatchObject({ width: 320, height: 240, fps: 10, codec: 'h264', isFile: true });
    expect(info.duration).toBeGreaterThan(1.5);
    expect(liveFfmpegChildren()).toBe(0);
  });

  it('reads size, rate, codec, duration, rotation and interlacing from ffmpeg\'s input description', () => {
    const lines = [
      "Input #0, mpegts, from 'file:/tmp/x.ts':",
      '  Duration: 00:01:02.50, start: 1.400000, bitrate: 312 kb/s',
      '  Program 1',
      '    Stream #0:0[0x100]: Video: h264 (High) ([27][0][0][0] / 0x001B), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 90k tbn, 50 tbc',
    ];
    expect(sourceInfoFromLog(lines, '/tmp/x.ts', true)).toEqual({
      url: '/tmp/x.ts', width: 1280, height: 720, rotation: 0, interlaced: false, fps: 25, frameCount: 1563, frameCountExact: false, duration: 62.5, codec: 'h264', isFile: true,
    });
    // A phone video: stored 1280x720, shown turned a quarter (the display matrix); an interlaced broadcast.
    const phone = [
      "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/p.mp4':",
      '  Duration: 00:00:02.00, start: 0.000000, bitrate: 4309 kb/s',
      '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, top first), 1280x720, 4308 kb/s, 30 fps, 30 tbr, 15360 tbn (default)',
      '    Side data:',
      '      displaymatrix: rotation of -90.00 degrees',
      "Output #0, rawvideo, to 'pipe:1':",
      '      displaymatrix: rotation of -0.00 degrees',
    ];
    expect(sourceInfoFromLog(phone, '/tmp/p.mp4', true)).toMatchObject({ width: 720, height: 1280, rotation: 90, interlaced: true, fps: 30 });
    expect(sourceInfoFromLog(['    Stream #0:0: Audio: aac, 44100 Hz, stereo'], 'a.ts', true)).toBeUndefined();
  });
});
