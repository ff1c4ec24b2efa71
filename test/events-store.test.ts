/**
 * The event store: the SQLite layer (queries, retention by rows, days and snapshot bytes, reopening),
 * the query validation of GET /api/events, and the sink with its worker thread (snapshots with the
 * box drawn, a folder that cannot be written, a full disk, bursts that never block write()).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventDb } from '../src/output/events/eventDb.js';
import { EventQueryError, parseEventQuery } from '../src/output/events/eventQuery.js';
import { EventStore, EventStoreUnavailable } from '../src/output/events/eventStore.js';
import { eventCaption, eventOverlaySvg } from '../src/output/events/eventSnapshot.js';
import { DEFAULT_EVENT_STORE, type EventStoreSettings } from '../src/config.js';
import { createLogger } from '../src/log.js';
import type { AnalyticsEvent } from '../src/types.js';
import { lineCross, resultWith } from './helpers/eventFixtures.js';
import { until } from './helpers/serveHarness.js';

const log = createLogger({ test: 'store' }, 'silent');
const T0 = Date.parse('2025-01-31T12:00:00Z');

function at(ms: number, extra: Partial<AnalyticsEvent> = {}): AnalyticsEvent {
  return lineCross('gate', { time: new Date(ms).toISOString(), ...extra } as Partial<AnalyticsEvent>);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'streamlens-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('event database', () => {
  const limits = { retentionDays: 0, maxRows: 0, maxSnapshotBytes: 1e9 };

  it('answers newest first with every filter, and skips ids already stored', () => {
    const db = new EventDb(dir, limits);
    const a = at(T0, { stream: 'gate', label: 'person' });
    const b = at(T0 + 1000, { stream: 'yard', label: 'car' });
    const c = at(T0 + 2000, { stream: 'gate', type: 'zone_enter', zone: 'bay', label: 'person' } as Partial<AnalyticsEvent>);
    expect(db.insert([{ event: a }, { event: b }, { event: c }, { event: a }], Date.now())).toEqual({ stored: 3, snapshots: 0, snapshotErrors: 0 });
    const ids = (f: Partial<Parameters<EventDb['query']>[0]>): string[] => db.query({ limit: 100, ...f }).map((s) => s.event.id);
    expect(ids({})).toEqual([c.id, b.id, a.id]);
    expect(ids({ stream: 'gate' })).toEqual([c.id, a.id]);
    expect(ids({ type: 'line_cross' })).toEqual([b.id, a.id]);
    expect(ids({ label: 'car' })).toEqual([b.id]);
    expect(ids({ since: T0 + 1000 })).toEqual([c.id, b.id]);
    expect(ids({ until: T0 + 1000 })).toEqual([a.id]);
    expect(ids({ limit: 1 })).toEqual([c.id]);
    expect(db.query({ limit: 1 })[0]).toEqual({ event: c, snapshot: false });
    expect(db.size.rows).toBe(3);
    db.close();
  });

  it('keeps the stored events across a reopen, and dates events without a time when received', () => {
    const db = new EventDb(dir, limits);
    const noTime = { ...at(0) };
    delete noTime.time;
    db.insert([{ event: at(T0) }, { event: noTime }], T0 + 5000);
    db.close();
    const again = new EventDb(dir, limits);
    expect(again.size.rows).toBe(2);
    expect(again.query({ limit: 10, since: T0 + 5000 }).map((s) => s.event.id)).toEqual([noTime.id]);
    again.close();
  });

  it('deletes the oldest rows beyond maxRows with their snapshots', () => {
    const db = new EventDb(dir, { ...limits, maxRows: 3 });
    const events = Array.from({ length: 5 }, (_, i) => at(T0 + i));
    for (const e of events) db.insert([{ event: e, snapshot: Buffer.from('jpeg' + e.id) }], Date.now());
    expect(db.query({ limit: 10 }).map((s) => s.event.id)).toEqual(events.slice(2).reverse().map((e) => e.id));
    expect(readdirSync(join(dir, 'snapshots')).sort()).toEqual(events.slice(2).map((e) => `${e.id}.jpg`).sort());
    expect(db.snapshot(events[0].id)).toBeUndefined();
    expect(db.snapshot(events[4].id)?.toString()).toBe('jpeg' + events[4].id);
    expect(db.size.rows).toBe(3);
    db.close();
  });

  it('deletes events older than retentionDays with their snapshots', () => {
    const db = new EventDb(dir, { ...limits, retentionDays: 2 });
    const old = at(T0 - 3 * 86_400_000);
    const recent = at(T0 - 86_400_000);
    db.insert([{ event: old, snapshot: Buffer.from('a') }, { event: recent, snapshot: Buffer.from('b') }], T0);
    expect(db.retain(T0)).toBe(1);
    expect(db.query({ limit: 10 }).map((s) => s.event.id)).toEqual([recent.id]);
    expect(readdirSync(join(dir, 'snapshots'))).toEqual([`${recent.id}.jpg`]);
    expect(db.size).toEqual({ rows: 1, snapshotBytes: 1 });
    db.close();
  });

  it('keeps snapshots under maxSnapshotBytes by deleting the oldest (their events stay)', () => {
    const db = new EventDb(dir, { ...limits, maxSnapshotBytes: 250 });
    const events = Array.from({ length: 4 }, (_, i) => at(T0 + i));
    for (const e of events) db.insert([{ event: e, snapshot: Buffer.alloc(100) }], Date.now());
    expect(db.size).toEqual({ rows: 4, snapshotBytes: 200 });
    expect(db.query({ limit: 10 }).map((s) => s.snapshot)).toEqual([true, true, false, false]);
    expect(readdirSync(join(dir, 'snapshots')).sort()).toEqual(events.slice(2).map((e) => `${e.id}.jpg`).sort());
    db.close();
  });

  it('removes snapshot files without an event when it opens', () => {
    new EventDb(dir, limits).close();
    writeFileSync(join(dir, 'snapshots', 'stray.jpg'), 'x');
    writeFileSync(join(dir, 'snapshots', 'half.jpg.tmp'), 'x');
    new EventDb(dir, limits).close();
    expect(readdirSync(join(dir, 'snapshots'))).toEqual([]);
  });

  it('stores an event without its snapshot when the file cannot be written, and no snapshot for unsafe ids', () => {
    const db = new EventDb(dir, limits);
    const e = at(T0);
    const unsafe = at(T0 + 1, { id: '../escape' });
    expect(db.insert([{ event: unsafe, snapshot: Buffer.from('x') }], T0)).toEqual({ stored: 1, snapshots: 0, snapshotErrors: 0 });
    rmSync(join(dir, 'snapshots'), { recursive: true });
    expect(db.insert([{ event: e, snapshot: Buffer.from('x') }], T0)).toEqual({ stored: 1, snapshots: 0, snapshotErrors: 1 });
    expect(db.query({ limit: 10 }).map((s) => s.snapshot)).toEqual([false, false]);
    expect(existsSync(join(dir, 'escape.jpg'))).toBe(false);
    db.close();
  });
});

describe('GET /api/events query', () => {
  const q = (s: string): ReturnType<typeof parseEventQuery> => parseEventQuery(new URLSearchParams(s));
  const bad = (s: string): { parameter: string; message: string } => {
    try {
      q(s);
    } catch (err) {
      expect(err).toBeInstanceOf(EventQueryError);
      return { parameter: (err as EventQueryError).parameter, message: (err as Error).message };
    }
    throw new Error(`accepted ${s}`);
  };

  it('reads every parameter', () => {
    expect(q('')).toEqual({ limit: 100 });
    expect(q('stream=gate&type=zone_exit&label=person&since=2025-01-31T12:00:00Z&until=1738328460000&limit=1000')).toEqual({
      stream: 'gate',
      type: 'zone_exit',
      label: 'person',
      since: T0,
      until: 1738328460000,
      limit: 1000,
    });
    expect(q('since=2025-01-31T13:00:00.5%2B01:00').since).toBe(T0 + 500);
    expect(q('since=2025-01-31').since).toBe(Date.parse('2025-01-31T00:00:00Z'));
  });

  it('answers a bad query with the parameter it is about', () => {
    expect(bad('limit=0').parameter).toBe('limit');
    expect(bad('limit=1001').parameter).toBe('limit');
    expect(bad('limit=ten').parameter).toBe('limit');
    expect(bad('type=crossing').message).toMatch(/^type: expected one of line_cross, zone_enter, zone_exit, zone_loiter, got "crossing"/);
    expect(bad('since=yesterday').parameter).toBe('since');
    expect(bad('until=2025-01-31T12:00:00').parameter).toBe('until'); // no zone: ambiguous
    expect(bad('since=2025-02-01T00:00:00Z&until=2025-01-31T00:00:00Z').parameter).toBe('until');
    expect(bad('stream=').parameter).toBe('stream');
    expect(bad('label=a&label=b').message).toBe('label: given more than once');
    expect(bad('camera=gate').message).toMatch(/^camera: unknown parameter/);
  });
});

/** A grey JPEG of `width` x `height`. */
function greyJpeg(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 90, g: 90, b: 90 } } }).jpeg().toBuffer();
}

