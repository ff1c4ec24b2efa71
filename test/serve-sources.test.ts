/**
 * Issue 13 through the server: files over HTTP (mp4, webm) and an HLS recording give every frame
 * and end; a live HLS playlist that freezes is `stalled` and resumes when it moves on, without a
 * stale segment played twice; one that finishes (end marker) ends; a camera that refuses the password is `unauthorized`; the stream
 * view shows the source (type, displayed size). A phone video (display matrix) is served in its
 * displayed orientation: detections, video header, JPEG and snapshot agree. Damaged data is
 * counted in the stream view and /metrics. Real HTTP and RTSP servers, real ffmpeg, the built-in
 * detector.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/serve/server.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { generateClip } from '../src/tools/synth/index.js';
import { startHttpSources, type HttpSources } from '../bench/sourceServers.js';
import sharp from 'sharp';
import { damagedTs } from './helpers/damagedVideo.js';
import { rotatedCopy } from './helpers/rotation.js';
import { startRtspServer, type RtspServer } from './helpers/rtspServer.js';
import { TestClient, api, startTestServer, until, type Json } from './helpers/serveHarness.js';

let dir: string;
let http: HttpSources;
let rtsp: RtspServer;
let server: RunningServer;
let model: string;
let rotated: string;
const FRAMES = 45;

function ffmpeg(...args: string[]): void {
  execFileSync('/usr/bin/ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { timeout: 120_000 });
}

const stream = async (id: string): Promise<Json> => (await api(server, 'GET', `/api/streams/${id}`)).json;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-serve-sources-'));
  const clip = (await generateClip({ out: join(dir, 'clip.mp4'), seed: 5, seconds: 3, targets: 4, width: 320, height: 240 })).video;
  const webm = join(dir, 'clip.webm');
  ffmpeg('-i', clip, '-c:v', 'libvpx', '-b:v', '600k', '-deadline', 'realtime', '-cpu-used', '8', webm);
  ffmpeg('-i', clip, '-c', 'copy', '-f', 'segment', '-segment_time', '1', '-reset_timestamps', '0', join(dir, 'seg%d.ts'));
  const segments = readdirSync(dir).filter((f) => /^seg\d+\.ts$/.test(f)).sort((a, b) => Number(a.slice(3, -3)) - Number(b.slice(3, -3))).map((f) => join(dir, f));
  rotated = rotatedCopy(clip, 90, join(dir, 'phone.mp4'));
  const clean = join(dir, 'clean.ts');
  ffmpeg('-i', clip, '-c:v', 'libx264', '-g', '15', '-bf', '0', '-preset', 'veryfast', '-f', 'mpegts', clean);
  const damaged = damagedTs(clean, join(dir, 'damaged.ts'));
  http = await startHttpSources({
    files: { '/clip.mp4': clip, '/clip.webm': webm, '/damaged.ts': damaged },
    hlsVod: { '/vod.m3u8': { segments, segmentSeconds: 1 } },
    hlsLive: { '/live.m3u8': { segments, segmentSeconds: 1, window: 3 }, '/event.m3u8': { segments, segmentSeconds: 1, window: 3 } },
  });
  rtsp = await startRtspServer({ file: clip, user: 'cam', password: 'right' });
  model = await ensureModel('synthetic-det', { imgsz: 320 });
  server = await startTestServer({ models: { [model]: { intraOpThreads: 1 } }, server: { mediaFolders: [dir] }, streams: [] }, dir);
});

afterAll(async () => {
  await server?.close();
  await rtsp?.stop();
  await http?.close();
});

describe('finite sources over HTTP', () => {
  it.each([
    ['mp4', '/clip.mp4', 'http-file'],
    ['webm', '/clip.webm', 'http-file'],
    ['hls', '/vod.m3u8', 'hls-vod'],
  ])('%s: every frame goes through, then the stream ends (not "live source ended" and a replay)', async (id, path, type) => {
    const added = await api(server, 'POST', '/api/streams', { id, url: http.url(path), model, realtime: false, dropPolicy: 'all', video: false });
    expect(added.status).toBe(201);
    await until(async () => (await stream(id)).state === 'ended', 60_000, `${id} ended`);
    const s = await stream(id);
    expect(s).toMatchObject({ framesDecoded: FRAMES, framesSent: FRAMES, reconnects: 0, source: { type, width: 320, height: 240, rotation: 0 } });
    expect(s.lastError).toBeUndefined();
  });
});

describe('live sources that stop or refuse', () => {
  it('a live HLS playlist that freezes: stalled, with the reason; streaming again once it moves on', async () => {
    const added = await api(server, 'POST', '/api/streams', { id: 'live', url: http.url('/live.m3u8'), model, video: false, reconnect: { initialMs: 200, maxMs: 1000 } });
    expect(added.status).toBe(201);
    await until(async () => (await stream('live')).framesSent >= 10, 30_000, 'hls streaming');
    expect((await stream('live')).source).toMatchObject({ type: 'hls-live' });
    http.freeze('/live.m3u8');
    await until(async () => (await stream('live')).state === 'stalled', 30_000, 'stalled');
    const frozen = await stream('live');
    expect(frozen.lastError).toMatch(/the HLS playlist (stopped advancing|has not moved on)/);
    // Retries while frozen fetch the playlist only: no segment is played again.
    const decoded = frozen.framesDecoded;
    const segmentsBefore = http.log().filter((p) => p.endsWith('.ts')).length;
    await until(async () => (await stream('live')).reconnects >= frozen.reconnects + 2, 20_000, 'two more refused opens');
    expect(http.log().filter((p) => p.endsWith('.ts')).length).toBe(segmentsBefore);
    expect((await stream('live')).framesDecoded).toBe(decoded);
    http.resume('/live.m3u8');
    await until(async () => (await stream('live')).state === 'streaming', 30_000, 'streaming again');
    await api(server, 'DELETE', '/api/streams/live');
  });

  it('a live HLS broadcast that finishes (end marker appended): the stream ends, nothing replayed', async () => {
    const added = await api(server, 'POST', '/api/streams', { id: 'event', url: http.url('/event.m3u8'), model, video: false, reconnect: { initialMs: 200, maxMs: 1000 } });
    expect(added.status).toBe(201);
    await until(async () => (await stream('event')).framesSent >= 10, 30_000, 'hls streaming');
    http.finish('/event.m3u8');
    await until(async () => (await stream('event')).state === 'ended', 30_000, 'ended');
    const s = await stream('event');
    expect(s).toMatchObject({ reconnects: 0, source: { type: 'hls-live' } });
    expect(s.lastError).toBeUndefined();
    // Every segment fetched once: the finished window was not played again as a recording.
    const fetched = http.log().filter((p) => p.startsWith('/event/') && p.endsWith('.ts'));
    expect(fetched.length).toBeGreaterThan(0);
    expect(new Set(fetched).size).toBe(fetched.length);
    await api(server, 'DELETE', '/api/streams/event');
  });

  it('a camera that refuses the password: unauthorized, retried at the slowest pace, the password never shown', async () => {
    const url = rtsp.url.replace('rtsp://', 'rtsp://cam:wrong@');
    const added = await api(server, 'POST', '/api/streams', { id: 'locked', url, model, video: false, reconnect: { initialMs: 100, maxMs: 3000, jitter: 0 } });
    expect(added.status).toBe(201);
    await until(async () => (await stream('locked')).state === 'unauthorized', 30_000, 'unauthorized');
    const s = await stream('locked');
    expect(s.lastError).toMatch(/^rtsp:\/\/cam:\*\*\*@127\.0\.0\.1:\d+\/stream: the server refused the credentials \(.*401 Unauthorized.*\)$/);
    expect(JSON.stringify(s)).not.toContain('wrong');
    // initialMs 100 would retry ten times a second: at the slowest pace (3 s), one attempt within 2 s.
    const attempts = s.reconnects;
    await new Promise((r) => setTimeout(r, 2000));
    expect((await stream('locked')).reconnects - attempts).toBeLessThanOrEqual(1);
    await api(server, 'DELETE', '/api/streams/locked');
  });
});

describe('what a player shows', () => {
  it('a phone video (display matrix 90): detections, video header, JPEG and snapshot all at the displayed size', async () => {
    const added = await api(server, 'POST', '/api/streams', { id: 'phone', url: rotated, model, loop: true, jpegMaxWidth: 0 });
    expect(added.status).toBe(201);
    const client = await TestClient.connect(server);
    try {
      await client.subscribe(['phone'], true);
      await client.waitFor(() => client.videos.length >= 5, 60_000, 'five video frames');
      // Stored 240x320, shown 320x240: everything speaks the displayed size.
      expect(client.detections.slice(0, 5).map((d) => [d.width, d.height])).toEqual(Array(5).fill([320, 240]));
      for (const v of client.videos.slice(0, 5)) {
        expect([v.header.width, v.header.height, v.jpegWidth, v.jpegHeight]).toEqual([320, 240, 320, 240]);
      }
      expect((await stream('phone')).source).toMatchObject({ width: 320, height: 240, rotation: 90 });
      const snap = await api(server, 'GET', '/api/streams/phone/snapshot.jpg');
      expect(snap.status).toBe(200);
      const meta = await sharp(snap.bytes).metadata();
      expect([meta.width, meta.height]).toEqual([320, 240]);
    } finally {
      client.close();
      await api(server, 'DELETE', '/api/streams/phone');
    }
  });

  it('damaged data: the frames the decoder met it in are counted in the stream view and /metrics', async () => {
    const added = await api(server, 'POST', '/api/streams', { id: 'damaged', url: http.url('/damaged.ts'), model, realtime: false, dropPolicy: 'all', video: false });
    expect(added.status).toBe(201);
    await until(async () => (await stream('damaged')).state === 'ended', 60_000, 'damaged ended');
    const s = await stream('damaged');
    expect(s.decodeErrors).toBeGreaterThan(0);
    expect(s.decodeErrors).toBeLessThanOrEqual(s.framesDecoded);
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    expect(metrics).toContain(`streamlens_stream_decode_errors_total{stream="damaged"} ${s.decodeErrors}\n`);
    await api(server, 'DELETE', '/api/streams/damaged');
  });
});
