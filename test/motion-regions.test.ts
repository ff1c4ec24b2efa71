/**
 * `streamlens analyze --motion --motion-regions` end to end on a generated 4K clip whose targets
 * are small for the frame (18-94 px of 3840: 3-16 px once the whole frame is letterboxed to the
 * model's 640): the detector on windows around the motion finds far more of them than on the
 * whole frame alone, with no duplicates. The real CLI, ffmpeg and the project's detector; the
 * detector runs on every frame both ways (keyframe 0), so only the windows differ.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { iou, recall, type ResultDetection } from './helpers/detectionMetrics.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

interface Line {
  frame: number;
  inferred?: boolean;
  detections: ResultDetection[];
}

function analyze(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'analyze', ...args], { cwd: root, timeout: 280_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

const recallOf = (gt: GtFrame[], lines: Line[]) => recall(gt.map((g, f) => [g, lines[f]!.detections] as const));

describe('analyze --motion-regions on a 4K clip with small targets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-regions-'));
  let gt: GtFrame[];
  const runs: Record<'whole' | 'regions', Line[]> = { whole: [], regions: [] };

  beforeAll(async () => {
    const clip = await generateClip({ out: join(dir, 'k4.mp4'), width: 3840, height: 2160, fps: 5, seconds: 4, targets: 8, seed: 3 });
    gt = await readGroundTruth(clip.groundTruth);
    for (const kind of ['whole', 'regions'] as const) {
      const out = join(dir, `${kind}.jsonl`);
      const run = await analyze([clip.video, '--model', 'synthetic-det', '--motion', '--motion-keyframe-seconds', '0', ...(kind === 'regions' ? ['--motion-regions'] : []), '--out', out]);
      expect(run.code, run.stderr).toBe(0);
      runs[kind] = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    }
  }, 600_000);

  it('runs the detector on every frame both ways', () => {
    for (const lines of Object.values(runs)) {
      expect(lines).toHaveLength(gt.length);
      expect(lines.every((l) => l.inferred !== false)).toBe(true);
    }
  });

  it('finds at least twice as many of the small targets, most of them', () => {
    const whole = recallOf(gt, runs.whole);
    const regions = recallOf(gt, runs.regions);
    expect(whole.visible).toBeGreaterThan(100);
    expect(regions.found).toBeGreaterThanOrEqual(2 * whole.found);
    // Not all: the first frame has no motion yet (no background), so only the whole frame runs there.
    expect(regions.found / regions.visible).toBeGreaterThanOrEqual(0.8);
  });

  it('reports each object once where the windows and the whole frame overlap', () => {
    gt.forEach((g, f) => {
      const dets = runs.regions[f]!.detections;
      for (let i = 0; i < dets.length; i++) {
        for (let j = i + 1; j < dets.length; j++) {
          if (dets[i]!.class === dets[j]!.class) expect(iou(dets[i]!.box, dets[j]!.box), `frame ${f}`).toBeLessThan(0.5);
        }
      }
      // Nothing the scene does not hold: at most one detection per target on screen.
      expect(dets.length, `frame ${f}`).toBeLessThanOrEqual(g.targets.length);
    });
  });
});
