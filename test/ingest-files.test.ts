/**
 * Issue 13, files as phones and encoders write them: rotated videos (display matrix 90 and 270)
 * give frames, JPEGs and boxes in the displayed orientation (checked against the synthetic scene's
 * ground truth through the real `analyze`); interlaced video is detected and deinterlaced; odd
 * sizes give even JPEGs of the whole picture; a truncated file warns with where it ended.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { generateClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { bundledFfmpegPath, bundledFfprobePath } from '../src/ingest/binaries.js';
import { DecodeError, FrameDecoder } from '../src/ingest/decoder.js';
import { ffmpegSources } from '../src/ingest/ffmpegSource.js';
import type { FrameSource } from '../src/ingest/source.js';
import { probeSource } from '../src/ingest/probe.js';
import type { Frame } from '../src/types.js';
import { startHttpSources } from '../bench/sourceServers.js';
import { childPids } from './helpers/processes.js';
import { matchFrame, type ResultDetection } from './helpers/detectionMetrics.js';
import { damagedTs } from './helpers/damagedVideo.js';
import { rotatedCopy } from './helpers/rotation.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const FFMPEG = '/usr/bin/ffmpeg';

let dir: string;
let clip: string;
let gt: GtFrame[];

function ffmpeg(...args: string[]): void {
  execFileSync(FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { timeout: 120_000 });
}

const OUTPUT = { width: 320, height: 320 };

async function pull(source: FrameSource | FrameDecoder, max = Infinity): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of source.frames(OUTPUT)) {
    frames.push(f);
    if (frames.length >= max) break;
  }
  await source.stop();
  return frames;
}

/** Mean absolute difference of two equal-size RGB images. */
function meanDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

function runAnalyze(input: string, out: string, ...extra: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'analyze', input, '--model', 'synthetic-det', '--out', out, '--no-track', ...extra], { cwd: root, timeout: 240_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-files-'));
  const c = await generateClip({ out: join(dir, 'scene.mp4'), seed: 4242, seconds: 4, targets: 8 });
  clip = c.video;
  gt = await readGroundTruth(c.groundTruth);
  await ensureModel('synthetic-det', { imgsz: 640 });
});

