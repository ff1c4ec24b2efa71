/**
 * Issue 3 acceptance, errors and the API: bad stream config (field named), unreachable URL while
 * another stream keeps running, stream removal, malformed client messages, oversized messages,
 * snapshot, info, auth.
 */
import { dirname } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import type { RunningServer } from '../src/serve/server.js';
import { TestClient, api, ffmpegChildPids, startTestServer, until } from './helpers/serveHarness.js';
import { holdClosedPort } from './helpers/closedPort.js';

let server: RunningServer;
let clip: string;

beforeAll(async () => {
  const [c, model] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  clip = c.video;
  server = await startTestServer(
    {
      models: { [model]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dirname(clip)], maxPayloadBytes: 1024, maxBodyBytes: 4096, authToken: 'sekret' },
      streams: [{ id: 'demo', url: clip, loop: true, realtime: true, video: true }],
    },
    process.cwd(),
  );
});

afterAll(async () => {
  await server?.close();
  expect(liveFfmpegChildren()).toBe(0);
  expect(ffmpegChildPids()).toEqual([]);
});

const auth = { authorization: 'Bearer sekret' };

describe('serve: HTTP API', () => {
  it('requires the token for the API and WebSocket, not for /healthz', async () => {
    expect((await api(server, 'GET', '/healthz')).json.status).toBe('ok');
    expect((await api(server, 'GET', '/api/streams')).status).toBe(401);
    expect((await api(server, 'GET', '/api/streams', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await api(server, 'GET', '/api/streams?token=sekret')).status).toBe(200);
    await expect(TestClient.connect(server)).rejects.toThrow(/401/);
  });

  it('lists streams and serves info and a snapshot with boxes', async () => {
    await until(async () => (await api(server, 'GET', '/api/streams/demo', undefined, auth)).json.framesSent > 5, 30_000, 'demo frames');
    const list = (await api(server, 'GET', '/api/streams', undefined, auth)).json;
    expect(list.streams.map((s: { id: string }) => s.id)).toEqual(['demo']);
    expect(list.streams[0].config.dropPolicy).toBe('latest');
    const info = (await api(server, 'GET', '/api/info', undefined, auth)).json;
    expect(info.models[0]).toMatchObject({ inputWidth: 640, inputHeight: 640, activeProvider: 'cpu', streams: ['demo'] });
    expect(info.models[0].classes.length).toBeGreaterThan(0);
    const snap = await api(server, 'GET', '/api/streams/demo/snapshot.jpg', undefined, auth);
    expect(snap.status).toBe(200);
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    expect(await sharp(snap.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
    expect((await api(server, 'GET', '/api/streams/nope/snapshot.jpg', undefined, auth)).status).toBe(404);
    expect((await api(server, 'GET', '/api/nothing', undefined, auth)).status).toBe(404);
    expect((await api(server, 'PUT', '/api/streams', {}, auth)).status).toBe(405);
  });

  it('rejects a bad stream with the field named, an oversized body and duplicates', async () => {
    const bad = await api(server, 'POST', '/api/streams', { id: 'x', url: 'rtsp://h/s', dropPolicy: 'fast' }, auth);
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('dropPolicy: expected "latest", "all" or "queue:N" (N >= 1), got "fast"');
    expect(bad.json.issues).toEqual([{ path: 'dropPolicy', message: 'expected "latest", "all" or "queue:N" (N >= 1), got "fast"' }]);
    const file = await api(server, 'POST', '/api/streams', { id: 'x', url: '/etc/passwd' }, auth);
    expect(file.status).toBe(400);
    expect(file.json.error).toMatch(/^url: file "\/etc\/passwd" is not inside a media folder/);
    const proto = await api(server, 'POST', '/api/streams', { id: 'x', url: 'concat:/etc/passwd|/etc/hosts' }, auth);
    expect(proto.status).toBe(400);
    expect((await api(server, 'POST', '/api/streams', 'x'.repeat(10_000), auth)).status).toBe(413);
    expect((await api(server, 'POST', '/api/streams', '{nope', auth)).status).toBe(400);
    expect((await api(server, 'POST', '/api/streams', { id: 'demo', url: 'rtsp://h/s' }, auth)).status).toBe(409);
  });

  it('an unreachable URL reconnects while the other stream keeps running; removing it ends its ffmpeg', async () => {
    const closed = await holdClosedPort();
    const url = `rtsp://127.0.0.1:${closed.port}/none`;
    const added = await api(server, 'POST', '/api/streams', { id: 'gone', url, probeTimeoutMs: 5000, reconnect: { initialMs: 100, maxMs: 500 } }, auth);
    expect(added.status).toBe(201);
    await until(async () => (await api(server, 'GET', '/api/streams/gone', undefined, auth)).json.reconnects >= 2, 20_000, 'reconnect attempts');
    const gone = (await api(server, 'GET', '/api/streams/gone', undefined, auth)).json;
    await closed.release();
    expect(gone.state).toBe('reconnecting');
    expect(gone.lastError).toBe(`cannot open ${url} (ffmpeg: Connection refused)`);
    const before = (await api(server, 'GET', '/api/streams/demo', undefined, auth)).json.framesSent;
    await until(async () => (await api(server, 'GET', '/api/streams/demo', undefined, auth)).json.framesSent > before + 10, 10_000, 'demo keeps running');
    expect((await api(server, 'GET', '/api/streams/demo', undefined, auth)).json.state).toBe('streaming');

    expect((await api(server, 'DELETE', '/api/streams/gone', undefined, auth)).status).toBe(204);
    expect((await api(server, 'GET', '/api/streams/gone', undefined, auth)).status).toBe(404);
    expect((await api(server, 'DELETE', '/api/streams/gone', undefined, auth)).status).toBe(404);
    // Only the demo's decoder remains.
    expect(liveFfmpegChildren()).toBe(1);
  });

  it('a file stream whose file is missing is retried with the reason shown (it may appear)', async () => {
    const added = await api(server, 'POST', '/api/streams', { id: 'missing', url: dirname(clip) + '/missing.mp4' }, auth);
    expect(added.status).toBe(201);
    await until(async () => (await api(server, 'GET', '/api/streams/missing', undefined, auth)).json.state === 'reconnecting', 15_000, 'reconnecting');
    expect((await api(server, 'GET', '/api/streams/missing', undefined, auth)).json.lastError).toBe(`input not found: ${dirname(clip)}/missing.mp4`);
    await api(server, 'DELETE', '/api/streams/missing', undefined, auth);
  });
});

describe('serve: WebSocket protocol errors', () => {
  it('answers malformed and unknown messages with errors and keeps the connection', async () => {
    const c = await TestClient.connect(server, '?token=sekret');
    c.send('not json');
    c.send('[1,2]');
    c.send({ type: 'dance' });
    c.send({ type: 'subscribe', streams: 'demo' });
    c.send({ type: 'subscribe', streams: ['nope'] });
    c.ws.send(Buffer.from([1, 2, 3]));
    await c.waitFor(() => c.errors.length >= 6, 5000, 'six errors');
    expect(c.errors.map((e) => e.code)).toEqual(['bad_json', 'bad_message', 'unknown_type', 'bad_message', 'unknown_stream', 'binary_not_supported']);
    expect(c.ws.readyState).toBe(c.ws.OPEN);

    await c.subscribe(['demo']);
    await c.waitFor(() => c.detections.length >= 3 && c.states.length >= 1, 10_000, 'detections after errors');
    expect(c.states[0]).toMatchObject({ type: 'state', stream: 'demo', state: 'streaming' });
    await c.waitFor(() => c.stats.length >= 1, 5000, 'stats');
    expect(c.stats[0].streams[0]).toMatchObject({ id: 'demo', state: 'streaming' });
    c.send({ type: 'unsubscribe', streams: ['demo'] });
    await c.waitFor(() => c.control.some((m) => m.type === 'unsubscribed'), 5000, 'unsubscribed');

    // Oversized messages are refused: ws closes with 1009.
    c.send(JSON.stringify({ type: 'subscribe', streams: ['x'.repeat(2000)] }));
    await c.waitFor(() => c.closeCode !== undefined, 5000, 'close');
    expect(c.closeCode).toBe(1009);
  });
});

describe('serve: subscribing to every stream with "*"', () => {
  it('covers the streams present and those added later; unsubscribing "*" ends all of it', async () => {
    const c = await TestClient.connect(server, '?token=sekret');
    try {
      await c.subscribe(['*'], true);
      expect(c.control.find((m) => m.type === 'subscribed')).toMatchObject({ all: true, video: true, streams: expect.arrayContaining(['demo']) });
      await c.waitFor(() => c.detections.some((d) => d.stream === 'demo') && c.videos.length > 0, 10_000, 'demo detections and video');

      const added = await api(server, 'POST', '/api/streams', { id: 'late', url: clip, loop: true, realtime: true }, auth);
      expect(added.status).toBe(201);
      await c.waitFor(() => c.control.some((m) => m.type === 'subscribed' && m.streams[0] === 'late'), 10_000, 'automatic subscription to the new stream');
      expect(c.control.find((m) => m.type === 'subscribed' && m.streams[0] === 'late')).toEqual({ type: 'subscribed', streams: ['late'], video: true, all: true });
      await c.waitFor(() => c.detections.some((d) => d.stream === 'late') && c.videos.some((v) => v.header.stream === 'late'), 15_000, 'late detections and video');
      expect(c.states.some((m) => m.stream === 'late')).toBe(true);

      c.send({ type: 'unsubscribe', streams: ['*'] });
      await c.waitFor(() => c.control.some((m) => m.type === 'unsubscribed'), 5000, 'unsubscribed');
      expect(c.control.find((m) => m.type === 'unsubscribed')).toMatchObject({ all: true, streams: expect.arrayContaining(['demo', 'late']) });
      // The server stops delivering before it acknowledges, and one socket keeps the order: whatever
      // came before the acknowledgement is all there is. Nothing may follow it.
      const count = c.detections.length;
      await new Promise((r) => setTimeout(r, 1000));
      expect(c.detections.length).toBe(count);
    } finally {
      c.close();
      await api(server, 'DELETE', '/api/streams/late', undefined, auth);
    }
  });
});
