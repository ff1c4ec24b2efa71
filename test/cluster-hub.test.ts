/**
 * ClusterHub in this process on a real redis-server, over local hubs with fake sources and models
 * (fast knobs): a node that finds its lease held by another stops the stream and takes it again
 * only once the lease is free; config-file streams join the cluster, and an id the cluster has
 * keeps the cluster's settings.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_CLUSTER, modelSettings, parseStream, type StreamSettings } from '../src/config.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { ClusterHub } from '../src/cluster/clusterHub.js';
import { FakeBackend, memoryLogger, ScriptedSources, until, type LogEntry } from './helpers/fakes.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

const ctx = { baseDir: '/media', mediaFolders: ['/media'], modelPaths: ['/models/a.onnx'], tracker: DEFAULT_TRACKER };
const stream = (id: string, fields: Record<string, unknown> = {}): StreamSettings => parseStream({ id, url: `rtsp://camera.local/${id}`, dropPolicy: 'all', ...fields }, ctx);

let redis: RedisServer;
let spy: Redis;
const nodes: Array<{ hub: ClusterHub; backends: FakeBackend[] }> = [];

beforeAll(async () => {
  redis = await startRedis();
  spy = new Redis(redis.url);
});

afterEach(async () => {
  for (const { hub, backends } of nodes.splice(0)) {
    const closing = hub.close();
    for (const b of backends) await b.close();
    await closing;
  }
  await spy.flushall();
});

afterAll(async () => {
  spy?.disconnect();
  await redis?.close();
});

function node(id: string, seed: StreamSettings[] = []) {
  const backends: FakeBackend[] = [];
  const log = memoryLogger();
  const local = new StreamHub({
    modelSettings: (path) => modelSettings({ models: {} }, path),
    log,
    sources: new ScriptedSources([{ frames: 1_000_000, then: 'hang' }]),
    backends: async () => {
      // Frames wait in the model and are answered 20 times a second: nothing runs away in microtasks.
      const b = new FakeBackend(false);
      backends.push(b);
      const timer = setInterval(() => (b.closed ? clearInterval(timer) : b.complete()), 50);
      return b;
    },
  });
  const hub = new ClusterHub({
    settings: { ...DEFAULT_CLUSTER, redis: redis.url, heartbeatMs: 200, nodeTtlMs: 1000, leaseTtlMs: 1000 },
    nodeId: id,
    local,
    providers: ['cpu'],
    seed,
    log,
  });
  nodes.push({ hub, backends });
  return { hub, local, log: log.entries as LogEntry[] };
}

describe('ClusterHub (in process, real Redis)', () => {
  it('stops a stream whose lease another node holds, and takes it again once the lease is free', async () => {
    const { hub, local, log } = node('a');
    await hub.start('http://a');
    await hub.add(stream('s1'));
    await until(() => local.has('s1'), 10_000, 's1 running on a');
    expect(await spy.get('streamlens:cluster:lease:s1')).toBe('a');

    await spy.set('streamlens:cluster:lease:s1', 'intruder', 'PX', 60_000);
    await until(() => !local.has('s1'), 10_000, 's1 stopped on a');
    expect(log.some((e) => e.msg === 'lease held by another node: stopping the stream here' && e.stream === 's1')).toBe(true);
    // While the intruder holds it, a does not start it again (several heartbeats).
    await new Promise((r) => setTimeout(r, 1000));
    expect(local.has('s1')).toBe(false);
    expect(hub.view().unplaced).toEqual(['s1']);

    await spy.del('streamlens:cluster:lease:s1');
    await until(() => local.has('s1'), 10_000, 's1 running on a again');
    expect(await spy.get('streamlens:cluster:lease:s1')).toBe('a');
  });

  it("adds config-file streams to the cluster; an id the cluster has keeps the cluster's settings", async () => {
    const a = node('a', [stream('cam', { conf: 0.3 })]);
    await a.hub.start('http://a');
    expect(a.hub.settings('cam')?.conf).toBe(0.3);
    const b = node('b', [stream('cam', { conf: 0.5 }), stream('other')]);
    await b.hub.start('http://b');
    expect(b.hub.ids().sort()).toEqual(['cam', 'other']);
    expect(b.hub.settings('cam')?.conf).toBe(0.3);
    expect(b.log.some((e) => e.stream === 'cam' && /the cluster's settings are kept/.test(String(e.msg)))).toBe(true);
    // Each runs once, somewhere.
    await until(() => [a, b].reduce((n, x) => n + (x.local.has('cam') ? 1 : 0), 0) === 1 && [a, b].reduce((n, x) => n + (x.local.has('other') ? 1 : 0), 0) === 1, 10_000, 'both streams placed');
    // A change on one node reaches the owner.
    const owner = a.local.has('cam') ? a : b;
    await (owner === a ? b : a).hub.update('cam', stream('cam', { conf: 0.7 }));
    await until(() => owner.local.settings('cam')?.conf === 0.7, 10_000, 'the owner applying the new settings');
  });
});
