/**
 * The annotated video from decoded source frames: a synthetic clip with known objects is decoded
 * (source-resolution output), its ground-truth boxes drawn and encoded; ffprobe and the decoded
 * frames say what a viewer gets.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder } from '../src/ingest/decoder.js';
import { encodeArgs, ffmpegPath } from '../src/ingest/ffmpeg.js';
import { probeSource } from '../src/ingest/probe.js';
import { generateClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { VideoRenderer } from '../src/output/render/videoRenderer.js';
import { styleFor, type AnnotatorOptions } from '../src/output/render/annotate.js';
import { rgbToYuv, yuvToRgb } from '../src/output/render/yuv.js';
import { encodeRle } from '../src/infer/adapters/rle.js';
import { rotatedCopy } from './helpers/rotation.js';
import { classRgb } from '../src/output/render/palette.js';
import type { Box, Detection, FrameResult } from '../src/types.js';
import { colourDistance, decodeFrames, meanDifference, outerEdgePoints, probeVideo, rgbAt } from './helpers/renderedVideo.js';

const dir = mkdtempSync(join(tmpdir(), 'streamlens-render-'));

function ffmpeg(...args: string[]): void {
  execFileSync(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** Decodes `input` with source frames and renders `detectionsOf(frame)` on each into `out`. */
async function render(input: string, out: string, detectionsOf: (index: number) => Detection[], crf = 18, annotator?: AnnotatorOptions): Promise<number> {
  const info = await probeSource(input);
  const decoder = new FrameDecoder({ streamId: 't', url: input, info, dstWidth: 320, dstHeight: 320, source: true });
  const renderer = new VideoRenderer({ out, source: info, crf, preset: 'veryfast', annotator });
  let n = 0;
  for await (const f of decoder.frames()) {
    const r: FrameResult = { streamId: 't', seq: f.seq, index: f.index, pts: f.pts, width: f.letterbox.srcWidth, height: f.letterbox.srcHeight, detections: detectionsOf(f.index), timing: { captureTs: f.captureTs, stages: {} }, source: f.source };
    await renderer.write(r);
    n++;
  }
  await renderer.close();
  return n;
}

const grow = (b: Box, m: number): Box => [b[0] - m, b[1] - m, b[2] + m, b[3] + m];
const inside = (b: Box, x: number, y: number): boolean => x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
/** Where a detection's tag may be: above its top-left corner (or inside it, or shifted left at the right border). */
const tagArea = (d: Detection): Box => [Math.min(d.box[0], 640 - 200) - 4, d.box[1] - 30, Math.max(d.box[0], 440) + 200, d.box[1] + 30];

