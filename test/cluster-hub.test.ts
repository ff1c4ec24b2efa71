/**
 * ClusterHub in this process on a real redis-server, over local hubs with fake sources and models
 * (fast knobs): a node that finds its lease held by another stops the stream and takes it again
 * only once the lease is free; config-file streams join the cluster, and an id the cluster has
 * keeps the cluster's settings; a node wakes the others when it joins and when its streams change;
 * a stream handed over keeps its lease until its source is released, however long that takes; a
 * stream running elsewhere reaches a node's relay (its WebSocket clients) and never its results
 * (its sinks: events, metrics, snapshots go out from the owner only). Under it, the store creates
 * only a missing id and updates only an existing one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_CLUSTER, modelSettings, parseStream, type StreamSettings } from '../src/config.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { ClusterHub } from '../src/cluster/clusterHub.js';
import { ClusterStore } from '../src/cluster/clusterStore.js';
import { placeStreams } from '../src/cluster/placement.js';
import type { SourceFactory } from '../src/ingest/source.js';
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

const FAST = { heartbeatMs: 200, nodeTtlMs: 1000, leaseTtlMs: 1000 };

function node(id: string, seed: StreamSettings[] = [], opts: { knobs?: typeof FAST; sources?: SourceFactory } = {}) {
  const backends: FakeBackend[] = [];
  const log = memoryLogger();
  const local = new StreamHub({
    modelSettings: (path) => modelSettings({ models: {} }, path),
    log,
    sources: opts.sources ?? new ScriptedSources([{ frames: 1_000_000, then: 'hang' }]),
    backends: async () => {
      // Frames wait in the model and are answered 20 times a second: nothing runs away in microtasks.
      const b = new FakeBackend(false);
      backends.push(b);
      const timer = setInterval(() => (b.closed ? clearInterval(timer) : b.complete()), 50);
      return b;
    },
  });
  const hub = new ClusterHub({
    settings: { ...DEFAULT_CLUSTER, redis: redis.url, ...(opts.knobs ?? FAST) },
    nodeId: id,
    local,
    providers: ['cpu'],
    seed,
    log,
  });
  nodes.push({ hub, backends });
  return { hub, local, log: log.entries as LogEntry[] };
}

/** The first of `prefix`1..8 that placement puts on `owner` when nodes a and b are up. */
function idPlacedOn(owner: 'a' | 'b', prefix: string): string {
  const two = [{ id: 'a', weight: 1, maxStreams: 0 }, { id: 'b', weight: 1, maxStreams: 0 }];
  return Array.from({ length: 8 }, (_, i) => `${prefix}${i + 1}`).find((s) => placeStreams([s], two).get(s) === owner)!;
}

/** Sources whose streams take until `release()` to stop (a decoder slow to exit); `inner.running` counts those open. */
function slowToStop(): { sources: SourceFactory; inner: ScriptedSources; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const inner = new ScriptedSources([{ frames: 1_000_000, then: 'hang' }]);
  const sources: SourceFactory = {
    async open(req) {
      const source = await inner.open(req);
      return { ...source, stop: async () => gate.then(() => source.stop()) };
    },
  };
  return { sources, inner, release };
}

