/**
 * The event outputs a serve config enables (`events.mqtt`, `events.webhooks`, the store under
 * `dataDir`), each a 'buffer' result sink that takes the events and counts off every result.
 */
import type { Logger } from '../../log.js';
import { EventStore } from './eventStore.js';
import { MqttSink } from './mqttSink.js';
import type { ResultSink } from './resultSink.js';
import type { EventsSettings } from '../../config.js';
import type { EventSinkStats } from './sinkStats.js';
import { WebhookSink } from './webhookSink.js';

export interface EventSink extends ResultSink {
  stats(): EventSinkStats[];
}

export interface EventOutputs {
  /** In the order MQTT, webhooks, store. */
  sinks: EventSink[];
  /** The store, for GET /api/events; undefined without a `dataDir`. */
  store?: EventStore;
  stats(): EventSinkStats[];
}

export function openEventOutputs(settings: EventsSettings, ctx: { log: Logger; version: string }): EventOutputs {
  const sinks: EventSink[] = [];
  if (settings.mqtt) sinks.push(new MqttSink({ settings: settings.mqtt, log: ctx.log }));
  settings.webhooks.forEach((w, index) => sinks.push(new WebhookSink({ settings: w, index, version: ctx.version, log: ctx.log })));
  const store = settings.store ? new EventStore({ settings: settings.store, log: ctx.log }) : undefined;
  if (store) sinks.push(store);
  return { sinks, store, stats: () => sinks.flatMap((s) => s.stats()) };
}
