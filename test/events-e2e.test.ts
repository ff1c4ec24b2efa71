/**
 * End to end: the scripted analytics scene (squares crossing a line both ways, one standing on it,
 * one turning back, one loitering in a zone) served live by the real server, with the project's
 * detector and tracker. The same events, exactly the expected ones, reach mosquitto, a webhook
 * receiver that checks signatures (the documented example) and the event store; then the outputs'
 * faults: the broker stopped and restarted mid-stream and a webhook that never answers, while the
 * stream keeps streaming.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ANALYTICS_SCENE_CONFIG, generateClip } from '../src/tools/synth/index.js';
import type { RunningServer } from '../src/serve/server.js';
import type { AnalyticsEvent } from '../src/types.js';
import { describeEvents, expectedSceneEvents } from './helpers/analyticsScene.js';
import { MqttRecorder, startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { api, startTestServer, until, type Json } from './helpers/serveHarness.js';
// @ts-expect-error: a plain .mjs example without types
import { createReceiver } from '../docs/examples/webhook-receiver.mjs';

let dir: string;
let clip: string;
let model: string;
let broker: Mosquitto;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-events-e2e-'));
  mkdirSync(join(dir, 'media'));
  [clip, model, broker] = await Promise.all([
    generateClip({ out: join(dir, 'media', 'scene.mp4'), scene: 'analytics' }).then((c) => c.video),
    ensureModel('synthetic-det'),
    startMosquitto({ persistence: true }),
  ]);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

async function serve(config: Json): Promise<RunningServer> {
  const server = await startTestServer({ server: { mediaFolders: [join(dir, 'media')] }, ...config }, dir);
  closers.push(() => server.close());
  return server;
}

async function recorder(clientId: string): Promise<MqttRecorder> {
  const r = await MqttRecorder.connect(broker.url, ['sl/#'], clientId);
  closers.push(() => r.close());
  return r;
}

/** The scene as a live stream (a file played in real time), with its zones and lines. */
function sceneStream(id: string, extra: Json = {}): Json {
  return { id, url: 'media/scene.mp4', model, realtime: true, video: true, analytics: ANALYTICS_SCENE_CONFIG, ...extra };
}