describe('ClusterStore (real Redis)', () => {
  it('creates only a missing id and updates only an existing one, each under a new rev', async () => {
    const store = new ClusterStore(spy, 'a');
    expect(await store.update(stream('s1'))).toBe(0);
    const created = await store.create(stream('s1', { conf: 0.3 }));
    expect(created).toBeGreaterThan(0);
    expect(await store.create(stream('s1', { conf: 0.4 }))).toBe(0);
    expect(await store.update(stream('s1', { conf: 0.5 }))).toBe(created + 1);
    const desired = (await store.desired()).get('s1');
    expect({ rev: desired?.rev, conf: desired?.settings.conf }).toEqual({ rev: created + 1, conf: 0.5 });
  });
});

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

  it('wakes the other nodes when it joins and when its streams start or change state: they follow at once, not a heartbeat later', async () => {
    // Heartbeats a minute apart: whatever the nodes learn within the test, they learn from a wake.
    const slow = { heartbeatMs: 60_000, nodeTtlMs: 120_000, leaseTtlMs: 120_000 };
    // A cluster that has run before (a fresh one makes its first node wait a node TTL before taking leases).
    await spy.set('streamlens:cluster:epoch', 'earlier');
    const a = node('a', [], { knobs: slow });
    await a.hub.start('http://a');
    const b = node('b', [], { knobs: slow });
    await b.hub.start('http://b');
    await until(() => a.hub.view().nodes.some((n) => n.id === 'b'), 10_000, 'a seeing b join');
    const ids = ['s1', 's2', 's3', 's4'];
    for (const id of ids) await a.hub.add(stream(id));
    const where = (id: string): string | undefined => (a.local.has(id) ? (b.local.has(id) ? 'both' : 'a') : b.local.has(id) ? 'b' : undefined);
    await until(() => ids.every((id) => where(id) === 'a' || where(id) === 'b'), 10_000, 'each stream running on one node');
    expect(ids.filter((id) => where(id) === 'b').length).toBeGreaterThan(0);
    for (const x of [a, b]) {
      await until(() => ids.every((id) => x.hub.stats(id)?.node === where(id) && x.hub.stats(id)?.state === 'streaming'), 10_000, 'every stream listed streaming, on its owner');
    }
  });

  it("relays a stream running elsewhere to the node's WebSocket clients while followed, never into its results (the sinks)", async () => {
    const id = idPlacedOn('b', 'r');
    const a = node('a');
    const b = node('b');
    await a.hub.start('http://a');
    await b.hub.start('http://b');
    await until(() => a.hub.view().nodes.length === 2, 10_000, 'a seeing b');
    await a.hub.add(stream(id));
    await until(() => b.local.stats(id)?.state === 'streaming', 10_000, `${id} streaming on b`);
    const seen = { aResults: 0, aRelayed: 0, bResults: 0 };
    const subs = [
      a.hub.results$.subscribe((r) => (seen.aResults += r.streamId === id ? 1 : 0)),
      a.hub.relayed$.subscribe((r) => (seen.aRelayed += r.streamId === id ? 1 : 0)),
      b.hub.results$.subscribe((r) => (seen.bResults += r.streamId === id ? 1 : 0)),
    ];
    const unfollow = a.hub.follow(id, { video: false });
    try {
      await until(() => seen.aRelayed >= 5, 10_000, `${id} relayed to a`);
      expect(seen.aResults).toBe(0);
      expect(seen.bResults).toBeGreaterThanOrEqual(seen.aRelayed);
      expect(a.local.has(id)).toBe(false);
    } finally {
      unfollow();
      for (const sub of subs) sub.unsubscribe();
    }
  });

  it('keeps renewing the lease of a stream it hands over until its source is released, however long that takes', async () => {
    // A stream that a newcomer b takes from a, whose source on a is slow to stop.
    const id = idPlacedOn('b', 'm');
    const { sources, inner, release } = slowToStop();
    const a = node('a', [], { sources });
    const b = node('b');
    try {
      await a.hub.start('http://a');
      await a.hub.add(stream(id));
      await until(() => a.local.has(id), 10_000, `${id} running on a`);
      await b.hub.start('http://b');
      await until(() => a.log.some((e) => e.msg === 'stopping stream' && e.stream === id), 10_000, `a handing ${id} over`);
      // Three lease TTLs while a's source is still stopping: the lease stays a's, b waits.
      await new Promise((r) => setTimeout(r, 3 * FAST.leaseTtlMs));
      expect(await spy.get(`streamlens:cluster:lease:${id}`)).toBe('a');
      expect(b.local.has(id)).toBe(false);
      expect(inner.running).toBe(1);
    } finally {
      release();
    }
    await until(() => b.local.has(id), 10_000, `${id} running on b`);
    expect(inner.running).toBe(0);
    expect(await spy.get(`streamlens:cluster:lease:${id}`)).toBe('b');
  });

  it('a node shutting down keeps the leases of streams still stopping until their sources are released', async () => {
    // A stream that stays on a when b joins: a hands it over only by shutting down.
    const id = idPlacedOn('a', 'c');
    const { sources, release } = slowToStop();
    const a = node('a', [], { sources });
    const b = node('b');
    let closing: Promise<void> | undefined;
    try {
      await a.hub.start('http://a');
      await a.hub.add(stream(id));
      await until(() => a.local.has(id), 10_000, 'running on a');
      await b.hub.start('http://b');
      closing = a.hub.close();
      await until(() => a.log.some((e) => e.msg === 'stopping stream' && e.stream === id), 10_000, 'a stopping it');
      // Three lease TTLs while a's source is still stopping: the lease stays a's, b waits.
      await new Promise((r) => setTimeout(r, 3 * FAST.leaseTtlMs));
      expect(await spy.get(`streamlens:cluster:lease:${id}`)).toBe('a');
      expect(b.local.has(id)).toBe(false);
    } finally {
      release();
    }
    await closing;
    await until(() => b.local.has(id), 10_000, 'running on b');
    expect(await spy.get(`streamlens:cluster:lease:${id}`)).toBe('b');
  });
});
