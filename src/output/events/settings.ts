/**
 * Settings of the event outputs (top-level `events` and `dataDir` of the serve config), with their
 * defaults. Validated in src/config.ts; docs/analytics.md and docs/configuration.md list them.
 */
import type { BackoffSettings } from '../../config.js';
import type { AnalyticsEventType } from '../../types.js';

export const EVENT_TYPES: readonly AnalyticsEventType[] = ['line_cross', 'zone_enter', 'zone_exit', 'zone_loiter'];

export interface MqttSettings {
  /** mqtt://, mqtts://, ws:// or wss:// URL of the broker. */
  url: string;
  /** First topic level(s), e.g. `streamlens` or `site1/streamlens`. */
  prefix: string;
  username?: string;
  password?: string;
  qos: 0 | 1 | 2;
  /** Defaults to `streamlens-<random>`. */
  clientId?: string;
  /** Events kept while the broker is unreachable; beyond, the oldest is dropped (`queue_full`). */
  maxQueue: number;
  /** Messages handed to the client and not yet acknowledged. */
  maxInflight: number;
  connectTimeoutMs: number;
  reconnect: BackoffSettings;
}

export interface WebhookSettings {
  /** http:// or https:// URL the events are POSTed to. */
  url: string;
  /** Event types to send; all when undefined. */
  types?: AnalyticsEventType[];
  /** Signs each POST with HMAC-SHA256 (src/output/events/signature.ts). */
  secret?: string;
  /** Time allowed for one POST (connection, request, response headers), ms. */
  timeoutMs: number;
  /** Attempts per event, the first included. */
  maxAttempts: number;
  /** Events waiting for this webhook; beyond, the oldest is dropped (`queue_full`). */
  maxQueue: number;
  retry: BackoffSettings;
}

export interface EventStoreSettings {
  /** Absolute folder of the database and snapshots (`<dataDir>/events`). */
  dir: string;
  /** Events older than this are deleted; 0 = no age limit. */
  retentionDays: number;
  /** The oldest events beyond this many are deleted; 0 = no row limit. */
  maxRows: number;
  /** Store a JPEG of the event's frame with the object's box (streams with video). */
  snapshots: boolean;
  /** Snapshot files together stay under this; the oldest snapshots are deleted first. */
  maxSnapshotMB: number;
  /** Events waiting to be written; beyond, the oldest is dropped (`queue_full`). */
  maxQueue: number;
}

export interface EventsSettings {
  mqtt?: MqttSettings;
  webhooks: WebhookSettings[];
  /** On when the config has a `dataDir` (and `events.store` is not false). */
  store?: EventStoreSettings;
}

export const DEFAULT_MQTT = {
  prefix: 'streamlens',
  qos: 1 as const,
  maxQueue: 1000,
  maxInflight: 100,
  connectTimeoutMs: 10_000,
  reconnect: { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.3 },
};

export const DEFAULT_WEBHOOK = {
  timeoutMs: 5000,
  maxAttempts: 5,
  maxQueue: 1000,
  retry: { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.3 },
};

export const DEFAULT_EVENT_STORE = {
  retentionDays: 30,
  maxRows: 500_000,
  snapshots: true,
  maxSnapshotMB: 1024,
  maxQueue: 10_000,
};