describe.each([90, 270] as const)('a phone video shown turned %i degrees clockwise', (cw) => {
  let rotated: string;

  beforeAll(() => {
    // Stored turned the other way, so that the display matrix brings back the scene as rendered.
    rotated = rotatedCopy(clip, cw, join(dir, `rot${cw}.mp4`));
  });

  it('is probed and opened at its displayed size, with the rotation in its info', async () => {
    expect(await probeSource(rotated)).toMatchObject({ width: 640, height: 480, rotation: cw });
    const source = await ffmpegSources.open({ streamId: 'r', url: rotated, jpeg: { quality: 90 } });
    expect(source.info).toMatchObject({ width: 640, height: 480, rotation: cw });
    const [frame] = await pull(source, 1);
    expect(frame.letterbox).toMatchObject({ srcWidth: 640, srcHeight: 480, resizedWidth: 320, resizedHeight: 240 });
    // The JPEG and the model's input show what a player shows: the scene as it was rendered.
    const jpeg = await sharp(frame.jpeg!).raw().toBuffer({ resolveWithObject: true });
    expect([jpeg.info.width, jpeg.info.height]).toEqual([640, 480]);
    const original = await sharp(execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-i', clip, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-'])).raw().toBuffer();
    const turnedBack = await sharp(frame.jpeg!).raw().toBuffer();
    expect(meanDiff(turnedBack, original)).toBeLessThan(8);
    // Turned the wrong way, the picture would not match.
    const wrong = await sharp(frame.jpeg!).rotate(180).raw().toBuffer();
    expect(meanDiff(wrong, original)).toBeGreaterThan(15);
  });

  it('the bundled ffmpeg (2018) and its ffprobe open it the same way', async () => {
    const saved = [process.env.FFMPEG_PATH, process.env.FFPROBE_PATH];
    process.env.FFMPEG_PATH = bundledFfmpegPath();
    process.env.FFPROBE_PATH = bundledFfprobePath();
    try {
      expect(await probeSource(rotated)).toMatchObject({ width: 640, height: 480, rotation: cw });
      const source = await ffmpegSources.open({ streamId: 'r', url: rotated, jpeg: { quality: 90 } });
      expect(source.info).toMatchObject({ width: 640, height: 480, rotation: cw });
      const [frame] = await pull(source, 1);
      expect(frame.letterbox).toMatchObject({ srcWidth: 640, srcHeight: 480 });
      const original = await sharp(execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-i', clip, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-'])).raw().toBuffer();
      expect(meanDiff(await sharp(frame.jpeg!).raw().toBuffer(), original)).toBeLessThan(8);
    } finally {
      for (const [name, value] of [['FFMPEG_PATH', saved[0]], ['FFPROBE_PATH', saved[1]]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('analyze: one line per frame at the displayed size, boxes on the targets in the displayed orientation', async () => {
    const out = join(dir, `rot${cw}.jsonl`);
    const run = await runAnalyze(rotated, out);
    expect(run.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { width: number; height: number; detections: ResultDetection[] });
    expect(lines).toHaveLength(gt.length);
    expect(lines.every((l) => l.width === 640 && l.height === 480)).toBe(true);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    lines.forEach((l, i) => {
      const m = matchFrame(gt[i], l.detections);
      tp += m.tp;
      fp += m.fp;
      fn += m.fn;
    });
    expect(tp).toBeGreaterThan(150);
    expect(tp / (tp + fp)).toBeGreaterThanOrEqual(0.98);
    expect(tp / (tp + fn)).toBeGreaterThanOrEqual(0.95);
  });

  it('analyze --render: the video is drawn in the displayed orientation, with no rotation left to apply', async () => {
    const video = join(dir, `rot${cw}-render.mp4`);
    const run = await runAnalyze(rotated, join(dir, `rot${cw}-render.jsonl`), '--render', video);
    expect(run.code).toBe(0);
    const probe = JSON.parse(execFileSync('/usr/bin/ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_streams', '-of', 'json', video], { encoding: 'utf8' })) as {
      streams: { width: number; height: number; nb_frames?: string; tags?: Record<string, string>; side_data_list?: { rotation?: number }[] }[];
    };
    const [v] = probe.streams;
    expect([v.width, v.height]).toEqual([640, 480]);
    expect(Number(v.nb_frames)).toBe(gt.length);
    expect(v.tags?.rotate).toBeUndefined();
    expect((v.side_data_list ?? []).filter((d) => d.rotation)).toEqual([]);
    // The drawn frame shows the scene as rendered (boxes aside): closer to it than its half turn is.
    const png = (file: string) => execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-i', file, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-']);
    const original = await sharp(png(clip)).raw().toBuffer();
    const drawn = sharp(png(video));
    const right = meanDiff(await drawn.clone().raw().toBuffer(), original);
    const wrong = meanDiff(await drawn.clone().rotate(180).raw().toBuffer(), original);
    expect(right).toBeLessThan(wrong / 2);
  });
});

