/**
 * The event outputs in the live server: enabled by the config, GET /api/events and its errors,
 * event snapshots, the /metrics series, MQTT availability over the server's life.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/serve/server.js';
import { api, startTestServer, until } from './helpers/serveHarness.js';
import { MqttRecorder, startMosquitto, type Mosquitto } from './helpers/mosquitto.js';

let dir: string;
let broker: Mosquitto;
let recorder: MqttRecorder;
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-events-serve-'));
  broker = await startMosquitto();
  recorder = await MqttRecorder.connect(broker.url, ['sl/#']);
  server = await startTestServer(
    {
      dataDir: join(dir, 'data'),
      events: {
        mqtt: { url: broker.url, prefix: 'sl' },
        webhooks: [{ url: 'http://127.0.0.1:9/never', types: ['zone_loiter'] }],
      },
      server: { authToken: 'sekret' },
      streams: [],
    },
    dir,
  );
});

afterAll(async () => {
  await server?.close();
  await recorder?.close();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: 'Bearer sekret' };

describe('event outputs in serve', () => {
  it('announces itself on MQTT', async () => {
    await until(() => recorder.on('sl/available').includes('online'), 10_000, 'online');
  });

  it('answers GET /api/events from the store, newest first, behind the token', async () => {
    expect((await api(server, 'GET', '/api/events')).status).toBe(401);
    const r = await api(server, 'GET', '/api/events?stream=gate&limit=5', undefined, auth);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ events: [] });
  });

  it('answers a bad query with 400 naming the parameter', async () => {
    const r = await api(server, 'GET', '/api/events?limit=0', undefined, auth);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'limit: expected an integer from 1 to 1000, got "0"', parameter: 'limit' });
    const unknown = await api(server, 'GET', '/api/events?camera=gate', undefined, auth);
    expect(unknown.status).toBe(400);
    expect(unknown.json.parameter).toBe('camera');
    expect((await api(server, 'GET', '/api/events?since=soon', undefined, auth)).json.parameter).toBe('since');
  });

  it('answers 404 for the snapshot of an unknown event', async () => {
    const r = await api(server, 'GET', '/api/events/0190f2c4-7a1e-7c3b-9a55-2f0c1d3e4b5a/snapshot.jpg', undefined, auth);
    expect(r.status).toBe(404);
    expect(r.json.error).toMatch(/no snapshot of event/);
  });

  it('reports every output in /metrics', async () => {
    await until(async () => (await api(server, 'GET', '/metrics', undefined, auth)).bytes.toString().includes('streamlens_event_sink_connected{sink="mqtt"} 1'), 10_000, 'the MQTT connection in /metrics');
    const text = (await api(server, 'GET', '/metrics', undefined, auth)).bytes.toString();
    for (const sink of ['mqtt', 'webhooks[0]', 'store', 'snapshots']) {
      expect(text).toContain(`streamlens_event_sink_published_total{sink="${sink}"} 0`);
      expect(text).toContain(`streamlens_event_sink_queue_depth{sink="${sink}"} 0`);
    }
    expect(text).toContain('# TYPE streamlens_event_sink_dropped_total counter');
    expect(text).toContain('# TYPE streamlens_event_sink_retries_total counter');
  });

  it('publishes offline when it shuts down', async () => {
    await server.close();
    await until(() => recorder.on('sl/available').at(-1) === 'offline', 10_000, 'offline');
  });
});

describe('without a dataDir', () => {
  it('GET /api/events says the store is off', async () => {
    const s = await startTestServer({ streams: [] }, dir);
    try {
      const r = await api(s, 'GET', '/api/events');
      expect(r.status).toBe(404);
      expect(r.json.error).toMatch(/dataDir/);
      expect((await api(s, 'GET', '/metrics')).bytes.toString()).not.toContain('streamlens_event_sink_published_total{');
    } finally {
      await s.close();
    }
  });
});