async function pixel(jpeg: Uint8Array, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * info.channels;
  return [data[o], data[o + 1], data[o + 2]];
}

describe('event snapshot overlay', () => {
  it('captions the box with label, track and what happened, inside the picture', () => {
    const cross = at(T0, { box: [100, 100, 140, 140], track_id: 12 });
    expect(eventCaption(cross)).toBe('person #12 in door');
    expect(eventCaption(at(T0, { type: 'zone_loiter', zone: 'bay' } as Partial<AnalyticsEvent>))).toBe('person #7 loiter bay');
    expect(eventOverlaySvg(cross, 640, 480, 640, 480)).toContain('text-anchor="start"');
    // A box at the right edge: the caption ends there instead of running out of the picture.
    const edge = eventOverlaySvg(at(T0, { box: [596, 360, 636, 400] }), 640, 480, 640, 480);
    expect(edge).toContain('text-anchor="end"');
    expect(Number(/<text x="([\d.]+)"/.exec(edge)?.[1])).toBeLessThanOrEqual(638);
    // Boxes are source pixels; a scaled-down JPEG gets them scaled.
    expect(eventOverlaySvg(cross, 640, 480, 320, 240)).toContain('<rect x="50.0" y="50.0" width="20.0" height="20.0"');
  });
});

describe('event store sink (worker thread)', () => {
  const stores: EventStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  function store(extra: Partial<EventStoreSettings> = {}): EventStore {
    const s = new EventStore({ settings: { ...DEFAULT_EVENT_STORE, dir: join(dir, 'events'), ...extra }, log });
    stores.push(s);
    return s;
  }

  it('stores events with a snapshot of their frame with the box drawn, served by id', async () => {
    const s = store();
    const withVideo = at(T0, { box: [100, 100, 300, 300] });
    const scaled = at(T0 + 1, { box: [100, 100, 300, 300] });
    const noVideo = at(T0 + 2);
    s.write(resultWith('gate', [withVideo], undefined, await greyJpeg(640, 480)));
    s.write(resultWith('gate', [scaled], undefined, await greyJpeg(320, 240))); // jpegMaxWidth scaled it down
    s.write(resultWith('gate', [noVideo]));
    await until(() => s.eventStats()[0].published === 3, 10_000, 'three stored events');
    const stored = await s.query({ limit: 10 });
    expect(stored.map((e) => [e.event.id, e.snapshot])).toEqual([
      [noVideo.id, false],
      [scaled.id, true],
      [withVideo.id, true],
    ]);
    expect(stored[2].event).toEqual(withVideo);

    const jpeg = (await s.snapshot(withVideo.id)) as Uint8Array;
    expect((await sharp(jpeg).metadata()).format).toBe('jpeg');
    // The top edge of the box in the line_cross colour (#ffb21d), the inside untouched.
    const [r, g, b] = await pixel(jpeg, 200, 100);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeGreaterThan(140);
    expect(r - b).toBeGreaterThan(80); // JPEG chroma subsampling blurs the blue channel into the grey
    expect((await pixel(jpeg, 200, 200))[0]).toBeLessThan(110);
    const small = (await s.snapshot(scaled.id)) as Uint8Array;
    expect((await sharp(small).metadata()).width).toBe(320);
    expect((await pixel(small, 100, 50))[0]).toBeGreaterThan(200);

    expect(await s.snapshot(noVideo.id)).toBeUndefined();
    expect(await s.snapshot('no-such-event')).toBeUndefined();
    expect(s.eventStats()).toEqual([
      { sink: 'store', published: 3, retries: 0, dropped: {}, queueDepth: 0 },
      { sink: 'snapshots', published: 2, retries: 0, dropped: {}, queueDepth: 0 },
    ]);
  });

  it('never blocks write(): a burst beyond the queue is dropped and counted', async () => {
    const s = store({ maxQueue: 1000 });
    // write() returns nothing to await: the burst is queued (or dropped) without waiting for the disk.
    for (let i = 0; i < 50; i++) expect(s.write(resultWith('gate', Array.from({ length: 100 }, (_, k) => at(T0 + i * 100 + k))))).toBeUndefined();
    await until(() => s.eventStats()[0].queueDepth === 0, 10_000, 'the queue to drain');
    const st = s.eventStats()[0];
    expect(st.published + (st.dropped.queue_full ?? 0)).toBe(5000);
    expect(st.dropped.queue_full).toBeGreaterThan(0);
    expect((await s.query({ limit: 1 }))[0].event.time).toBe(new Date(T0 + 4999).toISOString());
  });

  it('a folder that cannot be written: events are counted as dropped, queries answer unavailable, and it recovers', async () => {
    // A file where the folder should be: mkdir fails, even for root.
    writeFileSync(join(dir, 'events'), 'in the way');
    const s = store();
    s.write(resultWith('gate', [at(T0)]));
    await until(() => s.eventStats()[0].dropped.store_error === 1, 10_000, 'the failed write');
    await expect(s.query({ limit: 1 })).rejects.toBeInstanceOf(EventStoreUnavailable);
    rmSync(join(dir, 'events'));
    const later = at(T0 + 1);
    // The worker tries to open the database again (at most every 5 s) on later writes.
    const deadline = Date.now() + 15_000;
    while (s.eventStats()[0].published === 0 && Date.now() < deadline) {
      s.write(resultWith('gate', [later]));
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(s.eventStats()[0].published).toBe(1);
    expect((await s.query({ limit: 5 })).map((e) => e.event.id)).toEqual([later.id]);
  });
});

/** A 2 MiB tmpfs (root only): a real "no space left on device". */
function tmpfs(path: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('event store on a full disk', () => {
  it('counts the writes that fail while the disk is full and writes again once there is room', async (ctx) => {
    const mnt = join(dir, 'small');
    mkdirSync(mnt);
    if (!tmpfs(mnt)) ctx.skip(); // needs root (CI runs as root)
    const s = new EventStore({ settings: { ...DEFAULT_EVENT_STORE, dir: join(mnt, 'events') }, log });
    try {
      s.write(resultWith('gate', [at(T0)]));
      await until(() => s.eventStats()[0].published === 1, 10_000, 'the first event');
      // Fill the disk.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // dd stops with ENOSPC: the point.
      }
      const jpeg = await greyJpeg(1280, 720);
      // One write at a time, each written (or failed) before the next: a slow store never turns
      // the test's writes into queue drops instead of disk errors.
      for (let i = 1; i <= 200 && !s.eventStats()[0].dropped.store_error; i++) {
        s.write(resultWith('gate', Array.from({ length: 50 }, (_, k) => at(T0 + i * 100 + k, { label: 'x'.repeat(2000) })), undefined, jpeg));
        await until(() => s.eventStats()[0].queueDepth === 0, 30_000, `write ${i} done`);
      }
      expect(s.eventStats()[0].dropped.store_error).toBeGreaterThan(0);
      rmSync(join(mnt, 'filler'));
      const after = at(T0 + 100_000);
      const deadline = Date.now() + 10_000;
      while (!(await s.query({ limit: 1 }).catch(() => [])).some((e) => e.event.id === after.id) && Date.now() < deadline) {
        s.write(resultWith('gate', [after]));
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await s.query({ limit: 1 }))[0].event.id).toBe(after.id);
    } finally {
      await s.close();
      execFileSync('umount', [mnt]);
    }
  });
});
