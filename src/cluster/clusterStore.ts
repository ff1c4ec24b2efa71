/**
 * The cluster's state in Redis, and the only module that knows its keys. Every change that must be
 * atomic (a stream created only if new, a lease taken only if free or renewed only by its holder,
 * track ids reserved past everything handed out) is one Lua script, so two nodes never interleave.
 *
 * Keys (prefix `streamlens:cluster:`):
 *   streams            hash  stream id -> {"rev": n, "settings": StreamSettings}   desired state
 *   rev                string, incremented on every change of `streams`            cheap change check
 *   changes            channel, the new rev after every change (and a node leaving)  wakes the nodes;
 *                      "node:<id>" when a node's record changed (it joined, or its streams changed)
 *   node:<id>          string JSON NodeRecord, expires after nodeTtlMs               membership
 *   nodes              set of node ids (pruned when their record expired)
 *   lease:<stream>     string node id, expires after leaseTtlMs                      who runs a stream
 *   trackids           sorted set stream -> highest track id reserved so far
 *   epoch              random string set once: missing or changed = Redis lost its data
 *   results:<stream>, video:<stream>, follow   relay channels (relay.ts)
 *   commands           channel, requests for the owner of a stream (an analytics reset)
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { StreamSettings } from '../config.js';
import type { StreamStats } from '../types.js';
import { backoffDelay } from '../pipeline/backoff.js';

export const PREFIX = 'streamlens:cluster:';

export const keys = {
  streams: `${PREFIX}streams`,
  rev: `${PREFIX}rev`,
  changes: `${PREFIX}changes`,
  nodes: `${PREFIX}nodes`,
  node: (id: string) => `${PREFIX}node:${id}`,
  lease: (stream: string) => `${PREFIX}lease:${stream}`,
  trackIds: `${PREFIX}trackids`,
  epoch: `${PREFIX}epoch`,
  results: (stream: string) => `${PREFIX}results:${stream}`,
  video: (stream: string) => `${PREFIX}video:${stream}`,
  follow: `${PREFIX}follow`,
  commands: `${PREFIX}commands`,
};

/** What a node publishes about itself with every heartbeat. */
export interface NodeRecord {
  id: string;
  /** Where clients reach it. */
  url?: string;
  startedAt: number;
  /** The node's clock when it wrote this record (epoch ms). */
  lastSeen: number;
  capacity: NodeCapacity;
  /** The streams it runs now, with their stats. */
  streams: StreamStats[];
}

export interface NodeCapacity {
  /** Execution providers its models run on (the configured preference until a model is loaded). */
  providers: string[];
  cores: number;
  /** 0 = no limit. */
  maxStreams: number;
  weight: number;
}

/** A stream of the desired state: its settings as the node that accepted the change resolved them. */
export interface DesiredStream {
  rev: number;
  settings: StreamSettings;
}

/** Reconnect delays of the Redis connections: 100 ms doubling up to 5 s, with jitter. */
const REDIS_BACKOFF = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.3 };

/**
 * A connection that fails commands at once while Redis is away (the caller decides what to keep
 * running) and reconnects with backoff forever. `subscriber` connections queue their (un)subscribe
 * commands instead, and resubscribe after a reconnect.
 */
export function connectRedis(url: string, opts: { subscriber?: boolean; name: string }): Redis {
  return new Redis(url, {
    connectionName: opts.name,
    enableOfflineQueue: opts.subscriber === true,
    maxRetriesPerRequest: opts.subscriber ? null : 1,
    retryStrategy: (times) => backoffDelay(times, REDIS_BACKOFF),
    connectTimeout: 5000,
    lazyConnect: false,
  });
}

/**
 * Writes a stream's settings under a new rev when whether it exists is ARGV[3] (0: a create, 1: an
 * update); the rev, or 0 when it is not.
 */
const PUT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) ~= tonumber(ARGV[3]) then return 0 end
local rev = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], '{"rev":' .. rev .. ',"settings":' .. ARGV[2] .. '}')
redis.call('PUBLISH', KEYS[3], rev)
return rev`;

const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', KEYS[3], rev)
return rev`;

/** Adds streams only where their id is missing (a restore after Redis lost its data, config-file streams). */
const SEED = `
local added = 0
for i = 1, #ARGV, 2 do
  added = added + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
if added > 0 then
  local rev = redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', KEYS[3], rev)
end
return added`;

/** Takes a free lease or keeps one's own; 1 when held afterwards. */
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * Renews the caller's leases; a lease that expired (or was lost with Redis's data) and that nobody
 * took is taken again. Returns, per key, 1 held or 0 someone else holds it.
 */
const RENEW = `
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) out[i] = 1
  elseif not v then redis.call('SET', k, ARGV[1], 'PX', ARGV[2]) out[i] = 1
  else out[i] = 0 end
end
return out`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Reserves ARGV[2] track ids past everything reserved so far (and past ARGV[3]); returns the first free one minus 1. */
const RESERVE_IDS = `
local cur = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
local floor = tonumber(ARGV[3])
if floor > cur then cur = floor end
redis.call('ZADD', KEYS[1], cur + tonumber(ARGV[2]), ARGV[1])
return cur`;

