/**
 * Events and counts to an MQTT broker (topics in topics.ts). write() never waits for the broker:
 *
 * - events wait in a bounded queue while the broker is unreachable (oldest dropped, `queue_full`)
 *   and are published in order once connected, at most `maxInflight` unacknowledged at a time;
 * - counts are retained and latest-wins: only the newest value per topic is kept, and after every
 *   (re)connect all of them are published again with `available=online`, so a broker restarted
 *   without persistence is whole again; a count that leaves a stream's counts (its line or zone was
 *   removed or renamed) has its retained message cleared (an empty retained payload), so late
 *   subscribers never see a count that no longer exists;
 * - the connection is re-established with exponential backoff (mqtt.js's own reconnect has a fixed
 *   period); QoS 1/2 messages in flight when it broke stay in the client's store and are sent again.
 */
import { connect, type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { DropOldestQueue } from '../../pipeline/dropPolicy.js';
import { backoffDelay } from '../../pipeline/backoff.js';
import { redactUrl } from '../../ingest/sourceUrl.js';
import type { Logger } from '../../log.js';
import type { AnalyticsEvent, FrameResult } from '../../types.js';
import type { ResultSink } from '../sink.js';
import type { MqttSettings } from '../../config.js';
import { SinkCounters, type EventSinkStats } from './sinkStats.js';
import { availabilityTopic, countTopics, eventsTopic } from './topics.js';

/** How long close() keeps publishing what is queued before it gives up on the rest. */
const CLOSE_FLUSH_MS = 2000;

export interface MqttSinkOptions {
  settings: MqttSettings;
  log: Logger;
  random?: () => number;
}

export class MqttSink implements ResultSink {
  readonly name = 'mqtt';
  readonly backpressure = 'buffer' as const;
  private readonly client: MqttClient;
  private readonly events: DropOldestQueue<AnalyticsEvent>;
  /** The current value of every count topic seen so far ('' = to be cleared at the broker). */
  private readonly counts = new Map<string, string>();
  /** Per stream, the count topics of its latest counts (to find the ones that went away). */
  private readonly streamTopics = new Map<string, Set<string>>();
  /** Count topics whose current value the broker has not been sent on this connection. */
  private readonly unsentCounts = new Set<string>();
  private readonly counters = new SinkCounters();
  private readonly log: Logger;
  private inflight = 0;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Set once close() starts: nothing new is accepted. */
  private closing = false;
  /** Whether the current outage has been logged at warn level (one line per outage). */
  private outageLogged = false;
  private drained: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: MqttSinkOptions) {
    const s = options.settings;
    this.log = options.log.child({ sink: 'mqtt', broker: redactUrl(s.url) });
    this.events = new DropOldestQueue(s.maxQueue);
    this.client = connect(s.url, {
      username: s.username,
      password: s.password,
      clientId: s.clientId ?? `streamlens-${randomBytes(4).toString('hex')}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: s.connectTimeoutMs,
      // QoS 0 messages are only published while connected; mqtt.js must not queue them unbounded.
      queueQoSZero: false,
      will: { topic: availabilityTopic(s.prefix), payload: Buffer.from('offline'), qos: s.qos, retain: true },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => this.onClose());
    this.client.on('error', (err) => this.onError(err));
  }

  write(r: FrameResult): void {
    if (this.closing || (!r.events && !r.counts)) return;
    for (const event of r.events ?? []) {
      if (this.events.put(event)) this.counters.dropped('queue_full');
    }
    if (r.counts) {
      const now = new Set<string>();
      for (const [topic, value] of countTopics(this.options.settings.prefix, r.streamId, r.counts)) {
        now.add(topic);
        if (this.counts.get(topic) === value) continue;
        this.counts.set(topic, value);
        this.unsentCounts.add(topic);
      }
      for (const topic of this.streamTopics.get(r.streamId) ?? []) {
        if (now.has(topic)) continue;
        this.counts.set(topic, '');
        this.unsentCounts.add(topic);
      }
      this.streamTopics.set(r.streamId, now);
    }
    this.pump();
  }

  drops(): Record<string, number> {
    return this.counters.drops() as Record<string, number>;
  }

  eventStats(): EventSinkStats[] {
    return [this.counters.stats('mqtt', this.events.size, this.client.connected)];
  }

  /** Publishes `available=offline`, flushes the queue for up to 2 s, disconnects. */
  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    if (this.client.connected && (this.events.size > 0 || this.inflight > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_FLUSH_MS);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.drained = undefined;
    this.counters.dropped('closed', this.events.size);
    if (this.client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_FLUSH_MS);
        this.client.publish(availabilityTopic(this.options.settings.prefix), 'offline', { qos: this.options.settings.qos, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // A broker that went away during the flush must not hold shutdown: force after the bound.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.client.end(true, () => resolve()), CLOSE_FLUSH_MS);
      this.client.end(false, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onConnect(): void {
    if (this.attempt > 0 || this.outageLogged) this.log.info({ attempts: this.attempt }, 'MQTT connected again');
    else this.log.info({}, 'MQTT connected');
    this.attempt = 0;
    this.outageLogged = false;
    const s = this.options.settings;
    this.inflight++;
    this.client.publish(availabilityTopic(s.prefix), 'online', { qos: s.qos, retain: true }, () => this.settled());
    for (const topic of this.counts.keys()) this.unsentCounts.add(topic);
    this.pump();
  }

  private onClose(): void {
    if (this.closing || this.reconnectTimer) return;
    this.attempt++;
    this.counters.retries++;
    const delay = backoffDelay(this.attempt, this.options.settings.reconnect, this.options.random);
    this.log.debug({ attempt: this.attempt, delayMs: delay }, 'MQTT reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closing) return;
      // Keeping the stores resends the QoS 1/2 messages that were in flight.
      this.client.reconnect({ incomingStore: this.client.incomingStore, outgoingStore: this.client.outgoingStore });
    }, delay);
  }

  private onError(err: Error): void {
    if (this.outageLogged) {
      this.log.debug({ err: err.message }, 'MQTT error');
      return;
    }
    this.outageLogged = true;
    this.log.warn({ err: err.message, queued: this.events.size }, 'MQTT broker unreachable: events are queued (bounded) and the connection is retried with backoff');
  }

  /** Publishes what waits, events first, while connected and under the in-flight bound. */
  private pump(): void {
    const s = this.options.settings;
    while (this.client.connected && this.inflight < s.maxInflight) {
      const event = this.events.shift();
      if (event) {
        this.inflight++;
        this.client.publish(eventsTopic(s.prefix, event.stream), JSON.stringify(event), { qos: s.qos }, (err) => {
          if (err) this.counters.dropped(this.closing ? 'closed' : 'disconnected');
          else this.counters.published++;
          this.settled();
        });
        continue;
      }
      const topic = this.unsentCounts.values().next().value;
      if (topic === undefined) break;
      this.unsentCounts.delete(topic);
      this.inflight++;
      const value = this.counts.get(topic) ?? '0';
      this.client.publish(topic, value, { qos: s.qos, retain: true }, (err) => {
        // Sent again on the next connection in any case; until then it is owed.
        if (err && !this.closing) this.unsentCounts.add(topic);
        // A cleared topic is forgotten once the broker has it (unless it came back meanwhile).
        else if (!err && value === '' && this.counts.get(topic) === '') this.counts.delete(topic);
        this.settled();
      });
    }
  }

  private settled(): void {
    this.inflight--;
    this.pump();
    if (this.drained && this.inflight === 0 && this.events.size === 0) this.drained();
  }
}
