/** The mostly still scene of motion gating (src/tools/synth/motionScene.ts): its plan, ground truth and light steps. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';
import { generateClip } from '../src/tools/synth/generate.js';
import { readGroundTruth } from '../src/tools/synth/groundTruth.js';
import { MOTION_SCENE_LIGHT, MOTION_SCENE_SECONDS, MOTION_SCENE_STILL, motionScenePlan } from '../src/tools/synth/motionScene.js';
import { shapeAt } from '../src/tools/synth/scene.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The mean of every byte of the decoded frame at index `frame` (rgb24). */
function meanLevel(video: string, frame: number, width: number, height: number): number {
  const raw = execFileSync(ffmpegPath(), ['-v', 'error', '-i', video, '-vf', `select=eq(n\\,${frame})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 << 20 });
  expect(raw.length).toBe(width * height * 3);
  let sum = 0;
  for (const v of raw) sum += v;
  return sum / raw.length;
}

describe('the motion scene', () => {
  it('has one object standing exactly still for 20 s, and the others only passing', () => {
    const plan = motionScenePlan(640, 480, 10, 600);
    const still = plan.targets[MOTION_SCENE_STILL.id]!;
    expect(MOTION_SCENE_STILL.to - MOTION_SCENE_STILL.from).toBe(20);
    const at = (t: number) => shapeAt(still, t).center;
    for (let t = MOTION_SCENE_STILL.from; t <= MOTION_SCENE_STILL.to; t += 0.5) expect(at(t)).toEqual(at(MOTION_SCENE_STILL.from));
    expect(at(MOTION_SCENE_STILL.from - 1)).not.toEqual(at(MOTION_SCENE_STILL.from));
    expect(at(MOTION_SCENE_STILL.to + 1)).not.toEqual(at(MOTION_SCENE_STILL.to));
    // A and B cross each other.
    expect([...plan.crossing].sort()).toEqual([0, 1]);
  });

  it('renders at any size, with ground truth, the light stepping down and back up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synth-motion-'));
    dirs.push(dir);
    const [w, h, fps] = [320, 180, 5];
    const clip = await generateClip({ out: join(dir, 'still.mp4'), scene: 'motion', width: w, height: h, fps, seconds: MOTION_SCENE_SECONDS });
    expect(clip.frames).toBe(MOTION_SCENE_SECONDS * fps);
    const gt = await readGroundTruth(clip.groundTruth);
    // Nothing in view at first and at the end; the still object in view all its 20 s.
    expect(gt[0]!.targets).toEqual([]);
    expect(gt.at(-1)!.targets).toEqual([]);
    const stillFrames = gt.filter((f) => f.targets.some((t) => t.id === MOTION_SCENE_STILL.id && t.visible === 1));
    expect(stillFrames.length).toBeGreaterThanOrEqual(20 * fps);
    // Scaled to the clip: at 320x180 the still object is 44 x 60 scaled by min(320/640, 180/480).
    const box = stillFrames[0]!.targets.find((t) => t.id === MOTION_SCENE_STILL.id)!.fullBox;
    // (22.5 px: the rasterised box is 22 or 23 rows, by where the centre falls.)
    expect(Math.abs(box[3] - box[1] - 60 * (180 / 480))).toBeLessThanOrEqual(1);
    const [[down, gain], [up]] = MOTION_SCENE_LIGHT;
    const level = (t: number): number => meanLevel(clip.video, Math.round(t * fps), w, h);
    // Frames without moving objects around each step: the mean level follows the light.
    expect(level(down) / level(down - 1)).toBeCloseTo(gain!, 1);
    expect(level(up) / level(up - 1)).toBeCloseTo(1 / gain!, 1);
  });

  it('refuses a clip shorter than its script', async () => {
    await expect(generateClip({ out: join(tmpdir(), 'never.mp4'), scene: 'motion', seconds: 30 })).rejects.toThrow(/at least 60 s/);
  });
});
