/**
 * Analytics on a live stream: the scripted analytics scene served in real time through the real
 * server (stage chain, hub, WebSocket gateway, HTTP API, /metrics). The events reach WebSocket
 * subscribers exactly as `analyze` writes them; counts come with the stats, over the API and in
 * /metrics; a PUT of the analytics mid-stream is applied without restarting the source and keeps
 * the counts and the tracks; reset and validation behave as documented.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ANALYTICS_SCENE_CONFIG, generateClip } from '../src/tools/synth/index.js';
import type { RunningServer } from '../src/serve/server.js';
import type { AnalyticsEvent } from '../src/types.js';
import { describeEvents, expectedSceneEvents } from './helpers/analyticsScene.js';
import { TestClient, api, startTestServer, until, type Json } from './helpers/serveHarness.js';

let dir: string;
let clip: string;
let server: RunningServer;
let client: TestClient;

const events = (): AnalyticsEvent[] => client.control.filter((m) => m.type === 'events').flatMap((m) => m.events as AnalyticsEvent[]);
const far = { name: 'far', from: [600, 10], to: [630, 10] };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'analytics-serve-'));
  const [c, model] = await Promise.all([generateClip({ out: join(dir, 'scene.mp4'), scene: 'analytics' }), ensureModel('synthetic-det')]);
  clip = c.video;
  server = await startTestServer({ models: { [model]: { intraOpThreads: 1 } }, server: { mediaFolders: [dir], statsIntervalMs: 200 } }, dir);
  client = await TestClient.connect(server);
  await client.subscribe(['*']);
});

afterAll(async () => {
  client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('analytics on a live stream', () => {
  it('publishes the expected events to subscribers, keeps them across a PUT mid-stream, and counts', async () => {
    // Every frame in real time ("all": none dropped), so the events are the ones analyze finds.
    const added = await api(server, 'POST', '/api/streams', { id: 'scene', url: clip, realtime: true, dropPolicy: 'all', video: false, analytics: ANALYTICS_SCENE_CONFIG });
    expect(added.status).toBe(201);
    await until(() => events().some((e) => e.type === 'line_cross'), 30_000, 'the first crossing');
    // A new line while the stream runs: applied in place (same source, same tracks, counts kept).
    const put = await api(server, 'PUT', '/api/streams/scene/analytics', { ...ANALYTICS_SCENE_CONFIG, lines: [...ANALYTICS_SCENE_CONFIG.lines!, far] });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    expect(put.json.config.lines.map((l: Json) => l.name)).toEqual(['gate', 'far']);
    expect(put.json.counts.lines).toEqual({ gate: { in: { red: 1 }, out: {} }, far: { in: {}, out: {} } });
    await until(() => client.states.some((s) => s.stream === 'scene' && s.state === 'ended'), 60_000, 'the end of the clip');
    await until(() => client.detections.filter((d) => d.stream === 'scene').length >= 180, 10_000, 'every frame');

    const got = events();
    expect(describeEvents(got)).toEqual(expectedSceneEvents());
    for (const e of got) {
      expect(e.stream).toBe('scene');
      expect(Date.parse(e.time!)).toBeGreaterThan(Date.now() - 120_000); // live: the capture's wall clock
    }
    // One source all along: no reconnect, frames numbered on without a restart.
    const seqs = client.detections.filter((d) => d.stream === 'scene').map((d) => d.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    const stream = await api(server, 'GET', '/api/streams/scene');
    expect(stream.json.reconnects).toBe(0);

    const counts = { lines: { gate: { in: { red: 1, blue: 1 }, out: { green: 1 } }, far: { in: {}, out: {} } }, zones: { bay: { red: 0 } } };
    expect((await api(server, 'GET', '/api/streams/scene/analytics')).json.counts).toEqual(counts);
    await until(() => client.stats.some((m) => m.streams.some((s: Json) => s.id === 'scene' && JSON.stringify(s.analytics) === JSON.stringify(counts))), 5000, 'counts in stats');

    const metrics = (await api(server, 'GET', '/metrics')).bytes.toString();
    expect(metrics).toContain('streamlens_analytics_line_crossings_total{stream="scene",line="gate",direction="in",label="red"} 1');
    expect(metrics).toContain('streamlens_analytics_line_crossings_total{stream="scene",line="gate",direction="out",label="green"} 1');
    expect(metrics).toContain('streamlens_analytics_zone_occupancy{stream="scene",zone="bay",label="red"} 0');
    expect(metrics).toContain('streamlens_analytics_events_total{stream="scene",type="line_cross"} 3');
    expect(metrics).toContain('streamlens_analytics_events_total{stream="scene",type="zone_loiter"} 1');
  });

  it('resets line counts (labels stay at 0, occupancy is the present)', async () => {
    const reset = await api(server, 'POST', '/api/streams/scene/analytics/reset');
    expect(reset.status).toBe(200);
    expect(reset.json.counts).toEqual({ lines: { gate: { in: { red: 0, blue: 0 }, out: { green: 0 } }, far: { in: {}, out: {} } }, zones: { bay: { red: 0 } } });
    expect((await api(server, 'GET', '/api/streams/scene/analytics')).json.counts.lines.gate.in).toEqual({ red: 0, blue: 0 });
    expect((await api(server, 'POST', '/api/streams/nope/analytics/reset')).status).toBe(404);
  });

  it('refuses an invalid analytics config with 400 naming the field, and changes nothing', async () => {
    const bad = await api(server, 'PUT', '/api/streams/scene/analytics', { lines: [{ name: 'gate', from: [0, 240], to: [0, 240] }], zones: [{ name: 'bay', polygon: [[0, 0], [1, 1]] }] });
    expect(bad.status).toBe(400);
    expect(bad.json.issues).toEqual([{ path: 'zones[0].polygon', message: expect.stringMatching(/at least 3 points/) }]);
    expect(bad.json.error).toMatch(/^zones\[0\]\.polygon: /);
    const dup = await api(server, 'PUT', '/api/streams/scene/analytics', { lines: [far, far] });
    expect(dup.status).toBe(400);
    expect(dup.json.issues).toEqual([{ path: 'lines[1].name', message: 'duplicate line name "far"' }]);
    expect((await api(server, 'PUT', '/api/streams/scene/analytics', '{"lines": [')).status).toBe(400);
    expect((await api(server, 'PUT', '/api/streams/nope/analytics', { lines: [] })).status).toBe(404);
    expect((await api(server, 'GET', '/api/streams/scene/analytics')).json.config.lines.map((l: Json) => l.name)).toEqual(['gate', 'far']);
  });
});