describe('events end to end', () => {
  it('the scene served live publishes exactly the expected events to MQTT, a webhook and the store', async () => {
    const rec = await recorder('e2e-watcher');
    const hooks: AnalyticsEvent[] = [];
    const receiver: Server = createReceiver('s3cret', (e: AnalyticsEvent) => hooks.push(e));
    const hookUrl = await listen(receiver);
    closers.push(() => closeServer(receiver));
    const expected = expectedSceneEvents();

    const server = await serve({
      dataDir: join(dir, 'data'),
      events: { mqtt: { url: broker.url, prefix: 'sl' }, webhooks: [{ url: hookUrl, secret: 's3cret' }] },
      // Every frame inferred (no drop policy losses): the events are those of the recording.
      streams: [sceneStream('scene', { dropPolicy: 'all' })],
    });
    await until(async () => (await api(server, 'GET', '/api/streams/scene')).json.state === 'ended', 90_000, 'the clip to end');
    const mqttEvents = (): AnalyticsEvent[] => rec.on('sl/scene/events').map((p) => JSON.parse(p) as AnalyticsEvent);
    await until(() => mqttEvents().length >= expected.length && hooks.length >= expected.length, 60_000, 'the events on MQTT and at the webhook');

    expect(describeEvents(mqttEvents())).toEqual(expected);
    expect(describeEvents(hooks)).toEqual(expected);
    expect(hooks).toEqual(mqttEvents());
    for (const e of hooks) {
      expect(e.stream).toBe('scene');
      expect(Number.isFinite(Date.parse(e.time as string))).toBe(true); // live: wall clock
    }

    // The store: the same events, newest first, each with a snapshot of its frame.
    let stored: Json[] = [];
    await until(async () => (stored = (await api(server, 'GET', '/api/events?stream=scene')).json.events ?? []).length >= expected.length, 60_000, 'the stored events');
    expect(stored.map(({ snapshot: _, ...e }) => e).reverse()).toEqual(hooks);
    for (const e of stored) expect(e.snapshot).toBe(`/api/events/${e.id}/snapshot.jpg`);
    const shot = await api(server, 'GET', stored[0].snapshot);
    expect(shot.status).toBe(200);
    expect(shot.headers.get('content-type')).toBe('image/jpeg');
    expect((await sharp(shot.bytes).metadata()).width).toBe(640);
    const crossings = await api(server, 'GET', '/api/events?type=line_cross&label=red');
    expect(describeEvents(crossings.json.events)).toEqual(expected.filter((e) => e.startsWith('line_cross gate in red')));

    // Counts, retained: the line's crossings per direction and label, the zone empty again.
    await until(() => rec.on('sl/scene/zones/bay/red').at(-1) === '0', 30_000, 'the zone count back to 0');
    const last = (topic: string): string | undefined => rec.on(topic).at(-1);
    expect([last('sl/scene/lines/gate/in/red'), last('sl/scene/lines/gate/in/blue'), last('sl/scene/lines/gate/out/green')]).toEqual(['1', '1', '1']);
    expect(rec.on('sl/scene/zones/bay/red')).toContain('1');
  });

  it('broker restarted and a webhook that never answers mid-stream: events after the restart arrive, the stream never stalls', async () => {
    const rec = await recorder('fault-watcher');
    const silent = createServer(() => {
      // Never answers.
    });
    const silentUrl = await listen(silent);
    closers.push(() => closeServer(silent));

    const server = await serve({
      events: { mqtt: { url: broker.url, prefix: 'sl', reconnect: { initialMs: 100, maxMs: 500 } }, webhooks: [{ url: silentUrl, timeoutMs: 300, maxAttempts: 2, maxQueue: 2 }] },
      streams: [sceneStream('loop', { loop: true })],
    });
    const stats = async (): Promise<Json> => (await api(server, 'GET', '/api/streams/loop')).json;
    const events = (): AnalyticsEvent[] => rec.on('sl/loop/events').map((p) => JSON.parse(p) as AnalyticsEvent);
    await until(() => events().length >= 2, 60_000, 'the first events');

    await broker.stop();
    const outage = Date.now();
    const before = (await stats()).framesDecoded as number;
    await until(async () => ((await stats()).framesDecoded as number) >= before + 30, 60_000, 'frames decoded while the broker is down');
    expect((await stats()).state).toBe('streaming');
    await broker.start();
    const restarted = Date.now();

    // Events that happen after the restart arrive (the scene loops: every loop has its events).
    await until(() => events().some((e) => Date.parse(e.time as string) > restarted), 60_000, 'an event from after the restart');
    const s = await stats();
    expect(s.state).toBe('streaming');
    expect(s.framesDecoded as number).toBeGreaterThan(before + 30);
    expect(Date.now() - outage).toBeLessThan(90_000);

    // The silent webhook: bounded, counted, and it held nothing back. Its first give-up comes after
    // two timed-out attempts and a backoff, whenever that falls on a loaded machine: wait for it.
    let metrics = '';
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[[\]{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    const givenUp = (): number => (value('streamlens_event_sink_dropped_total{sink="webhooks[0]",reason="failed"}') || 0) + (value('streamlens_event_sink_dropped_total{sink="webhooks[0]",reason="queue_full"}') || 0);
    await until(async () => {
      metrics = (await api(server, 'GET', '/metrics')).bytes.toString();
      return givenUp() > 0;
    }, 60_000, 'the silent webhook giving up on an event (failed or queue_full)');
    expect(value('streamlens_event_sink_published_total{sink="webhooks[0]"}')).toBe(0);
    expect(value('streamlens_event_sink_queue_depth{sink="webhooks[0]"}')).toBeLessThanOrEqual(3);
    expect(value('streamlens_event_sink_connected{sink="mqtt"}')).toBe(1);
    expect(value('streamlens_event_sink_retries_total{sink="mqtt"}')).toBeGreaterThan(0);
  });
});
