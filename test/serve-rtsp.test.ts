/**
 * Issue 3 acceptance, RTSP: a real GStreamer RTSP server, the real server, real WebSocket clients.
 * Kill the camera mid-stream -> reconnecting -> restart -> frames again, no ffmpeg left behind;
 * a camera that is down at first is picked up once it appears.
 */
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import type { RunningServer } from '../src/serve/server.js';
import { startRtspServer } from './helpers/rtspServer.js';
import { TestClient, api, ffmpegChildPids, startTestServer, until } from './helpers/serveHarness.js';

let clip: string;
let model: string;

beforeAll(async () => {
  [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
});

const liveStream = (id: string, url: string) => ({
  id,
  url,
  reconnect: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0.2 },
  // The synthetic clip has a keyframe every second (synth v3), so a new RTSP session has a picture
  // within about a second; 5 s leaves room for a loaded machine.
  stallTimeoutSeconds: 5,
  probeTimeoutMs: 3000,
  video: false,
});

describe('serve: RTSP ingest with reconnect', () => {
  let server: RunningServer | undefined;

  afterAll(async () => {
    await server?.close();
  });

  it('delivers detections, reconnects after the camera dies and comes back, and leaves no ffmpeg behind', async () => {
    let camera = await startRtspServer({ file: clip, path: 'cam' });
    server = await startTestServer({ models: { [model]: {} }, server: { mediaFolders: [dirname(clip)] }, streams: [liveStream('cam', camera.url)] }, process.cwd());
    const client = await TestClient.connect(server);
    await client.subscribe(['cam']);
    await client.waitFor(() => client.detections.length >= 20, 40_000, '20 detections messages');
    const first = client.detections[0];
    expect(first).toMatchObject({ type: 'detections', stream: 'cam', width: 640, height: 480 });
    expect(client.detections.some((d) => d.objects.length > 0)).toBe(true);
    const obj = client.detections.find((d) => d.objects.length > 0)!.objects[0];
    expect(obj.box).toHaveLength(4);
    expect(typeof obj.label).toBe('string');
    // seq increases strictly
    for (let i = 1; i < client.detections.length; i++) expect(client.detections[i].seq).toBeGreaterThan(client.detections[i - 1].seq);

    // The camera dies: the stream reconnects.
    const port = camera.port;
    const statesBefore = client.states.length;
    camera.kill();
    await client.waitFor(() => client.states.slice(statesBefore).some((s) => s.state === 'reconnecting'), 15_000, 'state reconnecting');
    const stats = (await api(server, 'GET', '/api/streams/cam')).json;
    expect(stats.state).toBe('reconnecting');
    expect(stats.reconnects).toBeGreaterThanOrEqual(1);
    const seqBefore = client.detections.at(-1)!.seq;

    // It comes back on the same port: frames flow again, seq keeps increasing.
    camera = await startRtspServer({ file: clip, path: 'cam', port });
    const n = client.detections.length;
    await client.waitFor(() => client.detections.length >= n + 10, 40_000, 'detections after the camera restarted');
    expect(client.detections.at(-1)!.seq).toBeGreaterThan(seqBefore);
    expect((await api(server, 'GET', '/api/streams/cam')).json.state).toBe('streaming');

    // Remove the stream: its ffmpeg ends.
    expect((await api(server, 'DELETE', '/api/streams/cam')).status).toBe(204);
    expect(liveFfmpegChildren()).toBe(0);
    await until(() => ffmpegChildPids().length === 0, 5000, 'no ffmpeg child processes');
    client.close();
    await camera.stop();
  });

  it('connects to a camera that is down at first once it appears', async () => {
    const later = await startRtspServer({ file: clip, path: 'late' });
    const { url, port } = later;
    await later.stop();
    const added = await api(server!, 'POST', '/api/streams', liveStream('late', url));
    expect(added.status).toBe(201);
    await until(async () => (await api(server!, 'GET', '/api/streams/late')).json.state === 'reconnecting', 15_000, 'state reconnecting');
    const camera = await startRtspServer({ file: clip, path: 'late', port });
    try {
      await until(async () => (await api(server!, 'GET', '/api/streams/late')).json.framesSent > 5, 40_000, 'frames from the late camera');
      const s = (await api(server!, 'GET', '/api/streams/late')).json;
      expect(s.state).toBe('streaming');
      expect(s.reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await server!.close();
      server = undefined;
      await camera.stop();
    }
    expect(liveFfmpegChildren()).toBe(0);
    expect(ffmpegChildPids()).toEqual([]);
  });
});
