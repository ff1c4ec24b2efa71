/** Counters every event output keeps, read by /metrics (names in docs/observability.md). */

/**
 * Why an event (or a snapshot) was not delivered:
 * - `queue_full`: the output's bounded queue was full; its oldest entry was dropped.
 * - `disconnected`: an MQTT QoS 0 message was lost when the connection broke under it.
 * - `failed`: a webhook still failed after its last retry.
 * - `rejected`: a webhook answered 4xx (not retried).
 * - `store_error`: the event store could not write (disk full, read-only, unopenable).
 * - `closed`: still queued when the server shut down (after the bounded flush).
 * - `busy`, `error`: a snapshot skipped because rendering was behind, or failed.
 */
export type EventDropReason = 'queue_full' | 'disconnected' | 'failed' | 'rejected' | 'store_error' | 'closed' | 'busy' | 'error';

/** One output's figures: `sink` is `mqtt`, `webhooks[i]`, `store` or `snapshots`. */
export interface EventSinkStats {
  sink: string;
  /** Events delivered (MQTT: handed to the broker; webhooks: 2xx; store: committed). */
  published: number;
  /** Delivery attempts after the first (webhooks) or reconnects (MQTT). */
  retries: number;
  dropped: Partial<Record<EventDropReason, number>>;
  /** Entries accepted and not yet delivered or dropped (queued, or being delivered). */
  queueDepth: number;
  /** Whether the output's connection is up (MQTT only). */
  connected?: boolean;
}

export class SinkCounters {
  published = 0;
  retries = 0;
  private readonly byReason: Partial<Record<EventDropReason, number>> = {};

  dropped(reason: EventDropReason, n = 1): void {
    if (n > 0) this.byReason[reason] = (this.byReason[reason] ?? 0) + n;
  }

  drops(): Partial<Record<EventDropReason, number>> {
    return { ...this.byReason };
  }

  stats(sink: string, queueDepth: number, connected?: boolean): EventSinkStats {
    return { sink, published: this.published, retries: this.retries, dropped: this.drops(), queueDepth, ...(connected === undefined ? {} : { connected }) };
  }
}
