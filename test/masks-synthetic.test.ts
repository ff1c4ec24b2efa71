/**
 * Segmentation end to end: the project's segmentation model on a synthetic clip, masks written by
 * `analyze` as RLE, compared pixel by pixel with the ground-truth visible shapes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClip, readGroundTruth, visibleMask, type GtFrame } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { analyzeRecording } from '../src/pipeline/analyzeRecording.js';
import { openFileSink } from '../src/output/sinks.js';
import { decodeRle } from '../src/infer/adapters/rle.js';
import type { MaskRle } from '../src/types.js';
import { matchFrame, type ResultDetection } from './helpers/detectionMetrics.js';

interface Line {
  frame: number;
  width: number;
  height: number;
  detections: Array<ResultDetection & { mask?: MaskRle }>;
}

function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 1 : inter / union;
}

describe('segmentation masks on the synthetic scene', () => {
  let gt: GtFrame[];
  let lines: Line[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-masks-'));
    const clip = await generateClip({ out: join(dir, 'scene.mp4'), seed: 2024, seconds: 4, targets: 8 });
    gt = await readGroundTruth(clip.groundTruth);
    const out = join(dir, 'masks.jsonl');
    const sink = openFileSink('jsonl', out);
    await analyzeRecording({
      input: clip.video,
      onResult: (r) => sink.write(r),
      detector: { path: await ensureModel('synthetic-seg', { imgsz: 640 }), providers: ['cpu'] },
      conf: 0.25,
      batch: 2,
    }).finally(() => sink.close());
    lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  }, 300_000);

  it('writes a mask with every detection, at source resolution', () => {
    expect(lines).toHaveLength(gt.length);
    const dets = lines.flatMap((l) => l.detections);
    expect(dets.length).toBeGreaterThan(100);
    for (const d of dets) expect(d.mask?.size).toEqual([480, 640]);
  });

  it('matches the ground-truth shapes: mean mask IoU >= 0.9 over detected targets', () => {
    const ious: number[] = [];
    gt.forEach((f, i) => {
      const dets = lines[i].detections;
      for (const [targetId, d] of matchFrame(f, dets).pairs) {
        const target = f.targets.find((t) => t.id === targetId)!;
        if (target.visible < 0.5) continue;
        ious.push(maskIou(decodeRle(dets[d].mask!), visibleMask(f, targetId, 640, 480)));
      }
    });
    expect(ious.length).toBeGreaterThan(100);
    const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
    const sorted = [...ious].sort((a, b) => a - b);
    expect(mean).toBeGreaterThanOrEqual(0.9);
    // Not a few perfect masks hiding bad ones: the worst decile is still good.
    expect(sorted[Math.floor(sorted.length * 0.1)]).toBeGreaterThanOrEqual(0.8);
  });
});
