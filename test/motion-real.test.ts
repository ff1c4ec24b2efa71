/**
 * The motion estimate on real camera pixels rather than generated ones: PETS09-S2L1 (vtest.avi,
 * with its MOT15 ground truth) decoded by ffmpeg as a stream is, and clips made from a real frame
 * of it with what real cameras add: temporal sensor noise, an H.264 encoder's quality pulse at
 * every keyframe, a step of exposure, dusk, an infrared switch, a small figure cut from the footage
 * walking over it. The estimate must see every walking pedestrian inside a motion region, and
 * nothing but the light in a still real scene.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MOTION } from '../src/config/schema.js';
import { FrameDecoder } from '../src/ingest/decoder.js';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';
import { probeSource } from '../src/ingest/probe.js';
import { MotionEstimator, type MotionEstimate } from '../src/motion/estimate.js';
import { reduceFrame, type MotionImage } from '../src/motion/image.js';
import { readMotRows } from '../src/tools/mot/formats.js';
import type { Box } from '../src/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VTEST = fileURLToPath(new URL('../../shared/data/vtest.avi', import.meta.url));
const GT = fileURLToPath(new URL('../../shared/data/mot/MOT15-train/PETS09-S2L1/gt/gt.txt', import.meta.url));
/** The footage's size: the estimate's regions are in its pixels. */
const W = 768;
const H = 576;

/** The estimate of every frame of `path`, decoded and letterboxed to 640 as a stream's frames are. */
async function estimates(path: string): Promise<MotionEstimate[]> {
  const info = await probeSource(path, { timeoutMs: 15_000 });
  const decoder = new FrameDecoder({ streamId: 'motion-real', url: path, info, dstWidth: 640, dstHeight: 640 });
  const estimator = new MotionEstimator(DEFAULT_MOTION);
  const out: MotionEstimate[] = [];
  let image: MotionImage | undefined;
  for await (const frame of decoder.frames()) {
    image = reduceFrame(frame.rgb, frame.letterbox, image);
    const e = estimator.estimate(image, frame.pts);
    out.push({ ...e, regions: [...e.regions] });
  }
  return out;
}

/** The share of `box` inside the motion region that covers most of it. */
function covered(box: Box, regions: readonly Box[]): number {
  const area = (box[2] - box[0]) * (box[3] - box[1]);
  let best = 0;
  for (const r of regions) {
    const inter = Math.max(0, Math.min(r[2], box[2]) - Math.max(r[0], box[0])) * Math.max(0, Math.min(r[3], box[3]) - Math.max(r[1], box[1]));
    best = Math.max(best, inter / area);
  }
  return best;
}

const kinds = (xs: readonly MotionEstimate[]): Record<string, number> => xs.reduce<Record<string, number>>((n, e) => ((n[e.kind] = (n[e.kind] ?? 0) + 1), n), {});

function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], { cwd: ROOT, timeout: 280_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(ffmpegPath(), ['-v', 'error', '-y', ...args], { timeout: 280_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`ffmpeg: ${stderr || err.message}`)) : resolve()));
  });
}

