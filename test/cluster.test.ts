/**
 * Cluster mode end to end: a real redis-server and real `streamlens serve --cluster` processes.
 * One sequence (each step starts from the state the previous one left, as a cluster lives):
 * 6 streams posted to one of 3 nodes run once each, balanced; a WebSocket client on another node
 * receives all of them; SIGKILL of a node: everything runs again exactly once within 15 s and
 * the client keeps receiving, with track ids that do not collide; a node joining takes its share
 * only; SIGTERM hands over at once; Redis restarted mid-run: no crash, no duplicate, resynced.
 * "Exactly once" = each stream in exactly one node's own report, and each node's ffmpeg children
 * matching the streams it reports. Every step waits for the cluster to reach the placement its
 * live nodes define (streams move while nodes catch up with a change), never for a fixed time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { get, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { startServeCli, type ServeCli } from './helpers/serveCli.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { alive, childPids } from './helpers/processes.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { placeStreams } from '../src/cluster/placement.js';
import { DEFAULT_CLUSTER } from '../src/config.js';

const STREAMS = ['cam1', 'cam2', 'cam3', 'cam4', 'cam5', 'cam6'];
/** ceil(1.25 x 6 / 3) */
const BOUND_3 = 3;

interface NodeView {
  self: string;
  status: string;
  nodes: Array<{ id: string; streams: string[] }>;
  unplaced: string[];
}

let redis: RedisServer;
let config: string;
let clip: string;
const nodes = new Map<string, ServeCli>();

/** GET on a fresh connection each time (a kept-alive one may be closed by the server as it is reused). */
function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function getJson<T>(url: string): Promise<T> {
  return JSON.parse(await getText(url)) as T;
}

async function startNode(id: string): Promise<ServeCli> {
  const node = await startServeCli(['--config', config, '--port', '0', '--cluster', redis.url, '--node-id', id], { timeoutMs: 60_000 });
  nodes.set(id, node);
  return node;
}

function ffmpegChildren(pid: number): number {
  try {
    return execFileSync('pgrep', ['-l', '-P', String(pid)], { encoding: 'utf8' }).split('\n').filter((l) => /ffmpeg/.test(l)).length;
  } catch {
    return 0; // pgrep: no child at all
  }
}

async function selfView(node: ServeCli): Promise<{ streams: string[]; status: string }> {
  const view = await getJson<NodeView>(`${node.url}/api/cluster`);
  return { streams: [...view.nodes.find((n) => n.id === view.self)!.streams].sort(), status: view.status };
}

/** What each live node says it runs itself (its own record, asked one node after the other), and its ffmpeg children. */
async function running(): Promise<Map<string, { streams: string[]; ffmpeg: number; status: string }>> {
  const views = new Map<string, { streams: string[]; status: string }>();
  for (const [id, node] of nodes) views.set(id, await selfView(node));
  return new Map([...views].map(([id, v]) => [id, { ...v, ffmpeg: ffmpegChildren(nodes.get(id)!.child.pid!) }]));
}

/**
 * Every stream on exactly one node (its own report; never on two: that throws), and at `level`
 * 'decoding' each node's ffmpeg children matching the streams it reports, at 'streaming' also
 * each owner reporting its streams streaming. Undefined when not (yet).
 */
async function exactlyOnce(level: 'owned' | 'decoding' | 'streaming' = 'streaming'): Promise<Map<string, string> | undefined> {
  const r = await running();
  const owner = new Map<string, string>();
  let decoding = true;
  for (const [id, n] of r) {
    if (n.ffmpeg !== n.streams.length) decoding = false;
    for (const s of n.streams) {
      const first = owner.get(s);
      owner.set(s, id);
      if (first === undefined) continue;
      // The nodes answer one after the other: a stream that moved from the first to the later one
      // in between shows on both. It ran on both at once only if the first still runs it now.
      if ((await selfView(nodes.get(first)!)).streams.includes(s)) throw new Error(`stream ${s} runs on ${first} and ${id}`);
      return undefined;
    }
  }
  if (owner.size !== STREAMS.length) return undefined;
  if (level === 'owned') return owner;
  if (!decoding) return undefined;
  if (level === 'decoding') return owner;
  for (const [id, node] of nodes) {
    const { streams } = await getJson<{ streams: Array<{ id: string; state: string; node?: string }> }>(`${node.url}/api/streams`);
    for (const s of streams) if (owner.get(s.id) === id && s.state !== 'streaming') return undefined;
  }
  return owner;
}

