/**
 * Motion regions live: two streams of the same generated 4K clip with small targets (18-94 px of
 * 3840: 3-16 px once the whole frame is letterboxed to the model's 640) served by one server, one
 * with `"motion": {"enabled": true, "regions": true}`, the other with regions off, read over a real
 * WebSocket. The windows find the targets the whole frame misses; the frame contract holds on both
 * (reasons, `inferred`, objects carried forward unchanged, track ids). The real server, ffmpeg and
 * the project's detector.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import type { RunningServer } from '../src/serve/server.js';
import { DEFAULT_TRACKER_TUNING } from '../src/track/byteTracker.js';
import { displacementInSizes } from '../src/track/displacement.js';
import { iou, recall } from './helpers/detectionMetrics.js';
import { TestClient, api, startTestServer, until, type Json } from './helpers/serveHarness.js';

const dir = mkdtempSync(join(tmpdir(), 'streamlens-regions-serve-'));
const FRAMES_PER_STREAM = 40;
let server: RunningServer;
let client: TestClient;
let gt: GtFrame[];

beforeAll(async () => {
  const [clip, model] = await Promise.all([
    generateClip({ out: join(dir, 'k4.mp4'), width: 3840, height: 2160, fps: 5, seconds: 4, targets: 8, seed: 3 }),
    ensureModel('synthetic-det'),
  ]);
  gt = await readGroundTruth(clip.groundTruth);
  server = await startTestServer(
    {
      models: { [model]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dir] },
      streams: [
        { id: 'regions', url: clip.video, loop: true, video: false, motion: { enabled: true, regions: true } },
        { id: 'whole', url: clip.video, loop: true, video: false, motion: { enabled: true, regions: false } },
      ],
    },
    process.cwd(),
  );
  client = await TestClient.connect(server);
  await client.subscribe(['regions', 'whole']);
  const of = (id: string) => client.detections.filter((d) => d.stream === id).length;
  await until(() => of('regions') >= FRAMES_PER_STREAM && of('whole') >= FRAMES_PER_STREAM, 300_000, `${FRAMES_PER_STREAM} frames of each stream`);
}, 400_000);

afterAll(async () => {
  client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const framesOf = (id: string): Json[] => client.detections.filter((d) => d.stream === id).slice(0, FRAMES_PER_STREAM);

/** Targets at least half visible on the frames received, and those found (same class, IoU >= 0.5). */
// The clip loops: a frame's index within the decoder run, modulo the clip's length.
const recallOf = (frames: Json[]) => recall(frames.map((d) => [gt[d.frame % gt.length]!, d.objects as { class: number; box: number[] }[]] as const));

/** A target's largest displacement between two consecutive clip frames, in its sizes (what the tracker gates). */
function sizesPerFrame(target: number): number {
  let most = 0;
  for (let f = 1; f < gt.length; f++) {
    const a = gt[f - 1]!.targets.find((t) => t.id === target);
    const b = gt[f]!.targets.find((t) => t.id === target);
    if (a && b) most = Math.max(most, displacementInSizes(a.box, b.box, Infinity));
  }
  return most;
}

/** The target (same class, IoU >= 0.5) an object is, on the clip frame it was sent for. */
function targetOf(d: Json, o: Json): number | undefined {
  return gt[d.frame % gt.length]!.targets.find((t) => t.visible >= 0.5 && t.class === o.class && iou(o.box, t.box) >= 0.5)?.id;
}

