/**
 * The event store as a result sink, on the main thread. write() never touches the disk: events wait
 * in a bounded queue (oldest dropped, `queue_full`) and are written in batches, one transaction per
 * batch, by the store's worker thread (storeWorker.ts), at most one batch in flight: a slow or
 * failing disk fills the queue and drops, it never holds a frame. An event on a frame with a JPEG
 * gets a snapshot rendered first (sharp, off the main thread too), through a small bounded queue of
 * its own; a snapshot that cannot be rendered in time is skipped (`busy`), its event still stored.
 */
import { Worker } from 'node:worker_threads';
import { DropOldestQueue } from '../../pipeline/dropPolicy.js';
import { workerUrl } from '../../infer/workerUrl.js';
import type { Logger } from '../../log.js';
import type { AnalyticsEvent, FrameResult } from '../../types.js';
import type { InsertResult, NewEvent, StoredEvent } from './eventDb.js';
import type { EventFilter } from './eventQuery.js';
import { renderEventSnapshot } from './eventSnapshot.js';
import type { ResultSink } from '../sink.js';
import type { EventStoreSettings } from '../../config.js';
import { SinkCounters, type EventSinkStats } from './sinkStats.js';
import type { StoreReplies, StoreReply, StoreRequest, StoreWorkerData } from './storeProtocol.js';

/** Longest an event waits before its batch is written, ms. */
const FLUSH_MS = 200;
const MAX_BATCH = 500;
/** Events waiting for their snapshot to be rendered. */
const MAX_RENDER_QUEUE = 16;
/** Rendered snapshots waiting to be written (each holds a JPEG in memory). */
const MAX_PENDING_SNAPSHOTS = 64;
/** Queries and snapshot reads answer 503 after this. Inserts have no timeout: one runs at a time. */
const READ_TIMEOUT_MS = 5000;
const RETAIN_INTERVAL_MS = 60_000;
const CLOSE_FLUSH_MS = 2000;

/** The store cannot answer (its database cannot be opened, or it is too slow): HTTP 503. */
export class EventStoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventStoreUnavailable';
  }
}

export interface EventStoreOptions {
  settings: EventStoreSettings;
  log: Logger;
}

interface RenderJob {
  event: AnalyticsEvent;
  result: FrameResult & { jpeg: Uint8Array };
}

interface Waiting {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

type Payload<K extends StoreRequest['op']> = Omit<Extract<StoreRequest, { op: K }>, 'op' | 'req'>;

export class EventStore implements ResultSink {
  readonly name = 'store';
  readonly backpressure = 'buffer' as const;
  private readonly worker: Worker;
  private readonly pending: DropOldestQueue<NewEvent>;
  private readonly renders = new DropOldestQueue<RenderJob>(MAX_RENDER_QUEUE);
  private readonly counters = new SinkCounters();
  private readonly snapshotCounters = new SinkCounters();
  private readonly waiting = new Map<number, Waiting>();
  private readonly log: Logger;
  private readonly retainTimer: NodeJS.Timeout;
  private flushTimer: NodeJS.Timeout | undefined;
  private pendingSnapshots = 0;
  private rendering = false;
  /** Events in the batch being written (0 when none is). */
  private writing = 0;
  private closing = false;
  private nextReq = 1;
  /** Why the worker is gone, once it is. */
  private gone: string | undefined;
  /** Whether the current run of write failures has been logged at warn level. */
  private failing = false;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: EventStoreOptions) {
    const s = options.settings;
    this.log = options.log.child({ sink: 'store', dir: s.dir });
    this.pending = new DropOldestQueue(s.maxQueue);
    const data: StoreWorkerData = { dir: s.dir, retentionDays: s.retentionDays, maxRows: s.maxRows, maxSnapshotBytes: s.maxSnapshotMB * 1024 * 1024 };
    this.worker = new Worker(workerUrl('./storeWorker.js', import.meta.url), { workerData: data });
    this.worker.on('message', (reply: StoreReply) => this.onReply(reply));
    this.worker.on('error', (err) => this.onGone(`event store worker failed: ${err.message}`));
    this.worker.on('exit', (code) => this.onGone(`event store worker exited (${code})`));
    this.retain();
    this.retainTimer = setInterval(() => this.retain(), RETAIN_INTERVAL_MS);
  }

  write(result: FrameResult): void {
    if (this.closing || !result.events) return;
    const jpeg = this.options.settings.snapshots ? result.jpeg : undefined;
    for (const event of result.events) {
      if (!jpeg) {
        this.enqueue({ event });
        continue;
      }
      const skipped = this.renders.put({ event, result: { ...result, jpeg } });
      if (skipped) {
        this.snapshotCounters.dropped('busy');
        this.enqueue({ event: skipped.event });
      }
    }
    this.renderNext();
  }

  /** Stored events, newest first. Rejects with EventStoreUnavailable. */
  query(filter: EventFilter): Promise<StoredEvent[]> {
    return this.request('query', { filter });
  }

  /** The snapshot JPEG of a stored event, undefined when there is none. Rejects with EventStoreUnavailable. */
  snapshot(id: string): Promise<Uint8Array | undefined> {
    return this.request('snapshot', { id });
  }

