/**
 * `streamlens analyze --analytics FILE --events OUT.jsonl` end to end: the scripted analytics scene
 * (squares crossing a line both ways, one standing on it, one turning back, one loitering in a
 * zone), the project's detector and tracker, the real CLI process; the events must be exactly the
 * expected ones, in order.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ANALYTICS_SCENE_CONFIG, generateClip } from '../src/tools/synth/index.js';
import type { AnalyticsEvent } from '../src/types.js';
import { describeEvents, expectedSceneEvents } from './helpers/analyticsScene.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'analyze', ...args], { cwd: root, timeout: 240_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

const readEvents = (path: string): AnalyticsEvent[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AnalyticsEvent);

let dir: string;
let clip: string;
let model: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'analytics-analyze-'));
  [clip, model] = await Promise.all([generateClip({ out: join(dir, 'scene.mp4'), scene: 'analytics' }).then((c) => c.video), ensureModel('synthetic-det')]);
  writeFileSync(join(dir, 'analytics.json'), JSON.stringify(ANALYTICS_SCENE_CONFIG));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('analyze --analytics --events', () => {
  it('writes exactly the expected events, in order, with the documented members', async () => {
    const events = join(dir, 'events.jsonl');
    const out = join(dir, 'results.jsonl');
    const run = await runCli([clip, '--model', model, '--analytics', join(dir, 'analytics.json'), '--events', events, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const got = readEvents(events);
    expect(describeEvents(got)).toEqual(expectedSceneEvents());
    for (const e of got) {
      expect(e.stream).toBe('analyze');
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.time).toBeUndefined(); // a file: no wall clock
      expect(e.box).toHaveLength(4);
    }
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    // Each event's track and box are those of the detection on that frame in the results file.
    const frames = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { frame: number; detections: Array<{ box: number[]; track_id?: number }> });
    for (const e of got.filter((x) => x.type !== 'zone_exit')) {
      const d = frames[e.frame]!.detections.find((x) => x.track_id === e.track_id);
      expect(d?.box, `${e.type} at ${e.frame}`).toEqual(e.box);
    }
    // The loitering square's visit is one track: enter, loiter and exit carry the same id.
    const visit = got.filter((e) => e.type.startsWith('zone_'));
    expect(new Set(visit.map((e) => e.track_id)).size).toBe(1);
  });

  it('refuses an invalid analytics file with the field named, and events without --analytics', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ lines: [{ name: 'gate', from: [0, 240], to: [0, 240] }], zones: [{ name: 'z', polygon: [[0, 0], [1, 1]] }] }));
    const bad = await runCli([clip, '--model', model, '--analytics', join(dir, 'bad.json'), '--events', join(dir, 'x.jsonl')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/zones\[0\]\.polygon: expected at least 3 points/);
    const missing = await runCli([clip, '--model', model, '--events', join(dir, 'x.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/events need --analytics/);
  });
});