describe('rendered video of a synthetic clip with known objects', () => {
  let clip: string;
  let gt: GtFrame[];
  const out = join(dir, 'rendered.mp4');
  const detectionsOf = (i: number): Detection[] =>
    // Every other frame only: the frames between show nothing drawn.
    i % 2 === 0 ? gt[i].targets.filter((t) => t.visible > 0.5).map((t) => ({ box: t.box, score: 0.9, class: t.class, label: t.label, trackId: t.id + 1 })) : [];

  beforeAll(async () => {
    const c = await generateClip({ out: join(dir, 'scene.mp4'), seed: 99, seconds: 3, fps: 15, targets: 6 });
    clip = c.video;
    gt = await readGroundTruth(c.groundTruth);
    await render(clip, out, detectionsOf);
  });

  it("has the source's frame count, size and frame rate", () => {
    const src = probeVideo(clip);
    const r = probeVideo(out);
    expect(r).toMatchObject({ width: 640, height: 480, rate: src.rate, frames: src.frames, codec: 'h264' });
    expect(r.frames).toBe(gt.length);
  });

  it('shows the box colour along the box edges of known objects, and nothing where there is no detection', () => {
    const source = decodeFrames(clip, 640, 480);
    const rendered = decodeFrames(out, 640, 480);
    expect(rendered.length).toBe(source.length);
    const { thickness } = styleFor(640, 480);
    let checked = 0;
    const ratios: number[] = [];
    for (let i = 0; i < rendered.length; i += 2) {
      const dets = detectionsOf(i);
      for (const d of dets) {
        const colour = classRgb(d.class);
        // Other boxes and every tag may be drawn over this box's edge.
        const covered = dets.filter((o) => o !== d).map((o) => grow(o.box, thickness + 2)).concat(dets.map(tagArea));
        for (const [x, y] of outerEdgePoints(d.box, thickness, 640, 480)) {
          if (covered.some((b) => inside(b, x, y))) continue;
          // The point is outside the object, so the source shows background there, not the box colour.
          if (colourDistance(rgbAt(source[i], 640, x, y), colour) < 60) continue;
          // H.264 4:2:0 shares chroma between pixel pairs: a 2-pixel line's colour bleeds into its
          // neighbours, so "the box colour" is: much nearer it than the source pixel was, and twice
          // as near as a rule (the median below).
          const ratio = colourDistance(rgbAt(rendered[i], 640, x, y), colour) / colourDistance(rgbAt(source[i], 640, x, y), colour);
          expect(ratio).toBeLessThan(0.8);
          ratios.push(ratio);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(ratios.sort((a, b) => a - b)[Math.floor(ratios.length / 2)]).toBeLessThan(0.5);
    // Frames without detections: the rendered frame is the source frame (up to re-encoding).
    for (let i = 1; i < rendered.length; i += 2) expect(meanDifference(rendered[i], source[i], 640, [0, 0, 640, 480])).toBeLessThan(3);
    // Frames with detections: away from every box, tag and trail (boxes of the frames before) the picture is the source's too.
    for (let i = 0; i < rendered.length; i += 6) {
      const keepOut: Box[] = [];
      for (let k = Math.max(0, i - 30); k <= i; k++) keepOut.push(...detectionsOf(k).map((d) => grow(d.box, 8)), ...detectionsOf(k).map(tagArea));
      for (let y = 0; y + 32 <= 480; y += 32) {
        for (let x = 0; x + 32 <= 640; x += 32) {
          if (keepOut.some((b) => x < b[2] && x + 32 > b[0] && y < b[3] && y + 32 > b[1])) continue;
          expect(meanDifference(rendered[i], source[i], 640, [x, y, x + 32, y + 32])).toBeLessThan(6);
        }
      }
    }
  });
});

describe('rendered video: audio and odd sizes', () => {
  it("copies the source's AAC audio and keeps the duration", async () => {
    const input = join(dir, 'with-audio.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', input);
    const out = join(dir, 'with-audio-rendered.mp4');
    const frames = await render(input, out, () => [{ box: [10, 10, 100, 100], score: 0.5, class: 3, label: 'x' }]);
    const facts = probeVideo(out);
    expect(facts).toMatchObject({ frames, width: 320, height: 240, rate: '10/1', audioCodec: 'aac' });
    expect(facts.duration).toBeGreaterThan(1.9);
    expect(facts.duration).toBeLessThan(2.2);
  });

  it('re-encodes audio MP4 cannot carry (PCM from an AVI) to AAC; a source without audio gives a video without', async () => {
    const input = join(dir, 'pcm.avi');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000', '-t', '1', '-c:v', 'mpeg4', '-c:a', 'pcm_s16le', '-shortest', input);
    expect((await probeSource(input)).audioCodec).toBe('pcm_s16le');
    const out = join(dir, 'pcm-rendered.mp4');
    await render(input, out, () => []);
    expect(probeVideo(out).audioCodec).toBe('aac');
    const mkv = join(dir, 'pcm-rendered.mkv');
    await render(input, mkv, () => []);
    expect(probeVideo(mkv).audioCodec).toBe('pcm_s16le');
    const silent = join(dir, 'silent.mkv');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '0.5', '-c:v', 'ffv1', silent);
    const silentOut = join(dir, 'silent-rendered.mp4');
    await render(silent, silentOut, () => []);
    expect(probeVideo(silentOut).audioCodec).toBeUndefined();
  });

  it('an odd-sized source is padded by one pixel (yuv420p needs even sizes); the frame rate is kept exactly', async () => {
    const input = join(dir, 'odd.mkv');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=321x239:rate=30000/1001,format=rgb24', '-t', '0.5', '-c:v', 'ffv1', input);
    const out = join(dir, 'odd-rendered.mp4');
    const frames = await render(input, out, () => []);
    expect(probeVideo(out)).toMatchObject({ width: 322, height: 240, rate: '30000/1001', frames });
    expect(encodeArgs({ out: 'a.mp4', width: 320, height: 240, fps: 10, crf: 23, preset: 'fast' })).not.toContain('-vf');
  });

  it('a failing encoder (unwritable output) rejects with ffmpeg\'s reason and leaves no file', async () => {
    const input = join(dir, 'small.mkv');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '0.3', '-c:v', 'ffv1', input);
    const out = join(dir, 'no-such-dir', 'x.mp4');
    await expect(render(input, out, () => [])).rejects.toThrow(/render: ffmpeg/);
    expect(existsSync(out)).toBe(false);
  });
});

/** A detection of `cls` whose mask is the rectangle [x0, x1) x [y0, y1) of a width x height frame. */
function masked(cls: number, [x0, y0, x1, y1]: Box, width: number, height: number): Detection {
  const m = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * width + x] = 1;
  return { box: [x0, y0, x1, y1], score: 0.9, class: cls, label: `c${cls}`, mask: encodeRle(m, width, height) };
}