describe('damaged data', () => {
  it('frames the decoder met damaged data in are counted (once each) and analyze warns; a clean file counts none', async () => {
    const clean = join(dir, 'clean.ts');
    ffmpeg('-i', clip, '-c:v', 'libx264', '-g', '15', '-bf', '0', '-preset', 'veryfast', '-f', 'mpegts', clean);
    const damaged = damagedTs(clean, join(dir, 'damaged.ts'));

    const count = async (url: string): Promise<{ frames: number; errors: number }> => {
      const source = await ffmpegSources.open({ streamId: 'd', url });
      const frames = (await pull(source)).length;
      return { frames, errors: source.decodeErrors ?? 0 };
    };
    expect(await count(clean)).toEqual({ frames: gt.length, errors: 0 });
    const bad = await count(damaged);
    expect(bad.errors).toBeGreaterThan(0);
    // Each damaged frame logs several lines; they count once: never more than the frames.
    expect(bad.errors).toBeLessThanOrEqual(bad.frames);

    const out = join(dir, 'damaged.jsonl');
    const run = await runAnalyze(damaged, out);
    expect(run.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').length;
    const warned = /streamlens analyze: warning: (.+): the decoder met damaged data in (\d+) of (\d+) frames \(their pictures, and results, may be wrong\)\n/.exec(run.stderr);
    expect(warned?.[1]).toBe(damaged);
    expect(Number(warned?.[2])).toBeGreaterThan(0);
    expect(Number(warned?.[3])).toBe(lines);
  });
});

describe('interlaced video', () => {
  let interlaced: string;
  beforeAll(() => {
    interlaced = join(dir, 'interlaced.mp4');
    ffmpeg('-i', clip, '-t', '1', '-vf', 'scale=720:576,setfield=tff', '-flags', '+ilme+ildct', '-c:v', 'libx264', '-x264-params', 'tff=1', '-preset', 'ultrafast', interlaced);
  });

  /** The filter graph of this process's running ffmpeg that decodes `file`. */
  function runningGraph(file: string): string {
    for (const pid of childPids(process.pid)) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.endsWith(file))) return cmd[cmd.indexOf('-filter_complex') + 1];
    }
    return '';
  }

  it('is detected (field order) and deinterlaced; progressive video is not; deinterlace: true forces it, false never', async () => {
    expect((await probeSource(interlaced)).interlaced).toBe(true);
    expect((await probeSource(clip)).interlaced).toBe(false);
    const cases: [string, boolean | 'auto', string | undefined][] = [
      [interlaced, 'auto', 'bwdif=mode=send_frame:deint=interlaced'],
      [clip, 'auto', undefined],
      [clip, true, 'bwdif=mode=send_frame:deint=all'],
      [interlaced, false, undefined],
    ];
    for (const [file, deinterlace, filter] of cases) {
      const source = await ffmpegSources.open({ streamId: 'i', url: file, deinterlace });
      const frames = source.frames(OUTPUT);
      const first = await frames.next();
      expect(first.done).toBe(false);
      const graph = runningGraph(file);
      expect(graph).toContain('split=');
      if (filter) expect(graph).toContain(filter);
      else expect(graph).not.toContain('bwdif');
      await source.stop();
    }
  });

  it('live (MPEG-TS from an encoder, opened once by its decoder): detected from ffmpeg\'s dump, reopened once with the filter', async () => {
    const ts = join(dir, 'interlaced.ts');
    ffmpeg('-i', interlaced, '-c', 'copy', '-f', 'mpegts', ts);
    const http = await startHttpSources({ liveTs: { '/live.ts': ts } });
    try {
      const url = http.url('/live.ts');
      const source = await ffmpegSources.open({ streamId: 'l', url, output: OUTPUT, openTimeoutMs: 30_000 });
      expect(source.info).toMatchObject({ type: 'http-live', interlaced: true, width: 720, height: 576 });
      const frames = source.frames(OUTPUT);
      expect((await frames.next()).done).toBe(false);
      // One decoder left, the one with the filter (the first open was stopped).
      const decoders = childPids(process.pid).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(url));
      expect(decoders).toHaveLength(1);
      expect(runningGraph(url)).toContain('bwdif=mode=send_frame:deint=interlaced');
      await source.stop();
    } finally {
      await http.close();
    }
  });
});

describe('hardware decoding', () => {
  it('reaches ffmpeg: without an NVIDIA GPU, cuda fails with ffmpeg\'s reason; with one, it decodes', async () => {
    const source = await ffmpegSources.open({ streamId: 'h', url: clip, hwaccel: { kind: 'cuda' } });
    const outcome = await pull(source, 3).then(
      (frames) => frames.length,
      (err: unknown) => err,
    );
    if (existsSync('/dev/nvidia0')) expect(outcome).toBe(3);
    else {
      expect(outcome).toBeInstanceOf(DecodeError);
      expect((outcome as Error).message).toMatch(/No device available for decoder|Device (setup|creation) failed/);
    }
  });
});