describe('the motion estimate on real footage (PETS09-S2L1, vtest.avi)', () => {
  it('puts every walking pedestrian inside a motion region, over a small part of the frame', async () => {
    const frames = await estimates(VTEST);
    expect(frames).toHaveLength(795);
    // Ground truth by frame (1-based, as decoded) and id; rows evaluation ignores are left out.
    const gt = new Map<number, Map<number, Box>>();
    for (const r of readMotRows(GT)) {
      if (r.score === 0) continue;
      if (!gt.has(r.frame)) gt.set(r.frame, new Map());
      gt.get(r.frame)!.set(r.id, [r.x, r.y, r.x + r.w, r.y + r.h]);
    }
    let walking = 0;
    let found = 0;
    const regionShare: number[] = [];
    for (let f = 2; f <= frames.length; f++) {
      const now = gt.get(f);
      const before = gt.get(f - 1);
      const { regions } = frames[f - 1]!;
      regionShare.push(regions.reduce((s, r) => s + (r[2] - r[0]) * (r[3] - r[1]), 0) / (W * H));
      if (!now || !before) continue;
      for (const [id, box] of now) {
        const prev = before.get(id);
        // Walking: its centre moved at least 2 px since the frame before (people at 7 fps move 2-8).
        if (!prev || Math.hypot((box[0] + box[2] - prev[0] - prev[2]) / 2, (box[1] + box[3] - prev[1] - prev[3]) / 2) < 2) continue;
        walking++;
        if (covered(box, regions) >= 0.25) found++;
      }
    }
    expect(walking).toBeGreaterThan(3000);
    expect(found / walking).toBeGreaterThanOrEqual(0.97);
    // The regions are around the people, not the whole frame: what the detector's windows and the
    // gate get is still selective on a busy real scene.
    regionShare.sort((a, b) => a - b);
    expect(regionShare[Math.floor(regionShare.length / 2)]).toBeLessThan(0.25);
  });

  describe('clips made from a real frame of it, 20 s at 10 fps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-motion-real-'));
    const still = join(dir, 'still.png');
    /**
     * Encodes the real frame looped for 20 s through `filter` (input 0, and input 1 when the filter
     * takes a second copy of it), with H.264's keyframe every 2 s.
     */
    const clip = async (name: string, filter: string, crf = 23): Promise<string> => {
      await ffmpeg(['-i', VTEST, '-frames:v', '1', still]);
      const out = join(dir, `${name}.mp4`);
      const input = ['-loop', '1', '-framerate', '10', '-t', '20', '-i', still];
      await ffmpeg([...input, ...(filter.includes('[1]') ? input : []), '-filter_complex', `${filter},format=yuv420p`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf), '-g', '20', '-bf', '0', out]);
      return out;
    };
    const NOISE = '[0]noise=alls=12:allf=t';

    it('sees no motion in a still real scene with sensor noise and the encoder pulsing at each keyframe', async () => {
      for (const crf of [23, 32]) {
        const frames = await estimates(await clip(`still-${crf}`, NOISE, crf));
        expect(frames).toHaveLength(200);
        expect(frames[0]!.kind).toBe('start');
        expect(kinds(frames.slice(1)).motion ?? 0, `crf ${crf}`).toBe(0);
      }
    });

    it('takes a step of exposure for light, and dusk and an infrared switch for at most one motion frame', async () => {
      const step = await estimates(await clip('step', `${NOISE},lutrgb=r=val*0.6:g=val*0.6:b=val*0.6:enable='gte(t,8)'`));
      expect(kinds(step).motion ?? 0).toBe(0);
      expect(kinds(step).light ?? 0).toBeGreaterThan(0);
      // Dusk: the whole picture darkening by a quarter of the range over the 20 s.
      const dusk = await estimates(await clip('dusk', `${NOISE},eq=brightness='-0.25*t/20':eval=frame`));
      expect(kinds(dusk).motion ?? 0).toBeLessThanOrEqual(1);
      // Infrared: colour gone and everything brighter at once; the background is learned again.
      const ir = await estimates(await clip('ir', `${NOISE},hue=s=0:b=1.5:enable='gte(t,8)'`));
      expect(kinds(ir).motion ?? 0).toBeLessThanOrEqual(1);
      expect(ir.slice(82).every((e) => e.kind !== 'motion')).toBe(true);
    });

    it('analyze --motion-mask: a burnt-in clock runs the detector at every tick without the mask, only at keyframes under it', async () => {
      // A white box at the top left, on for half of every second: what a camera's clock does to the picture.
      const video = await clip('clock', `${NOISE},drawbox=x=10:y=10:w=120:h=20:color=white:t=fill:enable='lt(mod(t,1),0.5)'`);
      const maskFile = join(dir, 'clock-mask.json');
      writeFileSync(maskFile, JSON.stringify({ coordinates: 'normalized', mask: [[[0, 0], [150 / W, 0], [150 / W, 40 / H], [0, 40 / H]]] }));
      const reasons = async (extra: string[]): Promise<Record<string, number>> => {
        const out = join(dir, `clock-${extra.length}.jsonl`);
        const run = await cli(['analyze', video, '--model', 'synthetic-det', '--motion', '--out', out, ...extra]);
        expect(run.code, run.stderr).toBe(0);
        const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { inferred?: boolean; motion: { reason: string } });
        expect(lines).toHaveLength(200);
        return lines.reduce<Record<string, number>>((n, l) => ((n[l.motion.reason] = (n[l.motion.reason] ?? 0) + 1), n), {});
      };
      // Without the mask: every switch of the box (twice a second) is motion.
      expect((await reasons([])).motion ?? 0).toBeGreaterThanOrEqual(35);
      // Under it: the first frame and a keyframe every 2 s, nothing else.
      const masked = await reasons(['--motion-mask', maskFile]);
      expect(masked.motion ?? 0).toBe(0);
      expect((masked.start ?? 0) + (masked.keyframe ?? 0)).toBeLessThanOrEqual(11);
      // A mask that is not one names what is wrong.
      writeFileSync(maskFile, JSON.stringify({ mask: [[[0, 0], [1, 1]]] }));
      const bad = await cli(['analyze', video, '--model', 'synthetic-det', '--motion', '--motion-mask', maskFile, '--out', join(dir, 'bad.jsonl')]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--motion-mask .*: mask\[0\]: expected a polygon: at least 3 points/);
    });

    it('sees a small figure cut from the footage walking across it in every frame it is fully in view, inside a region', async () => {
      // A 24 x 60 px patch of the frame (a pedestrian's size there) at 25 px/s, from 4 s to 16 s.
      const frames = await estimates(await clip('walker', `[1]crop=24:60:300:200[p];${NOISE}[b];[b][p]overlay=x='100+t*25':y=380:enable='between(t,4,16)'`));
      let shown = 0;
      let seen = 0;
      for (let f = 41; f < 160; f++) {
        const t = f / 10;
        const box: Box = [100 + t * 25, 380, 100 + t * 25 + 24, 440];
        shown++;
        if (frames[f]!.kind === 'motion' && covered(box, frames[f]!.regions) >= 0.5) seen++;
      }
      expect(seen).toBe(shown);
      // Before it comes, nothing moves.
      expect(frames.slice(1, 40).every((e) => e.kind !== 'motion')).toBe(true);
    });
  });
});
