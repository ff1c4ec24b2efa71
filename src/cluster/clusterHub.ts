/**
 * A node of a streamlens cluster: the StreamHubApi serve talks to, over the local StreamHub that
 * runs this node's share of the streams (docs/cluster.md).
 *
 * Every `heartbeatMs` (and at once when another node announces a change) the node reconciles:
 *  1. renew the leases of its streams (and of those it is still stopping); a stream whose lease
 *     another node holds is stopped;
 *  2. heartbeat: its record (what it runs, with stats, and its capacity) with a TTL; when a stream
 *     here started, stopped or changed state, wake the others (their listings follow at once);
 *  3. read the desired state (only when its rev changed) and the live nodes;
 *  4. place every stream (placement.ts) and act on its own part: stop what is no longer its own
 *     (and release the lease once the stream's source is released), start what is (only after
 *     taking the lease), apply changed settings.
 * While Redis is unreachable it keeps running what it has, reports `degraded`, and reconnects
 * with backoff; once back it renews (or takes again) its leases before taking anything new, and
 * restores the desired state if Redis came back empty.
 */
import { availableParallelism, hostname } from 'node:os';
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { Redis } from 'ioredis';
import type { ClusterSettings, StreamSettings } from '../config.js';
import type { FrameResult, StreamStats } from '../types.js';
import type { ModelBackend } from '../infer/backend.js';
import type { Logger } from '../log.js';
import { nowMs } from '../clock.js';
import { DuplicateStreamError, HubUnavailableError, UnknownStreamError, type DecoderInfo, type ModelInfo, type ModelStats, type StreamHubApi, type StreamStateEvent } from '../pipeline/hub.js';
import { ClusterStore, connectRedis, keys, PREFIX, type DesiredStream, type NodeRecord } from './clusterStore.js';
import { placeStreams } from './placement.js';
import { decodeRelayedResult, decodeRelayedVideo, encodeRelayedResult, encodeRelayedVideo, Followers, offsetTrackIds } from './relay.js';

/** How long start() waits for the first connection to Redis before the node runs degraded. */
const FIRST_CONNECT_WAIT_MS = 5000;

/** Track ids reserved at a time per stream (ids of a stream never repeat across nodes). */
const TRACK_ID_BLOCK = 1000;

export type ClusterStatus = 'ok' | 'degraded';

/** GET /api/cluster. */
export interface ClusterView {
  self: string;
  status: ClusterStatus;
  nodes: Array<Omit<NodeRecord, 'streams'> & { streams: string[] }>;
  /** Streams of the desired state that no live node runs now. */
  unplaced: string[];
}

/** What serve shows of the cluster (GET /api/cluster, /healthz). */
export interface ClusterApi {
  readonly nodeId: string;
  status(): ClusterStatus;
  view(): ClusterView;
}

export interface ClusterHubOptions {
  settings: ClusterSettings;
  /** Resolved node id. */
  nodeId: string;
  /** Where clients reach this node. */
  url?: string;
  /** The hub that runs this node's streams. The cluster hub owns it from here. */
  local: StreamHubApi;
  /** Execution providers of the configured models, reported until a model is loaded. */
  providers: string[];
  log: Logger;
}

interface OwnedStream {
  settings: StreamSettings;
  json: string;
  /** Added to the local tracker's ids. */
  offset: number;
  /** Ids up to here are reserved in Redis. */
  reservedTo: number;
  maxTrackId: number;
  /** Subscribers of its relay channels, from PUBSUB NUMSUB. */
  listeners: { results: number; video: number };
}

/** A stream placed but not running anywhere yet. */
function pendingStats(id: string): StreamStats {
  const zero = { p50: 0, p95: 0, p99: 0, max: 0 };
  return { id, state: 'connecting', reconnects: 0, framesDecoded: 0, framesInferred: 0, framesSent: 0, fpsIn: 0, fpsOut: 0, drops: { policy: 0, staleness: 0, client: 0 }, latency: zero, stages: {} };
}

