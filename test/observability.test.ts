/**
 * Issue 8, observability: GET /metrics (Prometheus text, fed by a real server), its auth and
 * server.metricsPublic, /api/info, and the pino logger behind src/log.ts.
 */
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ffmpegChoice } from '../src/ingest/binaries.js';
import { createLogger, levelFromEnv } from '../src/log.js';
import { stageSeconds } from '../src/serve/metrics.js';
import type { RunningServer } from '../src/serve/server.js';
import { TestClient, api, startTestServer, until } from './helpers/serveHarness.js';

let server: RunningServer;
let open: RunningServer;
let model: string;
let clip: string;

/** `name{labels} value` lines of an exposition, as a map (labels as written). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

beforeAll(async () => {
  const [c, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  clip = c.video;
  model = m;
  server = await startTestServer(
    {
      models: { [model]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dirname(clip)], authToken: 'sekret' },
      streams: [{ id: 'demo', url: clip, loop: true, realtime: true, video: false }],
    },
    process.cwd(),
  );
  open = await startTestServer({ server: { mediaFolders: [dirname(clip)], authToken: 'sekret', metricsPublic: true }, streams: [] }, process.cwd());
});

afterAll(async () => {
  await Promise.all([server?.close(), open?.close()]);
});

const auth = { authorization: 'Bearer sekret' };

describe('GET /metrics', () => {
  it('needs the token like the API unless server.metricsPublic', async () => {
    expect((await api(server, 'GET', '/metrics')).status).toBe(401);
    expect((await api(server, 'GET', '/metrics', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await api(server, 'GET', '/metrics', undefined, auth)).status).toBe(200);
    const pub = await api(open, 'GET', '/metrics');
    expect(pub.status).toBe(200);
    expect(pub.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // Only /metrics is public: the API still needs the token.
    expect((await api(open, 'GET', '/api/streams')).status).toBe(401);
    expect((await api(server, 'POST', '/metrics', {}, auth)).status).toBe(405);
  });

  it('reports streams, stages, batches, clients, process memory and event-loop lag', async () => {
    const client = await TestClient.connect(server, '?token=sekret');
    await client.subscribe(['demo']);
    await until(async () => (await api(server, 'GET', '/api/streams/demo', undefined, auth)).json.framesSent > 20, 40_000, 'demo frames');
    const res = await api(server, 'GET', '/metrics', undefined, auth);
    const text = res.bytes.toString('utf8');
    const m = parseMetrics(text);
    const stats = (await api(server, 'GET', '/api/streams/demo', undefined, auth)).json;

    for (const type of [
      '# TYPE streamlens_stream_fps_in gauge',
      '# TYPE streamlens_stream_frames_decoded_total counter',
      '# TYPE streamlens_stream_drops_total counter',
      '# TYPE streamlens_stage_latency_seconds histogram',
      '# TYPE streamlens_inference_latency_seconds histogram',
      '# TYPE streamlens_batch_size histogram',
      '# TYPE streamlens_ws_client_drops_total counter',
      '# TYPE process_resident_memory_bytes gauge',
      '# TYPE nodejs_eventloop_lag_seconds gauge',
      '# TYPE nodejs_heap_size_used_bytes gauge',
    ]) {
      expect(text).toContain(type);
    }
    expect(m.get('streamlens_stream_fps_in{stream="demo"}')).toBeGreaterThan(1);
    expect(m.get('streamlens_stream_frames_decoded_total{stream="demo"}')).toBeGreaterThan(20);
    // Scraped a moment before the API read: never ahead of it.
    expect(m.get('streamlens_stream_frames_sent_total{stream="demo"}')).toBeLessThanOrEqual(stats.framesSent);
    expect(m.get('streamlens_stream_frames_sent_total{stream="demo"}')).toBeGreaterThan(20);
    expect(m.has('streamlens_stream_drops_total{stream="demo",reason="policy"}')).toBe(true);
    expect(m.has('streamlens_stream_drops_total{stream="demo",reason="client"}')).toBe(true);
    expect(m.get('streamlens_stream_state{stream="demo",state="streaming"}')).toBe(1);
    expect(m.get('streamlens_stream_state{stream="demo",state="failed"}')).toBe(0);
    expect(m.get('streamlens_stream_reconnects_total{stream="demo"}')).toBe(0);
    expect(m.get('streamlens_ws_clients')).toBe(1);
    expect(m.get('streamlens_ws_connections_total')).toBeGreaterThanOrEqual(1);
    expect(m.get('streamlens_ffmpeg_children')).toBeGreaterThanOrEqual(1);
    for (const stage of ['wait', 'queue', 'preprocess', 'inference', 'postprocess', 'run', 'infer', 'track', 'publish', 'total']) {
      expect(m.get(`streamlens_stage_latency_seconds_count{stream="demo",stage="${stage}"}`), stage).toBeGreaterThan(10);
    }
    const e2eSum = m.get('streamlens_stage_latency_seconds_sum{stream="demo",stage="total"}')!;
    expect(e2eSum).toBeGreaterThan(0);
    expect(m.get(`streamlens_inference_latency_seconds_count{model="${model}"}`)).toBeGreaterThan(10);
    expect(m.get(`streamlens_batch_size_bucket{le="+Inf",model="${model}"}`)).toBeGreaterThan(10);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(m.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // No per-client labels anywhere.
    expect(text).not.toMatch(/client_id|remote/);
    client.close();
    await until(async () => parseMetrics((await api(server, 'GET', '/metrics', undefined, auth)).bytes.toString()).get('streamlens_ws_clients') === 0, 5000, 'client gone');
  });

  it('drops the series of a removed stream', async () => {
    const added = await api(server, 'POST', '/api/streams', { id: 'tmp', url: clip, loop: true, realtime: true, video: false }, auth);
    expect(added.status).toBe(201);
    await until(async () => (await api(server, 'GET', '/api/streams/tmp', undefined, auth)).json.framesSent > 2, 30_000, 'tmp frames');
    expect((await api(server, 'GET', '/metrics', undefined, auth)).bytes.toString()).toContain('stream="tmp"');
    expect((await api(server, 'DELETE', '/api/streams/tmp', undefined, auth)).status).toBe(204);
    const after = (await api(server, 'GET', '/metrics', undefined, auth)).bytes.toString();
    expect(after).not.toContain('stream="tmp"');
    expect(after).toContain('stream="demo"');
  });

  it('computes stage times from FrameTiming', () => {
    const s = stageSeconds({ captureTs: 1000, queuedTs: 1002, inferStartTs: 1005, inferEndTs: 1020, doneTs: 1021, sendTs: 1030, preprocessMs: 1, inferenceMs: 12, postprocessMs: 2, batchSize: 2, stages: { infer: 18, track: 1 } });
    expect(s).toEqual({ wait: 0.002, queue: 0.003, preprocess: 0.001, inference: 0.012, postprocess: 0.002, run: 0.015, publish: 0.009, total: 0.03, infer: 0.018, track: 0.001 });
    expect(stageSeconds({ captureTs: 5, stages: {} })).toEqual({});
  });
});

describe('GET /api/info', () => {
  it('reports version, ffmpeg, uptime and each model: format, input size, classes, active provider', async () => {
    const info = (await api(server, 'GET', '/api/info', undefined, auth)).json;
    expect(info).toMatchObject({ name: 'streamlens', version: 'test' });
    expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0);
    const ff = ffmpegChoice();
    expect(info.ffmpeg).toEqual({ version: ff.version, origin: ff.origin, path: ff.ffmpeg });
    expect(info.ffmpeg.version).not.toBe('unknown');
    expect(info.models[0]).toMatchObject({ path: model, inputWidth: 640, inputHeight: 640, activeProvider: 'cpu' });
    expect(typeof info.models[0].format).toBe('string');
    expect(info.models[0].classes.length).toBeGreaterThan(0);
  });
});

describe('structured logs (pino)', () => {
  it('writes one JSON line per event with bindings, level names and errors', () => {
    const lines: string[] = [];
    const log = createLogger({ component: 'test' }, 'info', (l) => lines.push(l));
    log.debug({ stream: 'a' }, 'hidden');
    log.info({ stream: 'cam1', fps: 25 }, 'stream state');
    log.child({ stream: 'cam2' }).error({ err: new Error('boom') }, 'stream failed');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({ level: 'info', component: 'test', stream: 'cam1', fps: 25, msg: 'stream state' });
    expect(typeof a.time).toBe('number');
    expect(b).toMatchObject({ level: 'error', component: 'test', stream: 'cam2', err: { type: 'Error', message: 'boom' }, msg: 'stream failed' });
    const silent: string[] = [];
    createLogger({}, 'silent', (l) => silent.push(l)).error({}, 'x');
    expect(silent).toEqual([]);
  });

  it('takes the level from STREAMLENS_LOG_LEVEL over the config', () => {
    const saved = process.env.STREAMLENS_LOG_LEVEL;
    try {
      process.env.STREAMLENS_LOG_LEVEL = 'WARN';
      expect(levelFromEnv('debug')).toBe('warn');
      process.env.STREAMLENS_LOG_LEVEL = 'bogus';
      expect(levelFromEnv('error')).toBe('error');
      delete process.env.STREAMLENS_LOG_LEVEL;
      expect(levelFromEnv()).toBe('info');
    } finally {
      if (saved === undefined) delete process.env.STREAMLENS_LOG_LEVEL;
      else process.env.STREAMLENS_LOG_LEVEL = saved;
    }
  });
});
