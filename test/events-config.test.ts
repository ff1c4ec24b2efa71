/** The `dataDir` and `events` settings of the serve config (docs/configuration.md, docs/analytics.md). */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_BACKOFF, parseConfig } from '../src/config.js';

const base = '/srv/streamlens';

function issues(json: unknown): string[] {
  try {
    parseConfig(json, base);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('events config', () => {
  it('has no outputs and no store by default', () => {
    const c = parseConfig({}, base);
    expect(c.events).toEqual({ webhooks: [] });
    expect(c.dataDir).toBeUndefined();
  });

  it('fills the defaults of every output and puts the store under dataDir', () => {
    const c = parseConfig({ dataDir: 'data', events: { mqtt: { url: 'mqtt://broker:1883' }, webhooks: [{ url: 'https://h.example/x', types: ['zone_enter'] }] } }, base);
    expect(c.dataDir).toBe(resolve(base, 'data'));
    expect(c.events.mqtt).toEqual({ url: 'mqtt://broker:1883', prefix: 'streamlens', qos: 1, maxQueue: 1000, maxInflight: 100, connectTimeoutMs: 10_000, reconnect: DEFAULT_BACKOFF });
    expect(c.events.webhooks).toEqual([{ url: 'https://h.example/x', types: ['zone_enter'], timeoutMs: 5000, maxAttempts: 5, maxQueue: 1000, retry: DEFAULT_BACKOFF }]);
    expect(c.events.store).toEqual({ dir: join(resolve(base, 'data'), 'events'), retentionDays: 30, maxRows: 500_000, snapshots: true, maxSnapshotMB: 1024, maxQueue: 10_000 });
  });

  it('takes store settings, or enabled false to keep nothing', () => {
    expect(parseConfig({ dataDir: '/var/lib/sl', events: { store: { retentionDays: 7, snapshots: false } } }, base).events.store).toMatchObject({
      dir: '/var/lib/sl/events',
      retentionDays: 7,
      maxRows: 500_000,
      snapshots: false,
    });
    expect(parseConfig({ dataDir: 'data', events: { store: { enabled: false } } }, base).events.store).toBeUndefined();
    expect(parseConfig({ events: { store: { enabled: false } } }, base).events.store).toBeUndefined();
  });

  it('names the field of every mistake', () => {
    expect(issues({ events: { mqtt: { url: 'http://broker' } } })).toEqual(['events.mqtt.url: expected an mqtt://, mqtts://, ws:// or wss:// URL, got "http://broker"']);
    expect(issues({ events: { mqtt: { url: 'mqtt://b', prefix: 'a/#' } } })[0]).toMatch(/^events\.mqtt\.prefix: expected topic levels without \+, #/);
    expect(issues({ events: { mqtt: { url: 'mqtt://b', qos: 3 } } })[0]).toMatch(/^events\.mqtt\.qos: /);
    expect(issues({ events: { mqtt: { url: 'mqtt://b', reconnect: { initialMs: 5000, maxMs: 100 } } } })).toEqual(['events.mqtt.reconnect.maxMs: expected >= initialMs (5000), got 100']);
    expect(issues({ events: { webhooks: [{ url: 'https://x' }, { url: 'ftp://x' }] } })[0]).toMatch(/^events\.webhooks\[1\]\.url: expected an http:\/\/ or https:\/\/ URL/);
    expect(issues({ events: { webhooks: [{ url: 'https://x', types: ['crossing'] }] } })[0]).toMatch(/^events\.webhooks\[0\]\.types\[0\]: /);
    expect(issues({ events: { webhooks: [{ url: 'https://x', secret: '' }] } })[0]).toMatch(/^events\.webhooks\[0\]\.secret: /);
    expect(issues({ events: { store: { retentionDays: 7 } } })).toEqual(['events.store: needs a top-level "dataDir" (the folder events are kept in)']);
    expect(issues({ dataDir: 'd', events: { store: { maxRows: -1 } } })[0]).toMatch(/^events\.store\.maxRows: /);
    expect(issues({ events: { kafka: {} } })[0]).toMatch(/^events\.kafka: unknown field/);
  });
});
