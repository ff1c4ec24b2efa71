/**
 * `streamlens analyze --motion` end to end on the generated mostly-still scene (motionScene.ts:
 * sensor noise, two light steps, objects crossing, one standing still for 20 s): the objects are
 * found in at least 97 % of the frames where they are visible, the still one included, while the
 * detector runs on at most half of the frames. The real CLI, ffmpeg and the project's detector.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDemoClip, MOTION_SCENE_LIGHT, MOTION_SCENE_SECONDS, MOTION_SCENE_STILL, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { recall, type ResultDetection } from './helpers/detectionMetrics.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const FPS = 10;

interface Line {
  frame: number;
  pts: number;
  inferred?: boolean;
  motion?: { changed: number; reason: string };
  detections: ResultDetection[];
}

function analyze(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'analyze', ...args], { cwd: root, timeout: 280_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

const recallOf = (gt: GtFrame[], lines: Line[], only?: number) => recall(gt.map((g, f) => [g, lines[f]!.detections] as const), only);

describe('analyze --motion on a mostly still scene', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-motion-'));
  let gt: GtFrame[];
  let lines: Line[];
  let stderr: string;

  beforeAll(async () => {
    const clip = await ensureDemoClip({ scene: 'motion', fps: FPS, seconds: MOTION_SCENE_SECONDS });
    gt = await readGroundTruth(clip.groundTruth);
    const out = join(dir, 'still.jsonl');
    const run = await analyze([clip.video, '--model', 'synthetic-det', '--motion', '--out', out]);
    stderr = run.stderr;
    expect(run.code, stderr).toBe(0);
    lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  }, 300_000);

  it('writes every frame, marking the ones whose detections were carried forward', () => {
    expect(lines).toHaveLength(gt.length);
    expect(lines.every((l, i) => l.frame === i && l.motion !== undefined)).toBe(true);
    const skipped = lines.filter((l) => l.inferred === false);
    expect(skipped.length).toBeGreaterThan(0);
    // "inferred" is only ever written as false; skip reasons are the estimate's.
    expect(lines.every((l) => l.inferred === undefined || l.inferred === false)).toBe(true);
    expect(new Set(skipped.map((l) => l.motion!.reason))).toEqual(new Set(['still', 'light', ...(skipped.some((l) => l.motion!.reason === 'small') ? ['small'] : [])]));
    const inferred = lines.length - skipped.length;
    expect(stderr).toContain(`detector on ${inferred} (`);
  });

  it('runs the detector on at most half of the frames', () => {
    const inferred = lines.filter((l) => l.inferred !== false).length;
    expect(inferred / lines.length).toBeLessThanOrEqual(0.5);
  });

  it('finds the objects in at least 97 % of the frames where they are visible, the still one included', () => {
    const all = recallOf(gt, lines);
    expect(all.visible).toBeGreaterThan(300);
    expect(all.found / all.visible).toBeGreaterThanOrEqual(0.97);
    const still = recallOf(gt, lines, MOTION_SCENE_STILL.id);
    // It stands for 20 s: 200 frames at 10 fps, and is visible while it arrives and leaves.
    expect(still.visible).toBeGreaterThanOrEqual((MOTION_SCENE_STILL.to - MOTION_SCENE_STILL.from) * FPS);
    expect(still.found / still.visible).toBeGreaterThanOrEqual(0.97);
  });

  it('takes neither light step for motion, and rests while the still object stands', () => {
    for (const [t] of MOTION_SCENE_LIGHT) {
      const step = Math.round(t * FPS);
      expect(lines[step]!.motion!.reason).toBe('light');
      expect(lines[step]!.inferred).toBe(false);
    }
    const standing = lines.filter((l) => l.pts >= MOTION_SCENE_STILL.from + 4 && l.pts < MOTION_SCENE_STILL.to && l.pts < 21);
    expect(standing.filter((l) => l.inferred !== false).length).toBeLessThanOrEqual(Math.ceil(standing.length / (2 * FPS)) + 1);
  });
});
