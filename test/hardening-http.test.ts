/**
 * Issue 20, HTTP items against a real server: POST/DELETE/GET of one stream id in random
 * interleavings answer only documented statuses and leave a consistent hub (item 2, with the
 * hub's real logic over fake sources and models whose loading takes a random time); HEAD on every
 * GET route, Allow on 405, OPTIONS (item 6, 11); the exact JSON media type (item 11).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { parseConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { apiRoutes } from '../src/serve/httpApi.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { uniformRng } from '../src/tools/synth/prng.js';
import { FakeBackend, ScriptedSources, memoryLogger } from './helpers/fakes.js';
import { api, sleep, until } from './helpers/serveHarness.js';

const MODEL = '/models/fake.onnx';
let server: RunningServer;
let sources: ScriptedSources;
const backends: FakeBackend[] = [];
let rand: () => number;

const SEED = Number(process.env.RACE_SEED ?? Date.now() % 100_000);

beforeAll(async () => {
  // Seeded, so a failing interleaving can be replayed from its seed.
  rand = uniformRng(SEED);
  const media = mkdtempSync(join(tmpdir(), 'streamlens-race-'));
  const config = parseConfig({ server: { mediaFolders: [media] }, models: { [MODEL]: {} }, streams: [] }, media);
  // Streams yield a few frames and then wait (no stall within a round: stallTimeoutSeconds 10).
  sources = new ScriptedSources([{ frames: 3, then: 'hang' }], { stopMs: () => rand() * 20 });
  const hub = new StreamHub({
    modelSettings: (path) => ({ ...config.models[MODEL], path }),
    sources,
    // A model takes 0-30 ms to load: the race of item 2 needs a stream whose model is not loaded yet.
    backends: async () => {
      await sleep(rand() * 30);
      const b = new FakeBackend();
      backends.push(b);
      return b;
    },
    log: memoryLogger(),
  });
  server = await startServer({ config: { ...config, server: { ...config.server, host: '127.0.0.1', port: 0 } }, hub, version: 'test', log: memoryLogger() });
});

afterAll(async () => {
  await server?.close();
});

/** The statuses docs/protocol.md lists for each request of the race. */
const DOCUMENTED: Record<string, number[]> = { POST: [201, 409], DELETE: [204, 404], GET: [200, 404] };

describe('the add/delete race (item 2)', () => {
  it(`random interleavings of POST, DELETE and GET of one id answer documented statuses and leave the hub consistent (seed ${SEED})`, async () => {
    const seen = new Set<string>();
    for (let round = 0; round < 60; round++) {
      const ops = Array.from({ length: 2 + Math.floor(rand() * 7) }, () => (['POST', 'DELETE', 'GET'] as const)[Math.floor(rand() * 3)]);
      const statuses = await Promise.all(
        ops.map(async (op) => {
          await sleep(rand() * 20);
          const res = await api(server, op, `/api/streams${op === 'POST' ? '' : '/x'}`, op === 'POST' ? { id: 'x', url: 'x.mp4', model: MODEL } : undefined);
          if (op === 'POST' && res.status === 201) {
            // The view is this stream's: its id and settings, whatever state the race left it in.
            expect(res.json.id).toBe('x');
            expect(res.json.config.url).toMatch(/x\.mp4$/);
            expect(['connecting', 'streaming', 'stopped']).toContain(res.json.state);
          }
          return [op, res.status] as const;
        }),
      );
      for (const [op, status] of statuses) {
        seen.add(`${op} ${status}`);
        expect(DOCUMENTED[op], `round ${round}: ${ops.join(',')} -> ${statuses.map((s) => s.join(' ')).join(', ')}`).toContain(status);
      }
      // Settled: GET agrees with the hub, and a stream that exists runs (its model was not closed under it).
      const exists = server.hub.has('x');
      expect((await api(server, 'GET', '/api/streams/x')).status).toBe(exists ? 200 : 404);
      if (exists) {
        await until(() => server.hub.stats('x')?.state === 'streaming', 5000, `round ${round}: x streaming`);
        // Its model is open: not released along with an earlier stream of the same id that was still stopping.
        expect(backends.filter((b) => !b.closed), `round ${round}: ${ops.join(',')}`).toHaveLength(1);
        expect((await api(server, 'DELETE', '/api/streams/x')).status).toBe(204);
      }
      // Nothing left behind: every source stopped, every model closed.
      await until(() => sources.running === 0, 5000, 'sources stopped');
      await until(() => backends.every((b) => b.closed), 5000, 'models closed');
    }
    console.log(`race (seed ${SEED}): ${[...seen].sort().join(', ')}`);
    // The interleavings did race: both outcomes of POST and of DELETE were seen.
    for (const s of ['POST 201', 'POST 409', 'DELETE 204', 'DELETE 404']) expect(seen).toContain(s);
  });
});