  drops(): Record<string, number> {
    return this.counters.drops() as Record<string, number>;
  }

  eventStats(): EventSinkStats[] {
    const rendering = this.renders.size + (this.rendering ? 1 : 0);
    return [this.counters.stats('store', this.pending.size + rendering + this.writing), this.snapshotCounters.stats('snapshots', rendering)];
  }

  /** Writes what is queued (up to 2 s), then closes the database and ends the worker. */
  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.retainTimer);
    const deadline = Date.now() + CLOSE_FLUSH_MS;
    while (!this.gone && Date.now() < deadline && (this.rendering || this.renders.size || this.pending.size || this.writing > 0)) {
      this.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    clearTimeout(this.flushTimer);
    this.counters.dropped('closed', this.pending.size + this.renders.size);
    if (!this.gone) {
      await this.request('close', {}, CLOSE_FLUSH_MS).catch((err: Error) => this.log.warn({ err: err.message }, 'event store did not close cleanly'));
    }
    await this.worker.terminate();
  }

  private enqueue(entry: NewEvent): void {
    if (entry.snapshot) this.pendingSnapshots++;
    const evicted = this.pending.put(entry);
    if (evicted) {
      this.counters.dropped('queue_full');
      if (evicted.snapshot) this.pendingSnapshots--;
    }
    if (this.pending.size >= MAX_BATCH) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private renderNext(): void {
    if (this.rendering) return;
    const job = this.renders.shift();
    if (!job) return;
    this.rendering = true;
    renderEventSnapshot(job.result.jpeg, job.result.width, job.result.height, job.event)
      .then(
        (snapshot) => {
          if (this.pendingSnapshots < MAX_PENDING_SNAPSHOTS) return this.enqueue({ event: job.event, snapshot });
          this.snapshotCounters.dropped('busy');
          this.enqueue({ event: job.event });
        },
        (err: Error) => {
          this.snapshotCounters.dropped('error');
          this.log.debug({ err: err.message, event: job.event.id }, 'event snapshot could not be rendered');
          this.enqueue({ event: job.event });
        },
      )
      .finally(() => {
        this.rendering = false;
        this.renderNext();
      });
  }

  /** Sends the next batch to the worker unless one is being written. */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.writing > 0 || this.pending.size === 0) return;
    if (this.gone) {
      this.counters.dropped('store_error', this.pending.size);
      while (this.pending.shift());
      this.pendingSnapshots = 0;
      return;
    }
    const batch: NewEvent[] = [];
    for (let e = this.pending.shift(); e; e = batch.length < MAX_BATCH ? this.pending.shift() : undefined) batch.push(e);
    const snapshots = batch.filter((e) => e.snapshot).length;
    this.pendingSnapshots -= snapshots;
    this.writing = batch.length;
    this.request('insert', { batch, receivedMs: Date.now() }, 0)
      .then(
        (r: InsertResult) => {
          this.counters.published += r.stored;
          this.snapshotCounters.published += r.snapshots;
          this.snapshotCounters.dropped('error', r.snapshotErrors);
          if (this.failing) this.log.info({}, 'event store writes again');
          this.failing = false;
        },
        (err: Error) => {
          this.counters.dropped('store_error', batch.length);
          this.snapshotCounters.dropped('error', snapshots);
          if (this.failing) return this.log.debug({ err: err.message }, 'event store write failed');
          this.failing = true;
          this.log.warn({ err: err.message, events: batch.length }, 'event store write failed: events are dropped until it works again');
        },
      )
      .finally(() => {
        this.writing = 0;
        if (this.pending.size >= MAX_BATCH) this.flush();
        else if (this.pending.size > 0) this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
      });
  }

  private retain(): void {
    this.request('retain', { nowMs: Date.now() }).then(
      (n) => n > 0 && this.log.debug({ deleted: n }, 'event store retention'),
      () => undefined, // reported by the writes
    );
  }

  /** One request to the worker; timeoutMs 0 = wait as long as it takes. */
  private request<K extends StoreRequest['op']>(op: K, payload: Payload<K>, timeoutMs = READ_TIMEOUT_MS): Promise<StoreReplies[K]> {
    if (this.gone) return Promise.reject(new EventStoreUnavailable(this.gone));
    const req = this.nextReq++;
    return new Promise<StoreReplies[K]>((resolve, reject) => {
      const w: Waiting = { resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          this.waiting.delete(req);
          reject(new EventStoreUnavailable(`the event store did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiting.set(req, w);
      this.worker.postMessage({ op, req, ...payload } as StoreRequest);
    });
  }

  private onReply(reply: StoreReply): void {
    if (reply.req === 0) {
      this.log.warn({ err: reply.error }, 'event store unavailable: events are dropped until its folder can be written');
      this.failing = true;
      return;
    }
    const w = this.waiting.get(reply.req);
    if (!w) return;
    this.waiting.delete(reply.req);
    clearTimeout(w.timer);
    if (reply.error !== undefined) w.reject(new EventStoreUnavailable(reply.error));
    else w.resolve(reply.value);
  }

  private onGone(why: string): void {
    if (this.gone) return;
    this.gone = why;
    if (!this.closing) this.log.error({}, why);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new EventStoreUnavailable(why));
    }
    this.waiting.clear();
  }
}
