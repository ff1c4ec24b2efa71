/**
 * A live stream on the segmentation model: WebSocket objects carry RLE masks at source size,
 * the snapshot fills them, tracking adds ids without dropping detections, and a model that asks
 * for TensorRT on this CPU host falls back to the CPU with one warning line.
 */
import { dirname } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { renderSnapshot } from '../src/serve/snapshot.js';
import { decodeRle } from '../src/infer/adapters/rle.js';
import { TestClient, api, until, type Json } from './helpers/serveHarness.js';

let server: RunningServer;
let client: TestClient;
let model: string;
const logLines: Json[] = [];

beforeAll(async () => {
  const [clip, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-seg')]);
  model = m;
  const config = parseConfig(
    {
      server: { host: '127.0.0.1', port: 0, mediaFolders: [dirname(clip.video)], statsIntervalMs: 200 },
      models: { [model]: { providers: ['tensorrt', 'cpu'], intraOpThreads: 1 } },
      streams: [{ id: 'seg', url: clip.video, loop: true, realtime: true, video: true, fps: 8 }],
    },
    process.cwd(),
  );
  const log = createLogger({ test: true }, 'warn', (line) => logLines.push(JSON.parse(line) as Json));
  server = await startServer({ config, hub: StreamHub.forConfig(config, log), version: 'test', log });
  client = await TestClient.connect(server);
  await client.subscribe(['seg']);
  await client.waitFor(() => client.detections.length >= 20 && client.stats.some((s) => s.models?.length), 60_000, 'seg detections');
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

describe('live segmentation stream', () => {
  it('sends masks as RLE at source size, inside the box, with a plausible area', () => {
    const objects = client.detections.flatMap((d) => d.objects as Json[]);
    expect(objects.length).toBeGreaterThan(30);
    for (const o of objects) {
      expect(o.mask.size).toEqual([480, 640]);
      expect(o.mask.counts.reduce((a: number, b: number) => a + b, 0)).toBe(480 * 640);
      const bits = decodeRle(o.mask);
      let area = 0;
      let outside = 0;
      const [x1, y1, x2, y2] = o.box as number[];
      for (let y = 0; y < 480; y++) {
        for (let x = 0; x < 640; x++) {
          if (!bits[y * 640 + x]) continue;
          area++;
          if (x < x1 - 2 || x > x2 + 2 || y < y1 - 2 || y > y2 + 2) outside++;
        }
      }
      const boxArea = (x2 - x1) * (y2 - y1);
      // Shapes are ellipses, rectangles, triangles...: between ~30% and 100% of their box.
      expect(area / boxArea).toBeGreaterThan(0.25);
      expect(area / boxArea).toBeLessThan(1.1);
      expect(outside).toBe(0);
    }
  });

  it('keeps every detection and adds track ids for confirmed tracks', () => {
    const objects = client.detections.flatMap((d) => d.objects as Json[]);
    const tracked = objects.filter((o) => o.track_id !== null);
    expect(tracked.length).toBeGreaterThan(objects.length / 2);
    for (const o of tracked) expect(Number.isInteger(o.track_id)).toBe(true);
  });

  it('fills the masks in the snapshot', async () => {
    const snap = await api(server, 'GET', '/api/streams/seg/snapshot.jpg');
    expect(snap.status).toBe(200);
    expect(await sharp(snap.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
    const result = server.snapshots.get('seg')!;
    expect(result.detections.length).toBeGreaterThan(0);
    const withMasks = await sharp(await renderSnapshot(result)).raw().toBuffer();
    const boxesOnly = await sharp(await renderSnapshot({ ...result, detections: result.detections.map(({ mask: _m, ...d }) => d) })).raw().toBuffer();
    const inside = new Uint8Array(640 * 480);
    for (const d of result.detections) decodeRle(d.mask!).forEach((v, i) => v && (inside[i] = 1));
    let diffIn = 0;
    let nIn = 0;
    let diffOut = 0;
    let nOut = 0;
    for (let i = 0; i < inside.length; i++) {
      const d = Math.abs(withMasks[i * 3] - boxesOnly[i * 3]) + Math.abs(withMasks[i * 3 + 1] - boxesOnly[i * 3 + 1]) + Math.abs(withMasks[i * 3 + 2] - boxesOnly[i * 3 + 2]);
      if (inside[i]) (diffIn += d), nIn++;
      else (diffOut += d), nOut++;
    }
    expect(nIn).toBeGreaterThan(500);
    expect(diffIn / nIn).toBeGreaterThan(30);
    // Outside the masks the two renderings are the same picture (JPEG noise only).
    expect(diffOut / nOut).toBeLessThan(diffIn / nIn / 5);
  });

  it('falls back from tensorrt to cpu with one warning line, and reports cpu', async () => {
    const warnings = logLines.filter((l) => l.level === 'warn' || l.level === 40);
    const fallback = warnings.filter((l) => /execution provider 'tensorrt' is not available on this host .*falling back to 'cpu'/.test(String(l.msg)));
    expect(fallback).toHaveLength(1);
    expect(String(fallback[0].msg)).not.toContain('\n');
    const info = (await api(server, 'GET', '/api/info')).json;
    const m = info.models.find((x: Json) => x.path === model);
    expect(m).toMatchObject({ activeProvider: 'cpu', task: 'segment', streams: ['seg'] });
    expect(m.batching.frames).toBeGreaterThan(0);
    expect((await api(server, 'GET', '/api/streams/seg')).json.provider).toBe('cpu');
    const stats = client.stats.at(-1)!;
    expect(stats.streams[0]).toMatchObject({ id: 'seg', provider: 'cpu' });
    expect(stats.models[0]).toMatchObject({ path: model, activeProvider: 'cpu' });
    expect(stats.models[0].batching.meanBatchSize).toBeGreaterThanOrEqual(1);
    expect(stats.models[0].batching.queueWaitMs.mean).toBeGreaterThanOrEqual(0);
  });
});
