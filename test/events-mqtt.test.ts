/**
 * The MQTT event output against a real broker (Debian's mosquitto, started here on a free port):
 * topics and payloads, retained counts, availability with its last will, a broker that is down at
 * start and one stopped and restarted mid-stream.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MqttSink } from '../src/output/events/mqttSink.js';
import { DEFAULT_MQTT, type MqttSettings } from '../src/config.js';
import { countTopics, topicLevel } from '../src/output/events/topics.js';
import { createLogger } from '../src/log.js';
import { MqttRecorder, startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { lineCross, resultWith } from './helpers/eventFixtures.js';
import { until } from './helpers/serveHarness.js';

const log = createLogger({ test: 'mqtt' }, 'silent');

function settings(url: string, extra: Partial<MqttSettings> = {}): MqttSettings {
  return { ...DEFAULT_MQTT, qos: 1, url, prefix: 'sl', reconnect: { initialMs: 50, maxMs: 300, factor: 2, jitter: 0 }, ...extra };
}

describe('MQTT topics', () => {
  it('escapes the characters that would split a level or act as wildcards', () => {
    expect(topicLevel('door/north')).toBe('door_north');
    expect(topicLevel('a+b#c\0')).toBe('a_b_c_');
    expect(topicLevel('')).toBe('_');
    expect(topicLevel('traffic light')).toBe('traffic light');
  });

  it('lists every count of a stream as a topic and a plain number', () => {
    const topics = countTopics('sl', 'gate', {
      lines: { 'door/1': { in: { person: 3, car: 0 }, out: { person: 1 } } },
      zones: { bay: { person: 2 } },
    });
    expect(topics).toEqual([
      ['sl/gate/lines/door_1/in/person', '3'],
      ['sl/gate/lines/door_1/in/car', '0'],
      ['sl/gate/lines/door_1/out/person', '1'],
      ['sl/gate/zones/bay/person', '2'],
    ]);
  });
});

describe('MQTT sink with mosquitto', () => {
  let broker: Mosquitto;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    broker = await startMosquitto();
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await broker.close();
  });

  function sink(extra: Partial<MqttSettings> = {}): MqttSink {
    const s = new MqttSink({ settings: settings(broker.url, extra), log });
    closers.push(() => s.close());
    return s;
  }

  async function recorder(clientId?: string): Promise<MqttRecorder> {
    const r = await MqttRecorder.connect(broker.url, ['sl/#'], clientId);
    closers.push(() => r.close());
    return r;
  }

  it('publishes each event as JSON, counts retained, and online then offline', async () => {
    const rec = await recorder();
    const s = sink();
    await until(() => rec.on('sl/available').includes('online'), 5000, 'online');
    const events = [lineCross('gate'), lineCross('gate', { direction: 'out' } as never)];
    s.write(resultWith('gate', events, { lines: { door: { in: { person: 1 }, out: { person: 1 } } }, zones: { bay: { person: 0 } } }));
    await until(() => rec.on('sl/gate/events').length === 2 && rec.on('sl/gate/zones/bay/person').length === 1, 5000, 'events and counts');
    expect(rec.on('sl/gate/events').map((p) => JSON.parse(p))).toEqual(events);
    expect(rec.on('sl/gate/lines/door/in/person')).toEqual(['1']);

    // An unchanged count is not published again; a changed one is.
    s.write(resultWith('gate', [], { lines: { door: { in: { person: 2 }, out: { person: 1 } } }, zones: { bay: { person: 0 } } }));
    await until(() => rec.on('sl/gate/lines/door/in/person').length === 2, 5000, 'the changed count');
    expect(rec.on('sl/gate/lines/door/out/person')).toEqual(['1']);

    // A late subscriber gets the retained counts and availability.
    const late = await recorder();
    await until(() => late.on('sl/gate/lines/door/in/person').length === 1 && late.on('sl/available').length === 1, 5000, 'retained messages');
    expect(late.messages.every((m) => m.retain)).toBe(true);
    expect(late.on('sl/gate/lines/door/in/person')).toEqual(['2']);
    expect(late.on('sl/gate/events')).toEqual([]);

    await s.close();
    await until(() => rec.on('sl/available').at(-1) === 'offline', 5000, 'offline on close');
    expect(s.eventStats()[0]).toMatchObject({ sink: 'mqtt', published: 2, dropped: {} });
  });

  it('clears the retained counts of a line or zone that left the analytics; other streams keep theirs', async () => {
    const s = sink();
    s.write(resultWith('gate', [], { lines: { door: { in: { person: 3 }, out: { person: 1 } } }, zones: { bay: { person: 2 } } }));
    s.write(resultWith('yard', [], { lines: { door: { in: { person: 5 }, out: {} } }, zones: {} }));
    const first = await recorder();
    await until(() => first.messages.length === 5, 5000, 'availability and the counts of both streams');
    // The line "door" of gate was removed and the zone renamed: their topics are cleared (empty retained payload).
    s.write(resultWith('gate', [], { lines: {}, zones: { dock: { person: 2 } } }));
    await until(() => first.on('sl/gate/zones/dock/person').length === 1 && first.on('sl/gate/zones/bay/person').length === 2, 5000, 'the clearing');
    expect(first.on('sl/gate/lines/door/in/person')).toEqual(['3', '']);
    expect(first.on('sl/gate/lines/door/out/person')).toEqual(['1', '']);
    expect(first.on('sl/gate/zones/bay/person')).toEqual(['2', '']);
    const late = await recorder();
    await until(() => late.messages.length === 3, 5000, 'what is retained now');
    expect(Object.fromEntries(late.messages.map((m) => [m.topic, m.payload]))).toEqual({
      'sl/available': 'online',
      'sl/gate/zones/dock/person': '2',
      'sl/yard/lines/door/in/person': '5',
    });
    // A count that comes back is published again.
    s.write(resultWith('gate', [], { lines: { door: { in: { person: 3 }, out: {} } }, zones: { dock: { person: 2 } } }));
    await until(() => late.on('sl/gate/lines/door/in/person').length === 1, 5000, 'the count back');
    expect(late.on('sl/gate/lines/door/in/person')).toEqual(['3']);
  });

  it('the broker publishes offline (last will) when the process dies', async () => {
    const rec = await recorder();
    // A child process with a sink, killed without a goodbye (the built code: global setup compiles it).
    const mod = fileURLToPath(new URL('../dist/src/output/events/mqttSink.js', import.meta.url));
    const logMod = fileURLToPath(new URL('../dist/src/log.js', import.meta.url));
    const script = `
      const { MqttSink } = await import(${JSON.stringify(mod)});
      const { createLogger } = await import(${JSON.stringify(logMod)});
      new MqttSink({ settings: ${JSON.stringify(settings(broker.url))}, log: createLogger({}, 'silent') });
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    try {
      await until(() => rec.on('sl/available').includes('online'), 10_000, 'online from the child');
    } finally {
      child.kill('SIGKILL');
    }
    await until(() => rec.on('sl/available').at(-1) === 'offline', 10_000, 'the last will');
  });

  it('keeps a bounded queue while the broker is down, then delivers it in order', async () => {
    await broker.close();
    broker = await startMosquitto({ persistence: true });
    // A persistent subscriber: what is published while it reconnects waits for it.
    const rec = await recorder('queue-watcher');
    await broker.stop();
    const s = sink({ maxQueue: 5 });
    const events = Array.from({ length: 8 }, () => lineCross('cam'));
    // write() never waits for the broker: it returns nothing to await, and what it did (queued,
    // dropped) is already counted when it returns.
    for (const e of events) expect(s.write(resultWith('cam', [e]))).toBeUndefined();
    expect(s.eventStats()[0]).toMatchObject({ queueDepth: 5, dropped: { queue_full: 3 }, connected: false });

    await broker.start();
    await until(() => rec.on('sl/cam/events').length === 5, 10_000, 'the queued events');
    expect(rec.on('sl/cam/events').map((p) => JSON.parse(p).id)).toEqual(events.slice(3).map((e) => e.id));
    // The broker acknowledges after it forwarded them.
    await until(() => s.eventStats()[0].published === 5, 5000, 'the acknowledgements');
    expect(s.eventStats()[0]).toMatchObject({ queueDepth: 0, connected: true, dropped: { queue_full: 3 } });
    expect(s.eventStats()[0].retries).toBeGreaterThanOrEqual(1);
  });

  it('delivers events written before, during and after a broker restart mid-stream', async () => {
    await broker.close();
    broker = await startMosquitto({ persistence: true });
    const rec = await recorder('restart-watcher');
    const s = sink();
    const sent: string[] = [];
    const tick = (): void => {
      const e = lineCross('cam');
      sent.push(e.id);
      s.write(resultWith('cam', [e]));
    };
    await until(() => s.eventStats()[0].connected === true, 5000, 'connected');
    for (let i = 0; i < 3; i++) tick();
    await until(() => rec.on('sl/cam/events').length === 3, 5000, 'events before the outage');

    await broker.stop();
    await until(() => s.eventStats()[0].connected === false, 5000, 'the sink to notice');
    for (let i = 0; i < 3; i++) tick(); // during the outage: queued
    await broker.start();
    for (let i = 0; i < 3; i++) tick(); // after the restart, connected or not yet
    await until(() => rec.on('sl/cam/events').length >= 9, 10_000, 'events after the restart');
    // QoS 1 is at least once: a message in flight at the cut may come twice; none is missing.
    const got = rec.on('sl/cam/events').map((p) => JSON.parse(p).id as string);
    expect([...new Set(got)]).toEqual(sent);
    await until(() => s.eventStats()[0].published === 9, 5000, 'the acknowledgements');
    expect(s.eventStats()[0].dropped).toEqual({});
  });

  it('publishes online and every count again after a restart of a broker without persistence', async () => {
    const s = sink();
    s.write(resultWith('cam', [], { lines: { door: { in: { person: 4 }, out: { person: 2 } } }, zones: { bay: { car: 1 } } }));
    const first = await recorder();
    await until(() => first.on('sl/cam/zones/bay/car').length === 1, 5000, 'the counts');
    await first.close();
    const retries = s.eventStats()[0].retries;
    await broker.stop();
    await broker.start();
    await until(() => s.eventStats()[0].connected === true && s.eventStats()[0].retries > retries, 10_000, 'the sink to reconnect');
    const late = await recorder();
    await until(() => late.messages.length === 4, 5000, 'the retained messages again');
    expect(Object.fromEntries(late.messages.map((m) => [m.topic, m.payload]))).toEqual({
      'sl/available': 'online',
      'sl/cam/lines/door/in/person': '4',
      'sl/cam/lines/door/out/person': '2',
      'sl/cam/zones/bay/car': '1',
    });
  });

  it('close() does not hang on a broker that is gone', async () => {
    const s = sink();
    await until(() => s.eventStats()[0].connected === true, 5000, 'connected');
    await broker.stop();
    await until(() => s.eventStats()[0].connected === false, 5000, 'the sink to notice');
    s.write(resultWith('cam', [lineCross('cam')]));
    const t0 = Date.now();
    await s.close();
    // Each step of close() is bounded by 2 s; one that waited on the gone broker would hang. A
    // hang guard, so a loaded machine's slow timers do not count.
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(s.eventStats()[0].dropped.closed).toBe(1);
  });
});
