/**
 * Events to one webhook: each event is POSTed as its JSON (one event per request, in order), signed
 * when a secret is set (signature.ts). write() never waits: events wait in a bounded queue (oldest
 * dropped, `queue_full`) and one delivery runs at a time. A delivery is retried with backoff on
 * 5xx, 408, 429, a timeout or a connection error, up to `maxAttempts` (then `failed`); any other
 * non-2xx answer is final (`rejected`).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DropOldestQueue } from '../../pipeline/dropPolicy.js';
import { backoffDelay } from '../../pipeline/backoff.js';
import type { Logger } from '../../log.js';
import type { AnalyticsEvent, FrameResult } from '../../types.js';
import type { ResultSink } from '../sink.js';
import type { WebhookSettings } from '../../config.js';
import { signatureHeaders } from './signature.js';
import { SinkCounters, type EventSinkStats } from './sinkStats.js';

/** How long close() keeps delivering what is queued before it gives up on the rest. */
const CLOSE_FLUSH_MS = 2000;

export interface WebhookSinkOptions {
  settings: WebhookSettings;
  /** Its place in `events.webhooks`: the sink is named `webhooks[<index>]` in logs and /metrics. */
  index: number;
  /** streamlens version, for the user-agent header. */
  version: string;
  log: Logger;
  random?: () => number;
}

type Outcome = 'delivered' | 'retry' | 'rejected';

/** Statuses worth another attempt: the receiver's trouble, not the request's. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export class WebhookSink implements ResultSink {
  readonly name: string;
  readonly backpressure = 'buffer' as const;
  private readonly queue: DropOldestQueue<AnalyticsEvent>;
  private readonly counters = new SinkCounters();
  private readonly types: ReadonlySet<string> | undefined;
  private readonly log: Logger;
  /** Aborted when close() gives up: cancels the request and backoff in progress. */
  private readonly stop = new AbortController();
  private delivering = false;
  private closing = false;
  /** Whether the current run of failures has been logged at warn level (one line per outage). */
  private failing = false;
  private idle: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: WebhookSinkOptions) {
    const s = options.settings;
    this.name = `webhooks[${options.index}]`;
    this.queue = new DropOldestQueue(s.maxQueue);
    this.types = s.types ? new Set(s.types) : undefined;
    this.log = options.log.child({ sink: this.name, url: new URL(s.url).origin });
  }

  write(result: FrameResult): void {
    const events = result.events;
    if (this.closing || !events) return;
    for (const event of events) {
      if (this.types && !this.types.has(event.type)) continue;
      if (this.queue.put(event)) this.counters.dropped('queue_full');
    }
    this.pump();
  }

  drops(): Record<string, number> {
    return this.counters.drops() as Record<string, number>;
  }

  eventStats(): EventSinkStats[] {
    return [this.counters.stats(this.name, this.queue.size + (this.delivering ? 1 : 0))];
  }

  /** Delivers what is queued for up to 2 s, then abandons the rest (counted `closed`). */
  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.delivering || this.queue.size > 0) {
      const giveUp = setTimeout(() => this.stop.abort(), CLOSE_FLUSH_MS);
      await new Promise<void>((resolve) => (this.idle = resolve));
      clearTimeout(giveUp);
    }
    this.stop.abort();
  }

  private pump(): void {
    if (this.delivering) return;
    if (this.stop.signal.aborted) {
      this.counters.dropped('closed', this.queue.size);
      while (this.queue.shift());
    }
    const event = this.queue.shift();
    if (!event) {
      this.idle?.();
      return;
    }
    this.delivering = true;
    void this.deliver(event).finally(() => {
      this.delivering = false;
      this.pump();
    });
  }

  private async deliver(event: AnalyticsEvent): Promise<void> {
    const s = this.options.settings;
    const body = JSON.stringify(event);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.post(event, body, attempt);
      if (outcome === 'delivered') {
        this.counters.published++;
        if (this.failing) this.log.info({}, 'webhook delivers again');
        this.failing = false;
        return;
      }
      if (outcome === 'rejected') {
        this.counters.dropped('rejected');
        return;
      }
      if (this.stop.signal.aborted) {
        this.counters.dropped('closed');
        return;
      }
      if (attempt >= s.maxAttempts) {
        this.counters.dropped('failed');
        return;
      }
      this.counters.retries++;
      await delay(backoffDelay(attempt, s.retry, this.options.random), undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }

  private async post(event: AnalyticsEvent, body: string, attempt: number): Promise<Outcome> {
    const s = this.options.settings;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': `streamlens/${this.options.version}`,
      'x-streamlens-event': event.type,
      'x-streamlens-event-id': event.id,
      'x-streamlens-attempt': String(attempt),
      ...(s.secret ? signatureHeaders(s.secret, body, Date.now() / 1000) : {}),
    };
    // One controller, held here until the attempt is over, aborts on the timeout or on close. Not
    // AbortSignal.any([AbortSignal.timeout(), ...]): on Node 20 fetch loses that signal to garbage
    // collection and an attempt at a receiver that never answers then never ends.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException(`no answer within ${s.timeoutMs} ms`, 'TimeoutError')), s.timeoutMs);
    const onStop = (): void => abort.abort(this.stop.signal.reason);
    if (this.stop.signal.aborted) onStop();
    else this.stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      const res = await fetch(s.url, { method: 'POST', headers, body, signal: abort.signal });
      // The answer's body is not needed; reading it to its end frees the connection for reuse.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'delivered';
      this.failed(attempt, `HTTP ${res.status}`);
      return retryable(res.status) ? 'retry' : 'rejected';
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      this.failed(attempt, e.name === 'TimeoutError' ? `no answer within ${s.timeoutMs} ms` : (e.cause?.code ?? e.message));
      return 'retry';
    } finally {
      clearTimeout(timer);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  private failed(attempt: number, reason: string): void {
    if (this.failing) {
      this.log.debug({ attempt, reason }, 'webhook delivery failed');
      return;
    }
    this.failing = true;
    this.log.warn({ attempt, reason, queued: this.queue.size }, 'webhook delivery failed: retrying with backoff (queue bounded)');
  }
}