/** A raw request (fetch cannot send OPTIONS *), answered with status, headers and body. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = server;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP methods (items 6 and 11)', () => {
  beforeAll(async () => {
    expect((await api(server, 'POST', '/api/streams', { id: 'cam', url: 'cam.mp4', model: MODEL })).status).toBe(201);
    await until(() => server.hub.stats('cam')?.state === 'streaming', 5000, 'cam streaming');
  });

  // Every GET route of the API's table (a new one cannot be left out; `:id` is the stream cam, an
  // unknown event, so the events' snapshot answers 404), an unknown stream, and /metrics (served
  // outside the table).
  const getRoutes = [...apiRoutes().flatMap((r) => (r.method === 'GET' ? [r.path.replace(':id', 'cam')] : [])), '/api/streams/nope', '/metrics'];

  it.each(getRoutes)('HEAD %s answers as GET does, without a body', async (path) => {
    const get = await raw('GET', path);
    const head = await raw('HEAD', path);
    expect(head.status).toBe(get.status);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    // The length of what GET would send (live stats change between the two requests).
    if (get.headers['content-length'] !== undefined) expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
  });

  it('every route of one stream answers an unknown stream with 404 naming it', async () => {
    const ofStream = apiRoutes().filter((r) => r.path.startsWith('/api/streams/:id'));
    expect(ofStream.length).toBeGreaterThanOrEqual(8);
    for (const { method, path } of ofStream) {
      const res = await api(server, method, path.replace(':id', 'nope'), method === 'PUT' ? {} : undefined);
      expect([res.status, res.json?.error], `${method} ${path}`).toEqual([404, 'no stream "nope"']);
    }
  });

  it('a 405 names the allowed methods', async () => {
    const res = await raw('PATCH', '/api/streams');
    expect(res.status).toBe(405);
    expect(String(res.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    const one = await raw('PUT', '/api/streams/cam');
    expect(one.status).toBe(405);
    expect(String(one.headers.allow).split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS']);
    const metrics = await raw('POST', '/metrics');
    expect(metrics.status).toBe(405);
    expect(metrics.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  it('OPTIONS is answered: 204 with Allow for a path and for *, 404 for an unknown path', async () => {
    const star = await raw('OPTIONS', '*');
    expect(star.status).toBe(204);
    expect(String(star.headers.allow).split(', ')).toEqual(expect.arrayContaining(['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS']));
    const streams = await raw('OPTIONS', '/api/streams');
    expect(streams.status).toBe(204);
    expect(String(streams.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    expect((await raw('OPTIONS', '/ws')).headers.allow).toBe('GET, OPTIONS');
    expect((await raw('OPTIONS', '/nowhere')).status).toBe(404);
  });

  it('only application/json (any parameters, any case) is JSON: application/json-patch+json is 415', async () => {
    const body = JSON.stringify({ id: 'typed', url: 'typed.mp4', model: MODEL });
    for (const type of ['application/json-patch+json', 'application/jsonx', 'text/json', 'application/x-json']) {
      const res = await raw('POST', '/api/streams', { 'content-type': type }, body);
      expect(res.status, type).toBe(415);
    }
    const ok = await raw('POST', '/api/streams', { 'content-type': 'Application/JSON; charset=utf-8' }, body);
    expect(ok.status).toBe(201);
    expect((await api(server, 'DELETE', '/api/streams/typed')).status).toBe(204);
  });
});