/** `<host name>-<port>`, made a valid id. */
export function defaultNodeId(port: number): string {
  return `${hostname()}-${port}`.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || `node-${port}`;
}

export class ClusterHub implements StreamHubApi, ClusterApi {
  readonly nodeId: string;
  readonly results$: Observable<FrameResult>;
  readonly states$: Observable<StreamStateEvent>;
  readonly relayed$: Observable<FrameResult>;

  private readonly knobs: ClusterSettings;
  private readonly local: StreamHubApi;
  private readonly log: Logger;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly store: ClusterStore;
  private readonly results = new Subject<FrameResult>();
  private readonly states = new Subject<StreamStateEvent>();
  private readonly relayed = new Subject<FrameResult>();
  private readonly subscriptions: Subscription[] = [];
  private readonly startedAt = Date.now();

  private desired = new Map<string, DesiredStream>();
  private desiredRev: string | null | undefined;
  private nodes: NodeRecord[] = [];
  private readonly owned = new Map<string, OwnedStream>();
  /** Streams being started or stopped here now (not touched again until done). */
  private readonly busy = new Map<string, Promise<void>>();
  /** Streams being handed over: their leases are still renewed until their sources are released (a slow stop must not let another node start them early). */
  private readonly stopping = new Set<string>();
  private readonly followers = new Followers();
  /** Relay channel this node listens on per stream. */
  private readonly listening = new Map<string, string>();
  /** Last state seen of streams running elsewhere (to announce changes on states$). */
  private readonly remoteStates = new Map<string, string>();
  private seedStreams: StreamSettings[];
  private url: string | undefined;
  private readonly providers: string[];
  private started = false;

  private health: ClusterStatus = 'degraded';
  private resync = true;
  private epoch: string | undefined;
  /** No new lease before this time (other nodes re-take theirs first after Redis lost its data). */
  private settleUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  /**
   * The node joined, or a stream here started, stopped or changed state: the next heartbeat wakes
   * the others (a newcomer gets its share and listings follow at once, not a heartbeat later).
   */
  private announce = true;
  private closed = false;

  constructor(options: ClusterHubOptions & { seed?: StreamSettings[] }) {
    this.knobs = options.settings;
    this.nodeId = options.nodeId;
    this.local = options.local;
    this.log = options.log.child({ node: this.nodeId });
    this.url = options.url;
    this.providers = options.providers;
    this.seedStreams = options.seed ?? [];
    this.redis = connectRedis(options.settings.redis, { name: `streamlens-${this.nodeId}` });
    this.sub = connectRedis(options.settings.redis, { name: `streamlens-${this.nodeId}-sub`, subscriber: true });
    this.store = new ClusterStore(this.redis, this.nodeId);
    this.results$ = this.results.asObservable();
    this.states$ = this.states.asObservable();
    this.relayed$ = this.relayed.asObservable();
    this.watchConnection();
    this.subscriptions.push(
      this.local.results$.subscribe((r) => this.onLocalResult(r)),
      this.local.states$.subscribe((e) => {
        if (this.owned.has(e.stream)) this.announceSoon();
        this.states.next(e);
      }),
    );
  }

