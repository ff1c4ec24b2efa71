/**
 * Motion settings changed on a running stream (PUT /api/streams/:id/motion): the motion scene
 * served in real time, every frame (dropPolicy "all"), through the real server, watched by a real
 * WebSocket client. A change is applied to the frames that follow without restarting the source
 * (seq goes on, no reconnect, the background is kept: no second `start`); turning gating off runs
 * every frame, on again starts afresh; an invalid body is 400 naming the field and changes
 * nothing; turning regions on is 409 where the decoder makes no source-size frames, and allowed
 * where it does (a stream started with regions).
 */
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip, MOTION_SCENE_SECONDS } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import type { RunningServer } from '../src/serve/server.js';
import { TestClient, api, startTestServer, until, type Json } from './helpers/serveHarness.js';

let server: RunningServer;
let client: TestClient;
let video: string;

/** Frames sent before a PUT's answer that may still be on their way to the client (10 fps). */
const IN_FLIGHT = 5;
const WHOLE_FRAME = [[[0, 0], [1, 0], [1, 1], [0, 1]]];
const DEFAULTS = { enabled: true, threshold: 20, minArea: 0.0002, keyframeSeconds: 2, backgroundSeconds: 1, regions: false, mask: [], coordinates: 'pixels' };

beforeAll(async () => {
  const [clip, model] = await Promise.all([ensureDemoClip({ scene: 'motion', fps: 10, seconds: MOTION_SCENE_SECONDS }), ensureModel('synthetic-det')]);
  video = clip.video;
  server = await startTestServer({ models: { [model]: { intraOpThreads: 1 } }, server: { mediaFolders: [dirname(clip.video)] } }, process.cwd());
  client = await TestClient.connect(server);
  await client.subscribe(['*']);
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

const frames = (): Json[] => client.detections.filter((d) => d.stream === 'cam');
const lastSeq = (): number => Math.max(-1, ...frames().map((d) => d.seq as number));
/** The frames after the answer to a PUT that came when the client had seen up to `answeredAt`. */
const after = (answeredAt: number, upTo = Infinity): Json[] => frames().filter((d) => d.seq > answeredAt + IN_FLIGHT && d.seq <= upTo);
const upToSeq = (seq: number): Promise<void> => until(() => lastSeq() >= seq, 120_000, `frame ${seq} of the stream`);

async function putMotion(body: unknown): Promise<{ answeredAt: number; json: Json }> {
  const res = await api(server, 'PUT', '/api/streams/cam/motion', body);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return { answeredAt: lastSeq(), json: res.json };
}

describe('PUT /api/streams/:id/motion on a running stream', () => {
  it('a mask over the whole frame: the frames that follow are never motion; lifted, motion is seen again; one source all along', async () => {
    const added = await api(server, 'POST', '/api/streams', { id: 'cam', url: video, loop: true, dropPolicy: 'all', video: false, motion: { enabled: true } });
    expect(added.status, JSON.stringify(added.json)).toBe(201);
    await upToSeq(3);
    // Before the first crossing (4 s: frame 40), so the masked frames take it in.
    const masked = await putMotion({ coordinates: 'normalized', mask: WHOLE_FRAME });
    expect(masked.answeredAt).toBeLessThan(40 - IN_FLIGHT);
    const config = { ...DEFAULTS, coordinates: 'normalized', mask: WHOLE_FRAME };
    expect(masked.json).toEqual({ stream: 'cam', config });
    expect((await api(server, 'GET', '/api/streams/cam/motion')).json).toEqual({ stream: 'cam', config });
    expect((await api(server, 'GET', '/api/streams/cam')).json.config.motion).toEqual(config);

    // A and B cross from 4 to 8.5 s: frames 40-85.
    await upToSeq(95);
    const quiet = after(masked.answeredAt, 95);
    expect(quiet.length).toBeGreaterThan(80);
    expect(quiet.filter((d) => d.motion.reason === 'motion')).toEqual([]);
    expect(quiet.every((d) => d.motion.changed === 0)).toBe(true);

    // Lifted before C comes up (12-14 s: frames 120-140): its motion is seen.
    const lifted = await putMotion({});
    expect(lifted.answeredAt).toBeLessThan(120 - IN_FLIGHT);
    expect(lifted.json.config).toEqual(DEFAULTS);
    await until(() => after(lifted.answeredAt).some((d) => d.motion.reason === 'motion'), 120_000, 'motion once the mask is lifted');

    // One source: every frame, numbered on; no reconnect; the background was kept (one start).
    const seqs = frames().map((d) => d.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    const stream = (await api(server, 'GET', '/api/streams/cam')).json;
    expect(stream.reconnects).toBe(0);
    expect(stream.state).toBe('streaming');
    expect(stream.motion.ran.start).toBe(1);
  });

  it('off: every frame goes to the detector again; on: gating starts afresh with a start', async () => {
    const off = await putMotion({ enabled: false });
    expect(off.json.config.enabled).toBe(false);
    await upToSeq(off.answeredAt + IN_FLIGHT + 20);
    const all = after(off.answeredAt);
    expect(all.length).toBeGreaterThanOrEqual(20);
    expect(all.every((d) => d.inferred === undefined && d.motion === undefined)).toBe(true);

    const on = await putMotion({ enabled: true, keyframeSeconds: 1 });
    expect(on.json.config).toEqual({ ...DEFAULTS, keyframeSeconds: 1 });
    await until(() => after(on.answeredAt).some((d) => d.inferred === false), 120_000, 'a skipped frame once gating is back on');
    const gated = frames().filter((d) => d.seq > off.answeredAt + IN_FLIGHT && d.motion !== undefined);
    expect(gated[0]!.motion.reason).toBe('start');
    expect(gated.slice(1).some((d) => d.motion.reason === 'start')).toBe(false);
    const seqs = frames().map((d) => d.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    const stream = (await api(server, 'GET', '/api/streams/cam')).json;
    expect(stream.reconnects).toBe(0);
    expect(stream.motion.ran.start).toBe(2);
  });

  it('refuses an invalid body with 400 naming the field, regions with 409, and changes nothing', async () => {
    const before = (await api(server, 'GET', '/api/streams/cam/motion')).json;
    const bad = await api(server, 'PUT', '/api/streams/cam/motion', { threshold: 0, mask: [[[0, 0], [1, 1]]] });
    expect(bad.status).toBe(400);
    expect(bad.json.issues).toEqual([
      { path: 'threshold', message: expect.any(String) },
      { path: 'mask[0]', message: expect.stringMatching(/^expected a polygon: at least 3 points/) },
    ]);
    expect(bad.json.error).toMatch(/^threshold: /);
    const unknown = await api(server, 'PUT', '/api/streams/cam/motion', { treshold: 30 });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/treshold/);
    expect((await api(server, 'PUT', '/api/streams/cam/motion', '{"threshold": ')).status).toBe(400);
    expect((await api(server, 'PUT', '/api/streams/cam/motion', { threshold: 30 }, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await api(server, 'PUT', '/api/streams/cam/motion', 'x'.repeat(100_000))).status).toBe(413);
    expect((await api(server, 'PUT', '/api/streams/nope/motion', {})).status).toBe(404);
    expect((await api(server, 'GET', '/api/streams/nope/motion')).status).toBe(404);
    const regions = await api(server, 'PUT', '/api/streams/cam/motion', { regions: true });
    expect(regions.status).toBe(409);
    expect(regions.json.error).toMatch(/^motion\.regions cannot be turned on while the stream runs: .*source-size frames/);
    expect((await api(server, 'GET', '/api/streams/cam/motion')).json).toEqual(before);
    expect(server.hub.settings('cam')?.motion).toEqual(before.config);
  });

  it('decides the 409 from what the decoder makes: a stream started with regions turns them off and on again live', async () => {
    expect((await api(server, 'GET', '/api/streams/cam')).json.sourceFrames).toBe(false);
    const added = await api(server, 'POST', '/api/streams', { id: 'src', url: video, loop: true, dropPolicy: 'all', video: false, motion: { enabled: true, regions: true } });
    expect(added.status, JSON.stringify(added.json)).toBe(201);
    const seen = (): number[] => client.detections.filter((d) => d.stream === 'src').map((d) => d.seq as number);
    await until(() => seen().length >= 3, 120_000, 'frames of src');
    expect((await api(server, 'GET', '/api/streams/src')).json.sourceFrames).toBe(true);
    // Off, then on again: its decoder makes the source-size frames all along.
    const put = async (motion: unknown): Promise<void> => {
      const res = await api(server, 'PUT', '/api/streams/src/motion', motion);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.config).toEqual({ ...DEFAULTS, ...(motion as object) });
    };
    await put({ regions: false });
    await put({ regions: true });
    await put({ enabled: false, regions: true });
    await put({ regions: true });
    const at = Math.max(...seen());
    await until(() => Math.max(...seen()) >= at + 5, 120_000, 'frames of src after the changes');
    const stream = (await api(server, 'GET', '/api/streams/src')).json;
    expect(stream).toMatchObject({ reconnects: 0, state: 'streaming', sourceFrames: true });
    const seqs = seen();
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    expect((await api(server, 'DELETE', '/api/streams/src')).status).toBe(204);
  });
});
