/**
 * Issue 3 acceptance, overload: a 30 fps source into a model slower than the source (a model made
 * slow on this machine: its run takes at least three frame intervals of CPU time).
 * `latest`: capture -> send latency stays bounded (the late window within about two inferences of
 * the early one) and the skipped frames are counted as policy drops. `all` on a file: every frame comes out, in order.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import type { RunningServer } from '../src/serve/server.js';
import type { FrameResult } from '../src/types.js';
import { calibrateCostlyModel } from './helpers/costlyModel.js';
import { TestClient, api, percentile, startTestServer, until } from './helpers/serveHarness.js';

/** Frame interval of the 30 fps source, ms. */
const FRAME_MS = 1000 / 30;
let server: RunningServer;
let clip30: string;
let clip15: { video: string; frames: number };
let heavyModel: string;
let lightModel: string;

beforeAll(async () => {
  const [c30, c15, light] = await Promise.all([ensureDemoClip({ fps: 30, seconds: 6 }), ensureDemoClip(), ensureModel('synthetic-det')]);
  // Calibrated on CPU time, alone in this process: the model stays slower than the source even if
  // the machine is far less loaded during the test than during the calibration.
  const heavy = (await calibrateCostlyModel(mkdtempSync(join(tmpdir(), 'streamlens-overload-')), 3 * FRAME_MS, 'cpu')).path;
  clip30 = c30.video;
  clip15 = c15;
  heavyModel = heavy;
  lightModel = light;
  server = await startTestServer(
    {
      models: { [heavy]: { intraOpThreads: 1, maxBatch: 1 }, [light]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dirname(clip30)] },
      streams: [],
    },
    process.cwd(),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('serve: overload', () => {
  it('latest: latency does not drift when inference is slower than the 30 fps source', async () => {
    const model = heavyModel;
    // Every frame to the detector (no motion gating), so inference is the bottleneck.
    const added = await api(server, 'POST', '/api/streams', { id: 'fast', url: clip30, model, loop: true, realtime: true, video: false, dropPolicy: 'latest', tracker: false, motion: { enabled: false } });
    expect(added.status).toBe(201);
    const client = await TestClient.connect(server);
    await client.subscribe(['fast']);
    await client.waitFor(() => client.detections.length >= 3, 30_000, 'first detections');
    // A queue would drift by ~(1 - out/in) s per second: compare the first results with those
    // after 8 s, once there are enough of both however slowly this machine runs.
    const t0 = Date.now();
    const after = (ms: number) => client.detections.filter((d) => (d.ts as number) >= t0 + ms).length;
    await client.waitFor(() => after(0) >= 10 && after(8000) >= 10, 90_000, 'ten results after 8 s');
    const stats = (await api(server, 'GET', '/api/streams/fast')).json;
    client.close();
    await api(server, 'DELETE', '/api/streams/fast');

    const rows = client.detections.map((d) => ({ at: d.ts as number, total: d.latency.total_ms as number, inference: d.latency.run_ms as number }));
    // Early: the first 4 s after t0, at least 10 results.
    const early = rows.filter((r) => r.at >= t0).filter((r, i) => r.at < t0 + 4000 || i < 10).map((r) => r.total);
    const late = rows.filter((r) => r.at >= t0 + 8000).map((r) => r.total);
    const inference = percentile(rows.map((r) => r.inference), 0.5);
    const seconds = (rows.at(-1)!.at - rows[0].at) / 1000;
    console.log(
      `overload latest: ${rows.length} results in ${seconds.toFixed(1)} s (${(rows.length / seconds).toFixed(1)} fps out, ${stats.fpsIn} fps in), inference p50 ${inference} ms; ` +
        `capture->send early p50/p95 ${percentile(early, 0.5)}/${percentile(early, 0.95)} ms, late p50/p95 ${percentile(late, 0.5)}/${percentile(late, 0.95)} ms; ` +
        `server p50/p95/max ${stats.latency.p50}/${stats.latency.p95}/${stats.latency.max} ms; drops ${JSON.stringify(stats.drops)}`,
    );
    // The premise, in this run: the model is slower than the source, so latest drops what inference cannot take.
    expect(inference).toBeGreaterThan(FRAME_MS);
    expect(stats.drops.policy).toBeGreaterThan(0);
    expect(stats.framesDecoded).toBeGreaterThan(stats.framesInferred);
    // No drift: a queue would grow by ~(1 - out/in) s per second, seconds after 8 s; latest keeps it
    // within about one inference of the start (inference time itself varies with the machine's load).
    expect(percentile(late, 0.5)).toBeLessThan(percentile(early, 0.5) + 2 * inference + 100);
    expect(percentile(late, 0.95)).toBeLessThan(4 * inference + 100);
  });

  it('all: every frame of a file comes out, in order, none dropped', async () => {
    const model = lightModel;
    const results: FrameResult[] = [];
    const sub = server.hub.results$.subscribe((r) => r.streamId === 'file' && results.push(r));
    const added = await api(server, 'POST', '/api/streams', { id: 'file', url: clip15.video, model, realtime: false, video: false });
    expect(added.status).toBe(201);
    expect(added.json.config.dropPolicy).toBe('all');
    await until(async () => (await api(server, 'GET', '/api/streams/file')).json.state === 'ended', 60_000, 'the file to end');
    sub.unsubscribe();
    const stats = (await api(server, 'GET', '/api/streams/file')).json;
    console.log(`all: ${results.length} frames of ${clip15.frames}, fps out ${stats.fpsOut}, drops ${JSON.stringify(stats.drops)}`);
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: clip15.frames }, (_, i) => i));
    expect(stats.drops).toEqual({ policy: 0, staleness: 0, client: 0 });
    expect(stats.framesSent).toBe(clip15.frames);
    await api(server, 'DELETE', '/api/streams/file');
  });
});
