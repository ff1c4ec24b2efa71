/**
 * Issue 5 acceptance: 4 streams on one dynamic-batch model through the real StreamHub. Batches
 * larger than 1 occur, every stream progresses, and each result belongs to its own stream and
 * frame: the 4 clips have different scenes (seeds), and every frame's detections match that
 * clip's ground truth for that frame and not the other clips'.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import type { RunningServer } from '../src/serve/server.js';
import { matchFrame } from './helpers/detectionMetrics.js';
import { TestClient, api, startTestServer, type Json } from './helpers/serveHarness.js';

const SEEDS = [11, 22, 33, 44];
const SECONDS = 3;
const FPS = 10;
let server: RunningServer;
let client: TestClient;
const gts: GtFrame[][] = [];
let model: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-batching-'));
  const [clips, m] = await Promise.all([
    Promise.all(SEEDS.map((seed) => generateClip({ out: join(dir, `s${seed}.mp4`), seed, seconds: SECONDS, fps: FPS, width: 480, height: 360, targets: 6 }))),
    ensureModel('synthetic-det'),
  ]);
  model = m;
  for (const c of clips) gts.push(await readGroundTruth(c.groundTruth));
  server = await startTestServer(
    {
      server: { mediaFolders: [dir], statsIntervalMs: 200 },
      models: { [model]: { providers: ['cpu'], maxBatch: 4, maxWaitMs: 30, intraOpThreads: 1 } },
      tracker: false,
      // Every frame goes to the batcher (no motion gating): its counts are exact.
      streams: SEEDS.map((seed, i) => ({ id: `cam${i}`, url: join(dir, `s${seed}.mp4`), realtime: false, dropPolicy: 'all', video: false, motion: { enabled: false } })),
    },
    dir,
  );
  client = await TestClient.connect(server);
  await client.subscribe(SEEDS.map((_, i) => `cam${i}`));
  // Every stream reads its whole file (dropPolicy all) and ends.
  await client.waitFor(() => SEEDS.every((_, i) => server.hub.stats(`cam${i}`)?.state === 'ended'), 120_000, 'all four files inferred');
  // The state is read in-process; the last frames' messages may still be on their way to the client.
  const expected = SEEDS.length * SECONDS * FPS;
  await client.waitFor(() => client.detections.length >= expected, 10_000, `${expected} detections messages`);
  await client.waitFor(() => client.stats.length > 0, 5000, 'stats');
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

describe('4 streams on one model', () => {
  it('every stream gets every frame, in order', () => {
    for (let i = 0; i < SEEDS.length; i++) {
      const mine = client.detections.filter((d) => d.stream === `cam${i}`);
      expect(mine.map((d) => d.frame)).toEqual(gts[i].map((f) => f.frame));
      expect(mine.map((d) => d.seq)).toEqual(mine.map((_, k) => k));
      expect(mine.every((d) => d.width === 480 && d.height === 360)).toBe(true);
    }
  });

  it('runs batches larger than 1 (seen in the results, /api/info and WS stats)', async () => {
    const sizes = client.detections.map((d) => d.latency.batch as number);
    const multi = sizes.filter((b) => b > 1).length;
    expect(multi).toBeGreaterThan(sizes.length / 4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    const info = (await api(server, 'GET', '/api/info')).json;
    const m = info.models.find((x: Json) => x.path === model);
    expect(m.batching.frames).toBe(SEEDS.length * SECONDS * FPS);
    expect(m.batching.meanBatchSize).toBeGreaterThan(1.3);
    expect(Object.keys(m.batching.batchSizeHistogram).some((k) => Number(k) > 1)).toBe(true);
    expect(m.batching.queueWaitMs.max).toBeGreaterThanOrEqual(m.batching.queueWaitMs.mean);
    expect(m.streams.sort()).toEqual(['cam0', 'cam1', 'cam2', 'cam3']);
    const stats = client.stats.at(-1)!;
    expect(stats.models).toHaveLength(1);
    expect(stats.models[0].batching.meanBatchSize).toBeGreaterThan(1);
    console.log(`4 streams: batch sizes ${JSON.stringify(m.batching.batchSizeHistogram)}, mean ${m.batching.meanBatchSize}, queue wait ${JSON.stringify(m.batching.queueWaitMs)} ms`);
  });

  it("maps each result to its own stream's frame: detections match that clip's ground truth, not the others'", () => {
    const own = { tp: 0, fn: 0, fp: 0 };
    const crossTp: number[] = [];
    for (let i = 0; i < SEEDS.length; i++) {
      for (const d of client.detections.filter((x) => x.stream === `cam${i}`)) {
        const m = matchFrame(gts[i][d.frame], d.objects);
        own.tp += m.tp;
        own.fn += m.fn;
        own.fp += m.fp;
        // The same frame index of another clip: a mix-up would match it instead.
        const other = (i + 1) % SEEDS.length;
        crossTp.push(matchFrame(gts[other][d.frame], d.objects).tp);
      }
    }
    const recall = own.tp / (own.tp + own.fn);
    const precision = own.tp / (own.tp + own.fp);
    expect(recall).toBeGreaterThan(0.9);
    expect(precision).toBeGreaterThan(0.9);
    expect(crossTp.reduce((a, b) => a + b, 0)).toBeLessThan(own.tp * 0.1);
  });
});