describe('motion regions on a live 4K stream', () => {
  it('finds the small targets the whole frame alone misses', () => {
    const whole = recallOf(framesOf('whole'));
    const regions = recallOf(framesOf('regions'));
    expect(whole.visible).toBeGreaterThan(100);
    expect(regions.found).toBeGreaterThanOrEqual(2 * whole.found);
    // Not all: the first frame has no background yet (no regions), and the clip's loop is one more such jump.
    expect(regions.found / regions.visible).toBeGreaterThanOrEqual(0.75);
  });

  it('keeps the frame contract: reasons, inferred flags, carried objects', () => {
    for (const id of ['regions', 'whole']) {
      const ds = framesOf(id);
      expect(ds[0]!.motion.reason).toBe('start');
      for (const [i, d] of ds.entries()) {
        expect([d.width, d.height]).toEqual([3840, 2160]);
        if (d.inferred === false) {
          expect(['still', 'small', 'light']).toContain(d.motion.reason);
          if (ds[i - 1]?.seq === d.seq - 1) expect(d.objects).toEqual(ds[i - 1]!.objects);
        } else {
          expect(d.inferred).toBeUndefined();
          expect(['start', 'motion', 'moving', 'lost', 'keyframe']).toContain(d.motion.reason);
          expect(d.latency.batch).toBeGreaterThanOrEqual(1);
        }
      }
    }
  });

  it('tracks what the windows find: their objects get track ids, each id stays on one target', () => {
    const ds = framesOf('regions');
    const whole = new Map(framesOf('whole').map((d) => [d.frame, d]));
    const targetsOfTrack = new Map<number, Set<number>>();
    let trackedOnlyByWindows = 0;
    for (const d of ds) {
      for (const o of d.objects) {
        const target = targetOf(d, o);
        if (o.track_id === null || target === undefined) continue;
        (targetsOfTrack.get(o.track_id) ?? targetsOfTrack.set(o.track_id, new Set()).get(o.track_id)!).add(target);
        const w = whole.get(d.frame);
        if (w && !w.objects.some((x: Json) => targetOf(w, x) === target)) trackedOnlyByWindows++;
      }
    }
    // Targets the whole frame does not see on that frame are followed with track ids.
    expect(trackedOnlyByWindows).toBeGreaterThan(10);
    for (const [track, targets] of targetsOfTrack) expect([...targets], `track ${track}`).toHaveLength(1);
  });

  it("gives the windows' fast small targets ids, up to the tracker's displacement limit", () => {
    // At 5 fps these small targets move far for their size: 0.16 to 1.08 of it a frame, two over 4.
    // Before the tracker matched a track seen once by its displacement (docs/tracker.md, "Fast objects"),
    // the one at 1.08 got no id, the one at 0.77 only on the first frame, and 134 of 221 finds of the
    // targets within the limit had one (201 of 223 with it, in runs on a loaded machine). What stays
    // without an id within the limit: a target's first frame, after the start and after each loop of
    // the clip (the targets jump back). Past it (1.5 sizes a frame), the two over 4 get none.
    const limit = DEFAULT_TRACKER_TUNING.displacementGate.maxSizes;
    const finds = new Map<number, { frames: number; withId: number; ids: Set<number> }>();
    for (const d of framesOf('regions')) {
      for (const o of d.objects) {
        const target = targetOf(d, o);
        if (target === undefined) continue;
        const f = finds.get(target) ?? finds.set(target, { frames: 0, withId: 0, ids: new Set() }).get(target)!;
        f.frames++;
        if (o.track_id === null) continue;
        f.withId++;
        f.ids.add(o.track_id);
      }
    }
    const speeds = new Map([...finds.keys()].map((t) => [t, sizesPerFrame(t)]));
    console.log(JSON.stringify([...finds].map(([t, f]) => ({ target: t, sizesPerFrame: speeds.get(t), frames: f.frames, withId: f.withId, ids: [...f.ids] }))));
    const within = [...finds].filter(([t]) => speeds.get(t)! <= limit);
    expect(within.length).toBeGreaterThanOrEqual(4);
    for (const [target, f] of within) if (f.frames >= 5) expect(f.ids.size, `target ${target}, found on ${f.frames} frames`).toBeGreaterThan(0);
    const found = within.reduce((n, [, f]) => n + f.frames, 0);
    const withId = within.reduce((n, [, f]) => n + f.withId, 0);
    expect(withId / found).toBeGreaterThanOrEqual(0.8);
  });

  it('counts each camera once: stream stats, the model streams and /metrics, no window as a stream', async () => {
    const s = (await api(server, 'GET', '/api/streams/regions')).json;
    const w = (await api(server, 'GET', '/api/streams/whole')).json;
    const info = (await api(server, 'GET', '/api/info')).json;
    expect(info.streams).toBe(2);
    expect(info.models[0].streams.sort()).toEqual(['regions', 'whole']);
    // framesInferred counts frames, not the windows that went to the model beside them.
    const ran = Object.values(s.motion.ran as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(ran).toBe(s.framesInferred);
    expect(info.models[0].batching.frames).toBeGreaterThan(s.framesInferred + w.framesInferred);
    const text = (await api(server, 'GET', '/metrics')).bytes.toString('utf8');
    const labels = new Set([...text.matchAll(/stream="([^"]*)"/g)].map((m) => m[1]));
    expect([...labels].sort()).toEqual(['regions', 'whole']);
  });
});