  /**
   * Joins the cluster: `url` is where clients reach this node (unless the settings say). Resolves
   * after the first reconcile (at once when Redis is away: the node keeps trying).
   */
  async start(url?: string): Promise<void> {
    this.url ??= url;
    this.started = true;
    void this.sub.subscribe(keys.changes, keys.follow, keys.commands).catch((err: unknown) => this.log.debug({ err }, 'subscribe failed'));
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
    this.timer = setInterval(() => this.schedule(), this.knobs.heartbeatMs);
    // The first connection is still being made: wait for it a little (a Redis that is down does not keep the node from serving).
    if (!this.store.ready) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FIRST_CONNECT_WAIT_MS);
        this.redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.reconcile();
  }

  // ---- StreamHubApi ----

  ids(): string[] {
    return [...this.desired.keys()];
  }

  has(id: string): boolean {
    return this.desired.has(id);
  }

  settings(id: string): StreamSettings | undefined {
    return this.desired.get(id)?.settings;
  }

  stats(id: string): StreamStats | undefined {
    if (!this.desired.has(id) && !this.owned.has(id)) return undefined;
    if (this.owned.has(id)) {
      const s = this.local.stats(id);
      if (s) return { ...s, node: this.nodeId };
    }
    for (const n of this.nodes) {
      if (n.id === this.nodeId) continue;
      const s = n.streams.find((x) => x.id === id);
      if (s) return { ...s, node: n.id };
    }
    return pendingStats(id);
  }

  list(): StreamStats[] {
    return this.ids().flatMap((id) => this.stats(id) ?? []);
  }

  async add(settings: StreamSettings): Promise<StreamStats> {
    this.requireRedis();
    const rev = await this.store.create(settings);
    if (rev === 0) throw new DuplicateStreamError(settings.id);
    this.desired.set(settings.id, { rev, settings });
    await this.reconcile();
    await this.busy.get(settings.id);
    return this.stats(settings.id) ?? pendingStats(settings.id);
  }

  /** Resolves once no node runs the stream any more (or after a node TTL: a node that went away stops on its own). */
  async remove(id: string): Promise<boolean> {
    this.requireRedis();
    if (!(await this.store.remove(id))) return false;
    this.desired.delete(id);
    await this.reconcile();
    await this.busy.get(id);
    const end = nowMs() + this.knobs.nodeTtlMs;
    while (nowMs() < end && !this.closed) {
      const nodes = await this.store.nodes().catch(() => []);
      if (!nodes.some((n) => n.streams.some((s) => s.id === id))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }

  async update(id: string, settings: StreamSettings): Promise<StreamStats> {
    this.requireRedis();
    if (settings.id !== id) throw new Error(`stream "${id}": the id cannot change (got "${settings.id}")`);
    const rev = await this.store.update(settings);
    if (rev === 0) throw new UnknownStreamError(id);
    this.desired.set(id, { rev, settings });
    await this.reconcile();
    await this.busy.get(id);
    return this.stats(id) ?? pendingStats(id);
  }

  modelInfo(): Promise<ModelInfo[]> {
    return this.local.modelInfo();
  }

  modelStats(paths: Iterable<string>): ModelStats[] {
    return this.local.modelStats(paths);
  }

  childProcesses(): number {
    return this.local.childProcesses();
  }

  decoder(): DecoderInfo {
    return this.local.decoder();
  }

  /** The owner resets the counts: here, or on the node running the stream (told over Redis). */
  async resetAnalytics(id: string): Promise<boolean> {
    if (this.owned.has(id)) return this.local.resetAnalytics(id);
    const want = this.desired.get(id);
    if (!want) throw new UnknownStreamError(id);
    this.requireRedis();
    await this.redis.publish(keys.commands, JSON.stringify({ type: 'resetAnalytics', stream: id }));
    const { zones, lines } = want.settings.analytics;
    return zones.length + lines.length > 0;
  }

  detectBackend(modelPath: string): Promise<ModelBackend> {
    return this.local.detectBackend(modelPath);
  }

  follow(stream: string, options: { video: boolean }): () => void {
    const release = this.followers.add(stream, options.video);
    this.syncRelay();
    return () => {
      release();
      this.syncRelay();
    };
  }

  /**
   * Leaves the cluster at once: the node's record goes first (the others place its streams
   * elsewhere), each stream is stopped and its lease released as soon as its source is released,
   * then the others are woken to take them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.ticking;
    const online = this.store.ready;
    if (online) await this.store.leave().then(() => this.store.notify()).catch((err: unknown) => this.log.warn({ err }, 'leaving the cluster failed'));
    // No more heartbeats, but a stop may outlast a lease: what is still stopping keeps its lease until released.
    const renewing = online ? setInterval(() => void this.store.renew([...this.stopping], this.knobs.leaseTtlMs).catch(() => undefined), this.knobs.heartbeatMs) : undefined;
    try {
      await Promise.all([...this.busy.values()]);
      await Promise.all([...this.owned.keys()].map((id) => this.stopLocal(id, 'node shutting down', online)));
    } finally {
      clearInterval(renewing);
    }
    if (online) await this.store.notify().catch(() => undefined);
    for (const s of this.subscriptions) s.unsubscribe();
    await this.local.close();
    this.redis.disconnect();
    this.sub.disconnect();
    this.results.complete();
    this.states.complete();
    this.relayed.complete();
  }

  // ---- ClusterApi ----

  status(): ClusterStatus {
    return this.health;
  }

  view(): ClusterView {
    const self = this.selfRecord();
    const others = this.nodes.filter((n) => n.id !== this.nodeId);
    const nodes = [self, ...others].sort((a, b) => (a.id < b.id ? -1 : 1)).map((n) => ({ ...n, streams: n.streams.map((s) => s.id) }));
    const running = new Set(nodes.flatMap((n) => n.streams));
    return { self: this.nodeId, status: this.health, nodes, unplaced: this.ids().filter((id) => !running.has(id)) };
  }

  // ---- reconciliation ----

  /** Heartbeats soon and wakes the other nodes once the record is written. */
  private announceSoon(): void {
    this.announce = true;
    this.schedule();
  }

  /**
   * Reads one node's record after it announced a change. A node this one does not know yet (it
   * joined) or that is gone changes the placement: that takes a reconcile.
   */
  private async refreshNode(id: string): Promise<void> {
    if (id === this.nodeId || this.closed || !this.store.ready) return;
    const record = await this.store.node(id);
    const i = this.nodes.findIndex((n) => n.id === id);
    if (!record || i < 0) return this.schedule();
    if (record.lastSeen >= this.nodes[i].lastSeen) this.nodes[i] = record;
    this.announceRemoteStates();
  }

  /** The records read, each kept from before where the one known is newer (read by refreshNode meanwhile). */
  private newest(records: NodeRecord[]): NodeRecord[] {
    const known = new Map(this.nodes.map((n) => [n.id, n]));
    return records.map((r) => {
      const k = known.get(r.id);
      return k && k.lastSeen > r.lastSeen ? k : r;
    });
  }

  /** Runs a reconcile soon; calls while one runs coalesce into one more. */
  private schedule(): void {
    if (this.ticking) {
      this.again = true;
      return;
    }
    void this.reconcile();
  }

  private reconcile(): Promise<void> {
    if (this.closed || !this.started) return Promise.resolve();
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.tick();
      } while (this.again && !this.closed);
    })().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async tick(): Promise<void> {
    if (!this.store.ready) {
      this.setHealth('degraded');
      return;
    }
    try {
      if (this.resync) await this.resyncState();
      // Leases before the record: a dead node's leases expire before (or with) its record, so the
      // nodes that see it gone can take its streams at once.
      const lost = await this.store.renew([...this.owned.keys(), ...this.stopping], this.knobs.leaseTtlMs);
      for (const id of lost) {
        if (!this.owned.has(id)) continue;
        this.log.warn({ stream: id }, 'lease held by another node: stopping the stream here');
        this.track(id, this.stopLocal(id, 'lease lost', false));
      }
      const announce = this.announce;
      this.announce = false;
      await this.store.heartbeat(this.selfRecord(), this.knobs.nodeTtlMs);
      if (announce) await this.store.notify(this.nodeId);
      const rev = await this.store.rev();
      if (rev !== this.desiredRev) {
        this.desired = await this.store.desired();
        this.desiredRev = rev;
      }
      this.nodes = this.newest((await this.store.nodes()).filter((n) => n.id !== this.nodeId));
      await this.place();
      await this.refreshListeners();
      await this.extendTrackIds();
      this.announceRemoteStates();
      this.syncRelay();
      this.setHealth('ok');
    } catch (err) {
      if (!this.store.ready) this.resync = true;
      // What changed here meanwhile may not have reached the others.
      this.announce = true;
      this.setHealth('degraded');
      this.log.warn({ err }, 'cluster reconcile failed');
    }
  }

  /** After (re)connecting: the epoch says whether Redis kept its data; if not, restore it from what this node knows. */
  private async resyncState(): Promise<void> {
    const { epoch, created } = await this.store.epoch();
    const lostData = created || (this.epoch !== undefined && epoch !== this.epoch);
    if (lostData) {
      // Others may still run streams whose leases are gone: give them a node TTL to take theirs again.
      this.settleUntil = nowMs() + this.knobs.nodeTtlMs;
      const restored = await this.store.seed(this.desired.values());
      for (const [id, o] of this.owned) await this.store.extendTrackIds(id, o.reservedTo);
      if (this.epoch !== undefined) this.log.warn({ restored }, 'Redis lost the cluster state: restored what this node knew');
    }
    if (this.seedStreams.length) {
      const seed = this.seedStreams;
      this.seedStreams = [];
      await this.seedConfigStreams(seed);
    }
    this.epoch = epoch;
    this.desiredRev = undefined;
    this.resync = false;
  }

  /** Config-file streams join the desired state unless the cluster has their id already (then the cluster's settings win). */
  private async seedConfigStreams(streams: StreamSettings[]): Promise<void> {
    const existing = await this.store.desired();
    const added = await this.store.seed(streams.map((settings) => ({ rev: 0, settings })));
    for (const s of streams) {
      const other = existing.get(s.id);
      if (other && JSON.stringify(other.settings) !== JSON.stringify(s)) {
        this.log.warn({ stream: s.id }, "config stream exists in the cluster with other settings: the cluster's settings are kept");
      }
    }
    if (added) this.log.info({ added }, 'config streams added to the cluster');
  }

  private async place(): Promise<void> {
    const me = { id: this.nodeId, weight: this.knobs.weight, maxStreams: this.knobs.maxStreams };
    const nodes = [me, ...this.nodes.map((n) => ({ id: n.id, weight: n.capacity.weight, maxStreams: n.capacity.maxStreams }))];
    const placement = placeStreams(this.ids(), nodes, this.knobs.loadFactor);
    for (const [id, o] of this.owned) {
      if (this.busy.has(id)) continue;
      const want = this.desired.get(id);
      if (!want) this.track(id, this.stopLocal(id, 'removed', true));
      else if (placement.get(id) !== this.nodeId) this.track(id, this.stopLocal(id, `placed on ${placement.get(id) ?? 'no node'}`, true));
      else if (JSON.stringify(want.settings) !== o.json) this.track(id, this.updateLocal(id, want.settings));
    }
    if (nowMs() < this.settleUntil) return;
    for (const [id, node] of placement) {
      if (node !== this.nodeId || this.owned.has(id) || this.busy.has(id)) continue;
      if (!(await this.store.acquire(id, this.knobs.leaseTtlMs))) continue;
      const offset = await this.store.reserveTrackIds(id, TRACK_ID_BLOCK);
      const settings = this.desired.get(id)!.settings;
      this.owned.set(id, { settings, json: JSON.stringify(settings), offset, reservedTo: offset + TRACK_ID_BLOCK, maxTrackId: offset, listeners: { results: 0, video: 0 } });
      this.track(id, this.startLocal(id, settings));
    }
  }

  /** Runs `work` for a stream; the stream is left alone by reconciles until it is done. */
  private track(id: string, work: Promise<void>): void {
    const done = work
      .catch((err: unknown) => this.log.error({ stream: id, err }, 'cluster stream change failed'))
      .finally(() => {
        if (this.busy.get(id) === done) this.busy.delete(id);
      });
    this.busy.set(id, done);
  }

  private async startLocal(id: string, settings: StreamSettings): Promise<void> {
    this.log.info({ stream: id }, 'starting stream (lease taken)');
    try {
      await this.local.add(settings);
    } catch (err) {
      if (!(err instanceof DuplicateStreamError)) throw err;
    }
    this.syncRelay();
  }

  private async updateLocal(id: string, settings: StreamSettings): Promise<void> {
    const o = this.owned.get(id);
    if (!o) return;
    o.settings = settings;
    o.json = JSON.stringify(settings);
    await this.local.update(id, settings);
  }

  /** Stops a stream here; its lease is released (when `release`) only once its source is gone, so it never runs twice. */
  private async stopLocal(id: string, reason: string, release: boolean): Promise<void> {
    const o = this.owned.get(id);
    this.owned.delete(id);
    const handOver = release && o !== undefined;
    if (handOver) this.stopping.add(id);
    this.log.info({ stream: id, reason }, 'stopping stream');
    try {
      await this.local.remove(id);
      // The next heartbeat (at once) tells the others it is gone.
      this.announceSoon();
      if (!handOver) return;
      try {
        await this.store.extendTrackIds(id, o.reservedTo);
        // A renewal sent after the release would take the lease again (commands run in the order sent).
        this.stopping.delete(id);
        await this.store.release(id);
        await this.store.notify();
      } catch (err) {
        // The lease expires on its own.
        this.log.debug({ stream: id, err }, 'lease release failed');
      }
    } finally {
      this.stopping.delete(id);
    }
  }

  private selfRecord(): NodeRecord {
    const streams = [...this.owned.keys()].flatMap((id) => {
      const s = this.local.stats(id);
      return s ? [{ ...s, node: this.nodeId }] : [];
    });
    const models = [...new Set([...this.owned.values()].map((o) => o.settings.model))];
    const active = [...new Set(this.local.modelStats(models).map((m) => m.activeProvider))];
    return {
      id: this.nodeId,
      ...(this.url ? { url: this.url } : {}),
      startedAt: this.startedAt,
      lastSeen: Date.now(),
      capacity: { providers: active.length ? active : this.providers, cores: availableParallelism(), maxStreams: this.knobs.maxStreams, weight: this.knobs.weight },
      streams,
    };
  }

  private setHealth(h: ClusterStatus): void {
    if (h === this.health) return;
    this.health = h;
    if (h === 'degraded') this.log.warn({}, 'cluster degraded: Redis unreachable, keeping the streams this node runs');
    else this.log.info({}, 'cluster ok');
  }

  private requireRedis(): void {
    if (this.closed) throw new Error('server is shutting down');
    if (!this.store.ready) throw new HubUnavailableError('the cluster state (Redis) is unreachable: try again later');
  }

  private watchConnection(): void {
    let errors = 0;
    const onError = (err: Error): void => {
      // Every reconnect attempt fails the same way while Redis is down: log the first and then every 50th.
      if (errors++ % 50 === 0) this.log.warn({ err: err.message }, 'Redis connection error');
    };
    this.redis.on('error', onError);
    this.sub.on('error', onError);
    this.redis.on('close', () => {
      if (this.closed) return;
      this.resync = true;
      this.setHealth('degraded');
    });
    this.redis.on('ready', () => {
      errors = 0;
      this.resync = true;
      this.schedule();
    });
  }

  // ---- the relay ----

  /** A result of a stream running here: track ids made cluster-unique, published for followers elsewhere, then to serve. */
  private onLocalResult(r: FrameResult): void {
    const o = this.owned.get(r.streamId);
    if (o) {
      o.maxTrackId = Math.max(o.maxTrackId, offsetTrackIds(r, o.offset));
      if (this.store.ready) {
        if (o.listeners.video > 0 && r.jpeg) this.publish(keys.video(r.streamId), encodeRelayedVideo(r, r.jpeg), o, 'video');
        if (o.listeners.results > 0) this.publish(keys.results(r.streamId), encodeRelayedResult(r), o, 'results');
      }
    }
    this.results.next(r);
  }

  private publish(channel: string, payload: string | Buffer, o: OwnedStream, kind: 'results' | 'video'): void {
    this.redis.publish(channel, payload).then(
      (n) => {
        // Nobody listens any more: stop publishing until the next NUMSUB says otherwise.
        if (n === 0) o.listeners[kind] = 0;
      },
      () => undefined,
    );
  }

  private onMessage(channel: string, message: Buffer): void {
    if (channel === keys.changes) {
      const text = message.toString();
      // A node's streams changed: only its record is read again (a reconcile reads every node's).
      if (text.startsWith('node:')) return void this.refreshNode(text.slice('node:'.length)).catch(() => undefined);
      return this.schedule();
    }
    if (channel === keys.commands) return this.onCommand(message.toString());
    if (channel === keys.follow) {
      const o = this.owned.get(message.toString());
      if (o) void this.refreshListeners([message.toString()]).catch(() => undefined);
      return;
    }
    const video = channel.startsWith(`${PREFIX}video:`);
    const stream = channel.slice((video ? `${PREFIX}video:` : `${PREFIX}results:`).length);
    // A stream that moved here: its results come from the local hub now.
    if (this.owned.has(stream) || !this.followers.need(stream)) return;
    try {
      this.relayed.next(video ? decodeRelayedVideo(message) : decodeRelayedResult(message));
    } catch (err) {
      this.log.debug({ stream, err }, 'bad relayed result');
    }
  }

  private onCommand(text: string): void {
    try {
      const c = JSON.parse(text) as { type: string; stream: string };
      if (c.type === 'resetAnalytics' && this.owned.has(c.stream)) {
        void this.local.resetAnalytics(c.stream).catch((err: unknown) => this.log.warn({ stream: c.stream, err }, 'analytics reset failed'));
      }
    } catch (err) {
      this.log.debug({ err }, 'bad cluster command');
    }
  }

  /** Listens on the channel each followed stream running elsewhere needs, and on nothing else. */
  private syncRelay(): void {
    if (this.closed) return;
    const want = new Map<string, string>();
    for (const id of this.followers.streams()) {
      if (this.owned.has(id)) continue;
      want.set(id, this.followers.need(id) === 'video' ? keys.video(id) : keys.results(id));
    }
    for (const [id, channel] of this.listening) {
      if (want.get(id) === channel) continue;
      this.listening.delete(id);
      void this.sub.unsubscribe(channel).catch(() => undefined);
    }
    for (const [id, channel] of want) {
      if (this.listening.get(id) === channel) continue;
      this.listening.set(id, channel);
      void this.sub
        .subscribe(channel)
        .then(() => this.redis.publish(keys.follow, id))
        .catch(() => undefined);
    }
  }

  private async refreshListeners(ids = [...this.owned.keys()]): Promise<void> {
    const channels = ids.flatMap((id) => [keys.results(id), keys.video(id)]);
    const counts = await this.store.listeners(channels);
    for (const id of ids) {
      const o = this.owned.get(id);
      if (o) o.listeners = { results: counts.get(keys.results(id)) ?? 0, video: counts.get(keys.video(id)) ?? 0 };
    }
  }

  /** Reserves the next block of track ids of a stream before its tracker gets near the end of the current one. */
  private async extendTrackIds(): Promise<void> {
    for (const [id, o] of this.owned) {
      if (o.maxTrackId < o.reservedTo - TRACK_ID_BLOCK / 2) continue;
      o.reservedTo = o.maxTrackId + TRACK_ID_BLOCK;
      await this.store.extendTrackIds(id, o.reservedTo);
    }
  }

  /** State changes of streams running elsewhere (and streams appearing), for WebSocket clients here. */
  private announceRemoteStates(): void {
    for (const id of this.ids()) {
      if (this.owned.has(id)) {
        this.remoteStates.delete(id);
        continue;
      }
      const s = this.stats(id)!;
      const key = `${s.state}|${s.node ?? ''}`;
      if (this.remoteStates.get(id) === key) continue;
      this.remoteStates.set(id, key);
      this.states.next({ stream: id, state: s.state, reconnects: s.reconnects, ...(s.lastError ? { error: s.lastError } : {}) });
    }
    for (const id of this.remoteStates.keys()) {
      if (this.desired.has(id)) continue;
      this.remoteStates.delete(id);
      if (!this.owned.has(id)) this.states.next({ stream: id, state: 'stopped', reconnects: 0 });
    }
  }
}