export class ClusterStore {
  constructor(
    readonly redis: Redis,
    private readonly nodeId: string,
  ) {}

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  // ---- desired state ----

  /** The new rev, or 0 when the id exists. */
  async create(settings: StreamSettings): Promise<number> {
    return this.put(settings, false);
  }

  /** The new rev, or 0 when there is no such stream. */
  async update(settings: StreamSettings): Promise<number> {
    return this.put(settings, true);
  }

  private async put(settings: StreamSettings, exists: boolean): Promise<number> {
    return Number(await this.redis.eval(PUT, 3, keys.streams, keys.rev, keys.changes, settings.id, JSON.stringify(settings), exists ? 1 : 0));
  }

  async remove(id: string): Promise<boolean> {
    return Number(await this.redis.eval(REMOVE, 3, keys.streams, keys.rev, keys.changes, id)) > 0;
  }

  /** Adds the streams whose ids are missing; returns how many were added. */
  async seed(streams: Iterable<DesiredStream>): Promise<number> {
    const args = [...streams].flatMap((s) => [s.settings.id, JSON.stringify(s)]);
    if (args.length === 0) return 0;
    return Number(await this.redis.eval(SEED, 3, keys.streams, keys.rev, keys.changes, ...args));
  }

  async rev(): Promise<string | null> {
    return this.redis.get(keys.rev);
  }

  async desired(): Promise<Map<string, DesiredStream>> {
    const all = await this.redis.hgetall(keys.streams);
    return new Map(Object.entries(all).map(([id, json]) => [id, JSON.parse(json) as DesiredStream]));
  }

  /** Wakes the other nodes (a node leaving, a lease released, a stream of `from` started or changed state). */
  async notify(from?: string): Promise<void> {
    await this.redis.publish(keys.changes, from === undefined ? 'wake' : `node:${from}`);
  }

  // ---- membership ----

  async heartbeat(record: NodeRecord, ttlMs: number): Promise<void> {
    await this.redis.multi().set(keys.node(record.id), JSON.stringify(record), 'PX', ttlMs).sadd(keys.nodes, record.id).exec();
  }

  async leave(): Promise<void> {
    await this.redis.multi().del(keys.node(this.nodeId)).srem(keys.nodes, this.nodeId).exec();
  }

  /** One node's record; null when it expired or the node left. */
  async node(id: string): Promise<NodeRecord | null> {
    const record = await this.redis.get(keys.node(id));
    return record === null ? null : (JSON.parse(record) as NodeRecord);
  }

  /** Live nodes (their record has not expired); ids whose record expired are pruned. */
  async nodes(): Promise<NodeRecord[]> {
    const ids = await this.redis.smembers(keys.nodes);
    if (ids.length === 0) return [];
    const records = await this.redis.mget(ids.map(keys.node));
    const gone = ids.filter((_, i) => records[i] === null);
    if (gone.length) await this.redis.srem(keys.nodes, ...gone);
    return records.flatMap((r) => (r === null ? [] : [JSON.parse(r) as NodeRecord]));
  }

  // ---- leases ----

  async acquire(stream: string, ttlMs: number): Promise<boolean> {
    return Number(await this.redis.eval(ACQUIRE, 1, keys.lease(stream), this.nodeId, ttlMs)) === 1;
  }

  /** The streams among `streams` whose lease another node holds now. */
  async renew(streams: string[], ttlMs: number): Promise<string[]> {
    if (streams.length === 0) return [];
    const held = (await this.redis.eval(RENEW, streams.length, ...streams.map(keys.lease), this.nodeId, ttlMs)) as number[];
    return streams.filter((_, i) => Number(held[i]) !== 1);
  }

  async release(stream: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, keys.lease(stream), this.nodeId);
  }

  async leaseHolder(stream: string): Promise<string | null> {
    return this.redis.get(keys.lease(stream));
  }

  // ---- track ids ----

  /** Reserves `count` track ids of a stream past any reserved before and past `floor`; returns the offset to add to 1..count. */
  async reserveTrackIds(stream: string, count: number, floor = 0): Promise<number> {
    return Number(await this.redis.eval(RESERVE_IDS, 1, keys.trackIds, stream, count, floor));
  }

  /** Raises the stream's reservation to at least `upTo`. */
  async extendTrackIds(stream: string, upTo: number): Promise<void> {
    await this.redis.zadd(keys.trackIds, 'GT', upTo, stream);
  }

  // ---- epoch ----

  /**
   * The epoch of Redis's data: created when missing. `created` says this call made it (Redis
   * started empty or lost its data).
   */
  async epoch(): Promise<{ epoch: string; created: boolean }> {
    const fresh = randomUUID();
    const set = await this.redis.set(keys.epoch, fresh, 'NX');
    if (set === 'OK') return { epoch: fresh, created: true };
    return { epoch: (await this.redis.get(keys.epoch)) ?? fresh, created: false };
  }

  /** Subscribers per channel (PUBSUB NUMSUB). */
  async listeners(channels: string[]): Promise<Map<string, number>> {
    if (channels.length === 0) return new Map();
    const reply = (await this.redis.call('PUBSUB', 'NUMSUB', ...channels)) as Array<string | number>;
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), Number(reply[i + 1]));
    return out;
  }
}