/** Where the streams belong with these live nodes (equal nodes, default knobs). */
function placement(ids: string[]): Map<string, string> {
  const want = placeStreams(STREAMS, ids.map((id) => ({ id, weight: 1, maxStreams: 0 })), DEFAULT_CLUSTER.loadFactor);
  return new Map(STREAMS.map((s) => [s, want.get(s)!]));
}

/** Waits until every stream runs exactly once (at `level`), where `want` places it; never on two nodes at any moment. */
async function waitPlacement(want: Map<string, string>, deadlineMs: number, what: string, level: 'owned' | 'decoding' | 'streaming' = 'streaming'): Promise<Map<string, string>> {
  const start = Date.now();
  for (;;) {
    const owner = await exactlyOnce(level);
    if (owner && STREAMS.every((s) => owner.get(s) === want.get(s))) return owner;
    if (Date.now() - start > deadlineMs) {
      throw new Error(`${what}: not every stream running exactly once where placed (${JSON.stringify([...want])}) after ${deadlineMs} ms: ${JSON.stringify([...(await running())])}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until a node lists every stream with its owner (owners announce their changes; the others follow). */
async function waitListing(url: string, want: Map<string, string>, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  let listed = new Map<string, string | undefined>();
  while (Date.now() < end) {
    const { streams } = await getJson<{ streams: Array<{ id: string; node?: string }> }>(`${url}/api/streams`);
    listed = new Map(streams.map((s) => [s.id, s.node]));
    if (listed.size === want.size && [...want].every(([s, n]) => listed.get(s) === n)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(listed).toEqual(want);
}

function load(owner: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of owner.values()) out.set(n, (out.get(n) ?? 0) + 1);
  return out;
}

/** A WebSocket client subscribed to "*": detections per stream and the track ids seen, with the time each arrived. */
class Client {
  readonly frames = new Map<string, number>();
  readonly ids: Array<{ stream: string; id: number; at: number }> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(data.toString());
      if (m.type !== 'detections') return;
      this.frames.set(m.stream, (this.frames.get(m.stream) ?? 0) + 1);
      for (const o of m.objects) if (o.track_id !== null) this.ids.push({ stream: m.stream, id: o.track_id, at: Date.now() });
    });
  }

  static async connect(url: string): Promise<Client> {
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send(JSON.stringify({ type: 'subscribe', streams: ['*'] }));
    return new Client(ws);
  }

  /** Resolves once every stream (of `streams`) delivered `n` more frames than now. */
  async more(n: number, ms: number, streams: readonly string[] = STREAMS): Promise<void> {
    const base = new Map(streams.map((s) => [s, this.frames.get(s) ?? 0]));
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (streams.every((s) => (this.frames.get(s) ?? 0) >= base.get(s)! + n)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`not every stream delivered ${n} more frames within ${ms} ms: ${JSON.stringify([...this.frames].map(([s, c]) => [s, c - (base.get(s) ?? 0)]))}`);
  }
}

beforeAll(async () => {
  const [c, model] = await Promise.all([ensureDemoClip().then((x) => x.video), ensureModel('synthetic-det', { imgsz: 320 })]);
  clip = c;
  redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-cluster-'));
  config = join(dir, 'node.json');
  writeFileSync(config, JSON.stringify({ server: { mediaFolders: [dirname(clip)] }, models: { [model]: { intraOpThreads: 1, maxBatch: 4 } } }));
  await Promise.all(['n1', 'n2', 'n3'].map(startNode));
});

afterAll(async () => {
  for (const node of nodes.values()) if (node.child.exitCode === null) node.child.kill('SIGKILL');
  await redis?.close();
});

describe('streamlens cluster (3 nodes on a real Redis)', () => {
  let client: Client;

  it('runs 6 streams posted to one node once each, balanced, and serves all of them from another node', async () => {
    const n1 = nodes.get('n1')!;
    for (const id of STREAMS) {
      const res = await fetch(`${n1.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, url: clip, loop: true, fps: 3, jpegMaxWidth: 160 }) });
      expect(res.status).toBe(201);
    }
    const dup = await fetch(`${nodes.get('n2')!.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cam1', url: clip }) });
    expect(dup.status).toBe(409);
    const owner = await waitPlacement(placement(['n1', 'n2', 'n3']), 60_000, 'after POST');
    for (const n of load(owner).values()) expect(n).toBeLessThanOrEqual(BOUND_3);
    expect(load(owner).size).toBe(3);

    // Any node lists every stream with its owner.
    for (const node of nodes.values()) await waitListing(node.url, owner, 30_000);
    // Each node's /metrics counts the streams it runs, so a sum over the nodes counts each once.
    for (const [id, node] of nodes) {
      const text = await getText(`${node.url}/metrics`);
      const counted = [...text.matchAll(/^streamlens_stream_frames_sent_total\{stream="([^"]+)"\}/gm)].map((m) => m[1]).sort();
      expect(counted).toEqual(STREAMS.filter((s) => owner.get(s) === id).sort());
    }

    client = await Client.connect(nodes.get('n2')!.url);
    await client.more(3, 60_000);
  });

  it('relays results only while a client elsewhere follows them, and video only while one asks for it', async () => {
    const owner = await waitPlacement(placement(['n1', 'n2', 'n3']), 60_000, 'before the relay checks');
    const remote = STREAMS.filter((s) => owner.get(s) !== 'n2').sort();
    const spy = new Redis(redis.url);
    const seen = { results: new Set<string>(), video: new Set<string>() };
    const ever = { results: new Set<string>(), video: new Set<string>() };
    const published = { results: new Map<string, number>(), video: new Map<string, number>() };
    /** Resolves once `stream`'s results were published `n` more times, with what else was published meanwhile. */
    const window = async (stream: string, n: number): Promise<{ results: Set<string>; video: Set<string> }> => {
      seen.results.clear();
      seen.video.clear();
      const base = published.results.get(stream) ?? 0;
      const end = Date.now() + 30_000;
      while ((published.results.get(stream) ?? 0) < base + n) {
        if (Date.now() > end) throw new Error(`${stream}: its results were not published ${n} more times within 30 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { results: new Set(seen.results), video: new Set(seen.video) };
    };
    try {
      // A pattern subscriber is not counted by PUBSUB NUMSUB: it sees only what is published for the nodes.
      await spy.psubscribe('streamlens:cluster:results:*', 'streamlens:cluster:video:*');
      spy.on('pmessageBuffer', (_p: Buffer, channel: Buffer) => {
        const [, , kind, stream] = channel.toString().split(':') as [string, string, 'results' | 'video', string];
        seen[kind].add(stream);
        ever[kind].add(stream);
        published[kind].set(stream, (published[kind].get(stream) ?? 0) + 1);
      });
      // n2's client follows everything without video: the remote streams' results, no video, nothing of n2's own.
      for (const s of remote) await window(s, 3);
      expect([...ever.results].sort()).toEqual(remote);
      expect([...ever.video]).toEqual([]);
      const viewer = new WebSocket(nodes.get('n2')!.url.replace('http', 'ws') + '/ws');
      await new Promise((r, j) => viewer.once('open', r).once('error', j));
      let frames = 0;
      viewer.on('message', (_d, isBinary) => (frames += isBinary ? 1 : 0));
      viewer.send(JSON.stringify({ type: 'subscribe', streams: [remote[0]], video: true }));
      const end = Date.now() + 30_000;
      while (frames < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(frames).toBeGreaterThanOrEqual(3);
      expect([...seen.video]).toEqual([remote[0]]);
      viewer.close();
      await new Promise((r) => viewer.once('close', r));
      // Nobody asks for video any more: once the owner sees that, its results go on without video.
      const quietBy = Date.now() + 30_000;
      let after = await window(remote[0], 3);
      while (after.video.size > 0 && Date.now() < quietBy) after = await window(remote[0], 3);
      expect([...after.video]).toEqual([]);
    } finally {
      spy.disconnect();
    }
  });

  it('DELETE on any node stops the stream where it runs; POST again brings it back', async () => {
    const owner = await waitPlacement(placement(['n1', 'n2', 'n3']), 60_000, 'before DELETE');
    const victim = STREAMS.find((s) => owner.get(s) !== 'n1')!;
    const where = nodes.get(owner.get(victim)!)!;
    const ffmpeg = ffmpegChildren(where.child.pid!);
    const res = await new Promise<number>((resolve, reject) =>
      request(`${nodes.get('n1')!.url}/api/streams/${victim}`, { method: 'DELETE', agent: false }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      })
        .on('error', reject)
        .end(),
    );
    expect(res).toBe(204);
    // Gone once DELETE answered: from the owner's own report and its ffmpeg children.
    const self = (await running()).get(owner.get(victim)!)!;
    expect(self.streams).not.toContain(victim);
    expect(ffmpegChildren(where.child.pid!)).toBe(ffmpeg - 1);
    const listed = await getJson<{ streams: Array<{ id: string }> }>(`${nodes.get('n3')!.url}/api/streams`);
    expect(listed.streams.map((s) => s.id)).not.toContain(victim);
    const again = await fetch(`${nodes.get('n3')!.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: victim, url: clip, loop: true, fps: 3, jpegMaxWidth: 160 }) });
    expect(again.status).toBe(201);
    await waitPlacement(owner, 60_000, 'after DELETE and POST');
    await client.more(3, 60_000);
  });

  it('SIGKILL of a node: its streams run again exactly once within 15 s, the client keeps receiving, track ids do not collide', async () => {
    const before = await waitPlacement(placement(['n1', 'n2', 'n3']), 60_000, 'before SIGKILL');
    const victim = 'n3';
    const moved = STREAMS.filter((s) => before.get(s) === victim);
    expect(moved.length).toBeGreaterThan(0);
    const orphans = childPids(nodes.get(victim)!.child.pid!);
    expect(orphans.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    nodes.get(victim)!.child.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    nodes.delete(victim);
    // Taken over = run by a survivor holding its lease. How soon its decoder starts and its first
    // frame follows is the camera's and the machine's (ffprobe on a loaded machine takes seconds),
    // not the cluster's: checked next, exactly once as well.
    const survivors = placement(['n1', 'n2']);
    const owner = await waitPlacement(survivors, 15_000, 'after SIGKILL', 'owned');
    const takenOver = Date.now() - killedAt;
    expect(takenOver).toBeLessThan(15_000);
    const r = new Redis(redis.url);
    try {
      for (const s of moved) {
        expect(owner.get(s)).not.toBe(victim);
        expect(await r.get(`streamlens:cluster:lease:${s}`)).toBe(owner.get(s));
      }
    } finally {
      r.disconnect();
    }
    await waitPlacement(survivors, 60_000, 'streaming after SIGKILL');
    console.log(`failover after SIGKILL: taken over by the survivors after ${takenOver} ms, all streaming after ${Date.now() - killedAt} ms`);
    await client.more(5, 60_000);
    // The killed node's ffmpeg children end too (their output pipe is gone): no decoding left running.
    expect(orphans.filter(alive)).toEqual([]);
    // Ids a moved stream had before the kill are not given to other objects after it.
    for (const s of moved) {
      const old = new Set(client.ids.filter((i) => i.stream === s && i.at < killedAt).map((i) => i.id));
      const fresh = client.ids.filter((i) => i.stream === s && i.at > killedAt + 1000).map((i) => i.id);
      expect(fresh.length).toBeGreaterThan(0);
      expect(fresh.filter((id) => old.has(id))).toEqual([]);
    }
  });

  it('a node joining takes its share and no other stream moves', async () => {
    const before = await waitPlacement(placement(['n1', 'n2']), 60_000, 'before n4 joins');
    await startNode('n4');
    const owner = await waitPlacement(placement(['n1', 'n2', 'n4']), 60_000, 'after n4 joined');
    const n4 = load(owner).get('n4') ?? 0;
    expect(n4).toBeGreaterThan(0);
    expect(n4).toBeLessThanOrEqual(Math.ceil((1.25 * STREAMS.length) / 3));
    for (const s of STREAMS) if (owner.get(s) !== 'n4') expect(owner.get(s)).toBe(before.get(s));
    await client.more(3, 60_000);
  });

  it('SIGTERM hands its streams over at once and exits cleanly', async () => {
    const before = await waitPlacement(placement(['n1', 'n2', 'n4']), 60_000, 'before SIGTERM');
    const node = nodes.get('n4')!;
    const pid = node.child.pid!;
    const handed = STREAMS.filter((s) => before.get(s) === 'n4');
    node.child.kill('SIGTERM');
    expect((await node.exited).code).toBe(0);
    nodes.delete('n4');
    expect(ffmpegChildren(pid)).toBe(0);
    // Nothing is left for a TTL to end: the node's record and its leases are gone as it exits.
    const r = new Redis(redis.url);
    try {
      expect(await r.get('streamlens:cluster:node:n4')).toBeNull();
      for (const s of handed) expect(await r.get(`streamlens:cluster:lease:${s}`)).not.toBe('n4');
    } finally {
      r.disconnect();
    }
    const owner = await waitPlacement(placement(['n1', 'n2']), 30_000, 'after SIGTERM');
    for (const s of STREAMS) if (before.get(s) !== 'n4') expect(owner.get(s)).toBe(before.get(s));
    await client.more(3, 60_000);
  });

  it('Redis restarted mid-run: nodes keep running degraded, then resync without starting anything twice', async () => {
    const before = await waitPlacement(placement(['n1', 'n2']), 60_000, 'before the Redis restart');
    await redis.stop();
    const end = Date.now() + 30_000;
    let degraded = false;
    while (!degraded && Date.now() < end) {
      const health = await Promise.all([...nodes.values()].map((n) => getJson<{ status: string }>(`${n.url}/healthz`)));
      degraded = health.every((h) => h.status === 'degraded');
      if (!degraded) await new Promise((r) => setTimeout(r, 200));
    }
    expect(degraded).toBe(true);
    for (const n of nodes.values()) expect((await getJson<NodeView>(`${n.url}/api/cluster`)).status).toBe('degraded');
    // Streams of the client's node keep reaching it.
    const local = STREAMS.filter((s) => before.get(s) === 'n2');
    await client.more(3, 60_000, local);
    await waitPlacement(before, 30_000, 'while Redis is down');

    await redis.start();
    const back = Date.now() + 60_000;
    let ok = false;
    while (!ok && Date.now() < back) {
      const r = await running();
      ok = [...r.values()].every((n) => n.status === 'ok');
      // Never twice, at any moment of the resync.
      await exactlyOnce();
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ok).toBe(true);
    for (const node of nodes.values()) expect(node.child.exitCode).toBeNull();
    await waitPlacement(before, 30_000, 'after the Redis restart');
    // n1's view of the other node follows that node's next record in the fresh Redis (a heartbeat or a wake later).
    const view = (): Promise<NodeView> => getJson<NodeView>(`${nodes.get('n1')!.url}/api/cluster`);
    let cluster = await view();
    const settled = Date.now() + 30_000;
    while ((cluster.unplaced.length > 0 || cluster.nodes.length !== 2) && Date.now() < settled) {
      await new Promise((r) => setTimeout(r, 200));
      cluster = await view();
    }
    expect(cluster.unplaced).toEqual([]);
    expect(cluster.nodes.map((n) => n.id).sort()).toEqual(['n1', 'n2']);
    await client.more(3, 60_000);
    client.ws.close();
  });
});