describe('odd sizes', () => {
  it('a 161x97 source: frames mapped at 161x97, a 162x98 JPEG of the whole picture', async () => {
    const odd = join(dir, 'odd.mkv');
    // A white box at x 40..80, y 20..60 on black, in a lossless, odd-sized video.
    ffmpeg('-f', 'lavfi', '-i', 'color=c=black:size=161x97:rate=5,format=yuv444p', '-t', '1', '-vf', 'drawbox=x=40:y=20:w=40:h=40:color=white:t=fill', '-c:v', 'ffv1', odd);
    const d = new FrameDecoder({ streamId: 'o', url: odd, info: await probeSource(odd), dstWidth: 320, dstHeight: 320, jpeg: { quality: 95 } });
    const [frame] = await pull(d, 1);
    expect(frame.letterbox).toMatchObject({ srcWidth: 161, srcHeight: 97 });
    const { data, info } = await sharp(frame.jpeg!).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([162, 98]);
    // The box's edges map by each axis's own ratio: x * 162/161, y * 98/97.
    const bright = (x: number, y: number): boolean => data[y * info.width + x] > 128;
    const row = Math.round(40 * (98 / 97));
    const col = Math.round(60 * (162 / 161));
    const left = Array.from({ length: info.width }, (_, x) => x).find((x) => bright(x, row));
    const right = Array.from({ length: info.width }, (_, x) => info.width - 1 - x).find((x) => bright(x, row));
    const top = Array.from({ length: info.height }, (_, y) => y).find((y) => bright(col, y));
    const bottom = Array.from({ length: info.height }, (_, y) => info.height - 1 - y).find((y) => bright(col, y));
    expect(Math.abs(left! - 40 * (162 / 161))).toBeLessThanOrEqual(1);
    expect(Math.abs(right! + 1 - 80 * (162 / 161))).toBeLessThanOrEqual(1);
    expect(Math.abs(top! - 20 * (98 / 97))).toBeLessThanOrEqual(1);
    expect(Math.abs(bottom! + 1 - 60 * (98 / 97))).toBeLessThanOrEqual(1);
  });
});

describe('analyze over HTTP and of a truncated file (the real CLI)', () => {
  it('a webm and a URL that names no extension give every frame; a truncated file warns where it ended', async () => {
    const webm = join(dir, 'scene.webm');
    ffmpeg('-i', clip, '-c:v', 'libvpx', '-b:v', '1M', '-deadline', 'realtime', '-cpu-used', '8', webm);
    const whole = join(dir, 'fs.mp4');
    ffmpeg('-i', clip, '-c', 'copy', '-movflags', '+faststart', whole);
    const cut = join(dir, 'half.mp4');
    writeFileSync(cut, readFileSync(whole).subarray(0, Math.floor(readFileSync(whole).length * 0.55)));
    const http = await startHttpSources({ files: { '/scene.webm': webm, '/download': clip } });
    try {
      for (const path of ['/scene.webm', '/download']) {
        const out = join(dir, `http${path.replace(/\W/g, '_')}.jsonl`);
        const run = await runAnalyze(http.url(path), out);
        expect(run.code).toBe(0);
        expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(gt.length);
        expect(run.stderr).not.toMatch(/warning/);
      }
    } finally {
      await http.close();
    }
    const out = join(dir, 'half.jsonl');
    const run = await runAnalyze(cut, out);
    expect(run.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').length;
    expect(lines).toBeLessThan(gt.length);
    expect(run.stderr).toContain(`streamlens analyze: warning: ${cut} ended at frame ${lines} of ${gt.length}: the file is truncated\n`);
  });
});

describe('a truncated file with its index at the front', () => {
  it('decodes what it has and warns with the frame it ended at', async () => {
    const whole = join(dir, 'faststart.mp4');
    ffmpeg('-i', clip, '-c', 'copy', '-movflags', '+faststart', whole);
    const bytes = readFileSync(whole);
    const cut = join(dir, 'cut.mp4');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.55)));
    const info = await probeSource(cut);
    expect(info.frameCount).toBe(gt.length);
    const warnings: string[] = [];
    const frames = await pull(new FrameDecoder({ streamId: 'c', url: cut, info, dstWidth: 320, dstHeight: 320, onWarning: (m) => warnings.push(m) }));
    expect(frames.length).toBeGreaterThan(10);
    expect(frames.length).toBeLessThan(gt.length);
    expect(warnings).toEqual([`${cut} ended at frame ${frames.length} of ${gt.length}: the file is truncated`]);
    // The whole file: no warning.
    const all: string[] = [];
    expect((await pull(new FrameDecoder({ streamId: 'w', url: whole, info: await probeSource(whole), dstWidth: 320, dstHeight: 320, onWarning: (m) => all.push(m) }))).length).toBe(gt.length);
    expect(all).toEqual([]);
  });
});