/** The mean colour of the inner part of a region (away from its edges, where 4:2:0 and H.264 blur). */
function meanColour(frame: Uint8Array, width: number, [x0, y0, x1, y1]: Box, inset = 6): number[] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = y0 + inset; y < y1 - inset; y++) {
    for (let x = x0 + inset; x < x1 - inset; x++) {
      rgbAt(frame, width, x, y).forEach((v, i) => (sum[i] += v));
      n++;
    }
  }
  return sum.map((v) => v / n);
}

describe('rendered video: colours drawn in YUV', () => {
  // Odd corners and an odd frame size: the regions cut chroma blocks at their edges.
  const regions: Array<[number, Box]> = [
    [0, [21, 31, 101, 111]],
    [9, [121, 31, 201, 111]],
    [14, [221, 131, 301, 221]],
  ];
  const grey: [number, number, number] = [128, 128, 128];

  for (const [name, tags] of [
    ['BT.601 (no colour tags)', []],
    ['BT.709 (tagged)', ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709']],
  ] as const) {
    it(`palette colours decode to themselves and masks blend with the picture, ${name} source`, async () => {
      const [w, h] = [321, 241];
      const input = join(dir, `flat-${tags.length}.mkv`);
      // (lavfi's colour source rounds a yuv420p size down to even numbers: cropped from RGB instead.)
      ffmpeg('-f', 'lavfi', '-i', `color=c=0x808080:s=${w + 1}x${h + 1}:r=10,format=rgb24,crop=${w}:${h}:0:0`, '-t', '0.4', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', ...tags, input);
      const info = await probeSource(input);
      const matrix = tags.length ? 'bt709' : 'bt601';
      expect(info.colorSpace).toBe(tags.length ? 'bt709' : undefined);
      const detections = regions.map(([cls, b]) => masked(cls, b, w, h));
      for (const opacity of [1, 0.45]) {
        const out = join(dir, `flat-${tags.length}-${opacity}.mp4`);
        await render(input, out, () => detections, 12, { maskOpacity: opacity });
        expect(probeVideo(out)).toMatchObject({ width: w + 1, height: h + 1 });
        const frames = decodeFrames(out, w + 1, h + 1);
        for (const [cls, box] of regions) {
          // The expected colour: the class colour over grey at the mask's alpha, blended in Y, U, V.
          const a = Math.round(opacity * 256);
          const c = rgbToYuv(classRgb(cls), matrix);
          const g = rgbToYuv(grey, matrix);
          const want = yuvToRgb(...(c.map((v, i) => (g[i] * (256 - a) + v * a) >> 8) as [number, number, number]), matrix);
          const got = meanColour(frames[frames.length - 1], w + 1, box);
          got.forEach((v, i) => expect(Math.abs(v - want[i]), `class ${cls} channel ${i}: ${got.map(Math.round)} vs ${want}`).toBeLessThan(6));
        }
        // Away from the masks, the boxes and the tags the picture is the source's grey.
        meanColour(frames[0], w + 1, [0, 150, 100, 241], 2).forEach((v) => expect(Math.abs(v - 128)).toBeLessThan(3));
      }
    });
  }

  it('a rotated source (display matrix) is drawn and encoded upright at its displayed size', async () => {
    const upright = join(dir, 'portrait.mkv');
    ffmpeg('-f', 'lavfi', '-i', 'color=c=0x808080:s=240x320:r=10,format=yuv420p', '-t', '0.4', '-c:v', 'ffv1', upright);
    // Stored 320x240, shown turned by 90 degrees: 240x320.
    const input = rotatedCopy(upright, 90, join(dir, 'rotated.mp4'), ffmpegPath());
    const info = await probeSource(input);
    expect([info.width, info.height, info.rotation]).toEqual([240, 320, 90]);
    // A region only a 240x320 frame has (y beyond 240).
    const box: Box = [30, 230, 110, 310];
    const out = join(dir, 'rotated-rendered.mp4');
    await render(input, out, () => [masked(5, box, 240, 320)], 12, { maskOpacity: 1 });
    expect(probeVideo(out)).toMatchObject({ width: 240, height: 320 });
    const frames = decodeFrames(out, 240, 320);
    meanColour(frames[0], 240, box).forEach((v, i) => expect(Math.abs(v - classRgb(5)[i])).toBeLessThan(6));
    meanColour(frames[0], 240, [150, 150, 240, 230], 2).forEach((v) => expect(Math.abs(v - 128)).toBeLessThan(3));
  });
});
