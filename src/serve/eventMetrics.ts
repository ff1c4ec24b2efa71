/**
 * /metrics series of the event outputs (MQTT, webhooks, the event store and its snapshots), read
 * from their counters at scrape time. Label `sink`: `mqtt`, `webhooks[i]`, `store`, `snapshots`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventSinkStats } from '../output/events/sinkStats.js';

export function registerEventMetrics(registry: Registry, stats: () => EventSinkStats[]): void {
  const registers = [registry];
  new Counter({
    name: 'streamlens_event_sink_published_total',
    help: 'Events delivered by each event output (MQTT: acknowledged by the broker; webhooks: answered 2xx; store: committed; snapshots: written).',
    labelNames: ['sink'],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) this.inc({ sink: s.sink }, s.published);
    },
  });
  new Counter({
    name: 'streamlens_event_sink_dropped_total',
    help: 'Events (or snapshots) an event output gave up on, by reason: queue_full, disconnected, failed, rejected, store_error, closed, busy, error.',
    labelNames: ['sink', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) for (const [reason, n] of Object.entries(s.dropped)) this.inc({ sink: s.sink, reason }, n ?? 0);
    },
  });
  new Counter({
    name: 'streamlens_event_sink_retries_total',
    help: 'Webhook delivery attempts after the first; MQTT reconnect attempts.',
    labelNames: ['sink'],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) this.inc({ sink: s.sink }, s.retries);
    },
  });
  new Gauge({
    name: 'streamlens_event_sink_queue_depth',
    help: 'Events accepted by each event output and not yet delivered or dropped.',
    labelNames: ['sink'],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) this.set({ sink: s.sink }, s.queueDepth);
    },
  });
  new Gauge({
    name: 'streamlens_event_sink_connected',
    help: 'Whether the MQTT connection is up (1) or not (0).',
    labelNames: ['sink'],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) if (s.connected !== undefined) this.set({ sink: s.sink }, s.connected ? 1 : 0);
    },
  });
}
