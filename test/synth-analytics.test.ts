import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalyticsEngine } from '../src/analytics/engine.js';
import { parseAnalytics } from '../src/config.js';
import { generateClip } from '../src/tools/synth/generate.js';
import { readGroundTruth } from '../src/tools/synth/groundTruth.js';
import { ANALYTICS_SCENE_CONFIG, analyticsScenePlan } from '../src/tools/synth/analyticsScene.js';
import type { AnalyticsEvent, FrameResult } from '../src/types.js';
import { describeEvents, expectedSceneEvents } from './helpers/analyticsScene.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the analytics scene', () => {
  it('is planned without any two squares touching (each is its own blob for the colour detector)', () => {
    const plan = analyticsScenePlan(15, 180);
    expect(plan.targets).toHaveLength(5);
    expect(plan.crossing.size).toBe(0);
  });

  it('its ground-truth boxes, tracked by target id, give exactly the expected events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synth-analytics-'));
    dirs.push(dir);
    const clip = await generateClip({ out: join(dir, 'scene.mp4'), scene: 'analytics' });
    expect(clip.frames).toBe(180);
    const engine = new AnalyticsEngine(parseAnalytics(ANALYTICS_SCENE_CONFIG), { lostSeconds: 1, wallClock: false });
    const events: AnalyticsEvent[] = [];
    for (const f of await readGroundTruth(clip.groundTruth)) {
      const result: FrameResult = {
        streamId: 'scene', seq: f.frame, index: f.frame, pts: f.pts, width: 640, height: 480,
        detections: f.targets.map((t) => ({ box: t.box, score: 1, class: t.class, label: t.label, trackId: t.id + 1 })),
        timing: { captureTs: 0, stages: {} },
      };
      events.push(...engine.process(result));
    }
    expect(describeEvents(events)).toEqual(expectedSceneEvents());
  });

  it('is 640x480 and at least 10 s long', async () => {
    await expect(generateClip({ out: '/nonexistent/x.mp4', scene: 'analytics', width: 320, height: 240 })).rejects.toThrow(/640x480/);
    await expect(generateClip({ out: '/nonexistent/x.mp4', scene: 'analytics', seconds: 5 })).rejects.toThrow(/10 s/);
  });
});
