/**
 * The dashboard's view logic, pure: tile states, the grid's fit, tag placement, stats as rates,
 * subscriptions, acknowledgements, view settings in the address, close reasons, label contrast.
 */
import { describe, expect, it } from 'vitest';
import { classRgb, contrastRatio, textRgbOn } from '../src/output/render/palette.js';
import { describeClose } from '../src/serve/dashboard/closeReasons.js';
import { FrameAcks, VIDEO_GRACE_MS } from '../src/serve/dashboard/frameAcks.js';
import { readViewSettings, writeViewSettings } from '../src/serve/dashboard/filters.js';
import { containSize, fitGrid } from '../src/serve/dashboard/gridLayout.js';
import { droppedShare, ratePerSecond, statsLines } from '../src/serve/dashboard/streamRates.js';
import { OFF_SCREEN_FPS, subscribeMessages, tileWant, type Want } from '../src/serve/dashboard/subscriptions.js';
import { placeTags } from '../src/serve/dashboard/tagLayout.js';
import { formatAge, noSignalAfterMs, tileStatus } from '../src/serve/dashboard/tileStatus.js';
import type { StreamStats } from '../src/serve/dashboard/wire.js';

const stats = (o: Partial<StreamStats> = {}): StreamStats => ({
  id: 'cam',
  state: 'streaming',
  reconnects: 0,
  framesDecoded: 1000,
  framesInferred: 1000,
  framesSent: 1000,
  fpsIn: 15,
  fpsOut: 14.8,
  drops: { policy: 0, staleness: 0, client: 0 },
  latency: { p50: 80, p95: 120, p99: 150, max: 200 },
  stages: {},
  ...o,
});

describe('tileStatus', () => {
  it('is live with fresh frames at the input rate', () => {
    const s = tileStatus({ state: 'streaming', stats: stats(), frameAgeMs: 300, online: true });
    expect(s).toMatchObject({ condition: 'live', badge: 'live', dim: false, summary: 'live, 14.8 fps' });
    expect(s.message).toBeUndefined();
  });

  it('says no signal with the frame age once frames stop, even while the server still says streaming', () => {
    const s = tileStatus({ state: 'streaming', stats: stats(), frameAgeMs: 14_300, online: true });
    expect(s).toMatchObject({ condition: 'no-signal', badge: 'no signal', message: 'No signal · last frame 14 s ago', dim: true });
    // 2 s is the bound for a 15 fps stream; a 1 fps stream gets three of its intervals.
    expect(tileStatus({ state: 'streaming', stats: stats(), frameAgeMs: 2100, online: true }).condition).toBe('no-signal');
    expect(tileStatus({ state: 'streaming', stats: stats({ fpsIn: 1, fpsOut: 1 }), frameAgeMs: 2900, online: true }).condition).toBe('live');
    expect(tileStatus({ state: 'streaming', stats: stats({ fpsIn: 1, fpsOut: 1 }), frameAgeMs: 3100, online: true }).condition).toBe('no-signal');
  });

  it('waits three of the intervals the page asked for (maxFps) before saying no signal', () => {
    // 15 fps at 2 a second: frames up to 1/15 + 1/2 s apart; three of those are under 2 s.
    expect(noSignalAfterMs(stats(), 2)).toBe(2000);
    expect(noSignalAfterMs(stats({ fpsIn: 15 }), 1)).toBeCloseTo(3200, 6);
    expect(noSignalAfterMs(undefined, 0.5)).toBe(6000);
    expect(tileStatus({ state: 'streaming', stats: stats({ fpsIn: 15 }), frameAgeMs: 3100, online: true, maxFps: 1 }).condition).toBe('live');
    expect(tileStatus({ state: 'streaming', stats: stats({ fpsIn: 15 }), frameAgeMs: 3300, online: true, maxFps: 1 }).condition).toBe('no-signal');
  });

  it('is degraded when output falls well below input or latency is high, and says why', () => {
    const starved = tileStatus({ state: 'streaming', stats: stats({ fpsOut: 1.2 }), frameAgeMs: 100, online: true });
    expect(starved).toMatchObject({ condition: 'degraded', badge: 'degraded', detail: 'output 1.2 of 15.0 fps', dim: false });
    const slow = tileStatus({ state: 'streaming', stats: stats({ fpsOut: 1.2, latency: { p50: 950, p95: 990, p99: 999, max: 1000 } }), frameAgeMs: 100, online: true });
    expect(slow.detail).toBe('output 1.2 of 15.0 fps, latency 950 ms');
    expect(slow.summary).toBe('degraded: output 1.2 of 15.0 fps, latency 950 ms');
    // Half the input rate is still fine; a stream that sent nothing has no latency to judge.
    expect(tileStatus({ state: 'streaming', stats: stats({ fpsOut: 7.5 }), frameAgeMs: 100, online: true }).condition).toBe('live');
    expect(tileStatus({ state: 'streaming', stats: stats({ framesSent: 0, latency: { p50: 0, p95: 0, p99: 0, max: 0 } }), frameAgeMs: 100, online: true }).condition).toBe('live');
  });

  it('shows failed, reconnecting and offline tiles dimmed with the reason and the frame age', () => {
    expect(tileStatus({ state: 'failed', error: 'rtsp://cam/ refused the connection', frameAgeMs: undefined, online: true })).toMatchObject({
      condition: 'failed',
      message: 'Failed: rtsp://cam/ refused the connection',
      dim: true,
      summary: 'failed: rtsp://cam/ refused the connection',
    });
    expect(tileStatus({ state: 'reconnecting', frameAgeMs: 5200, online: true })).toMatchObject({ condition: 'reconnecting', detail: 'last frame 5 s ago', dim: true });
    expect(tileStatus({ state: 'reconnecting', frameAgeMs: undefined, online: true }).detail).toBe('no frame yet');
    expect(tileStatus({ state: 'streaming', stats: stats(), frameAgeMs: 100, online: false })).toMatchObject({ condition: 'offline', dim: true });
    expect(tileStatus({ state: 'stalled', error: 'no new frame for 10 s', frameAgeMs: 12_000, online: true })).toMatchObject({
      condition: 'no-signal',
      badge: 'stalled',
      message: 'No signal · last frame 12 s ago',
      detail: 'no new frame for 10 s',
      dim: true,
    });
    expect(tileStatus({ state: 'unauthorized', error: 'rtsp://cam/ answered 401', frameAgeMs: undefined, online: true })).toMatchObject({
      condition: 'unauthorized',
      message: 'Access denied: rtsp://cam/ answered 401',
      dim: true,
    });
    expect(tileStatus({ state: 'streaming', stats: stats(), frameAgeMs: undefined, online: true })).toMatchObject({ condition: 'waiting', dim: true });
  });

  it('formats ages in words', () => {
    expect([formatAge(40), formatAge(800), formatAge(14_300), formatAge(125_000), formatAge(7_500_000)]).toEqual(['0 ms', '800 ms', '14 s', '2 min', '2 h 5 min']);
  });
});

describe('statsLines', () => {
  it('shows "–" where there is no data and no old latency for a stream that is not live', () => {
    expect(statsLines(undefined, undefined, false, undefined)).toEqual({ rates: 'in – · out – · shown – fps', latency: 'latency –', drops: 'dropped – · reconnects –' });
    const failed = statsLines(stats({ state: 'failed', fpsIn: 0 }), undefined, false, 0);
    expect(failed.latency).toBe('latency –');
    expect(failed.rates).toBe('in 0.0 · out – · shown 0.0 fps');
  });

  it('turns running drop totals into the share of decoded frames between two stats', () => {
    const prev = stats({ framesDecoded: 100, drops: { policy: 1000, staleness: 6, client: 0 } });
    const next = stats({ framesDecoded: 200, drops: { policy: 1010, staleness: 11, client: 0 } });
    expect(droppedShare(prev, next)).toBeCloseTo(0.15, 10);
    expect(statsLines(next, prev, true, 14.5)).toEqual({ rates: 'in 15.0 · out 14.8 · shown 14.5 fps', latency: 'latency 80 ms · p95 120 ms', drops: 'dropped 15 % · reconnects 0' });
    // A count that went back (the stream was added again) has no share.
    expect(droppedShare(next, prev)).toBeUndefined();
    expect(ratePerSecond(10, 40, 2)).toBe(15);
    expect(ratePerSecond(undefined, 40, 2)).toBeUndefined();
    expect(ratePerSecond(50, 40, 2)).toBeUndefined();
  });
});

describe('fitGrid', () => {
  // 1400x900 minus the header and padding: the grid's area in the browser test.
  const space = { width: 1384, height: 800, gap: 8, headHeight: 30, aspect: 16 / 9, minVideoWidth: 160 };

  it('chooses the arrangement with the widest videos: 1, 2x2, 3x3, 4x4 for 1, 4, 9, 16 streams on a wide screen', () => {
    expect(fitGrid(1, space)).toEqual({ cols: 1, rows: 1, perPage: 1, pages: 1, videoWidth: Math.floor((800 - 30) * (16 / 9)) });
    // 2x2: cells 688x396, the height limits: (396 - 30) * 16/9 = 650.7; 3+1 would give 456.
    expect(fitGrid(4, space)).toMatchObject({ cols: 2, rows: 2, pages: 1, videoWidth: 650 });
    expect(fitGrid(9, space)).toMatchObject({ cols: 3, rows: 3, pages: 1 });
    expect(fitGrid(16, space)).toMatchObject({ cols: 4, rows: 4, pages: 1 });
    // 3 streams: 2x2 with a cell left empty (videos 650 wide) beats a row of three (456).
    expect(fitGrid(3, space)).toMatchObject({ cols: 2, rows: 2, videoWidth: 650 });
  });

  it('stacks a phone screen in one column and pages when tiles would come out too small', () => {
    const phone = { width: 374, height: 600, gap: 8, headHeight: 30, aspect: 16 / 9, minVideoWidth: 160 };
    expect(fitGrid(2, phone)).toMatchObject({ cols: 1, rows: 2, pages: 1 });
    const many = fitGrid(16, phone);
    expect(many.perPage).toBeLessThan(16);
    expect(many.videoWidth).toBeGreaterThanOrEqual(160);
    expect(many.pages).toBe(Math.ceil(16 / many.perPage));
    expect(many.cols * many.rows).toBeGreaterThanOrEqual(many.perPage);
  });

  it('fits a video into a box keeping its aspect (contain), scaling up as well as down', () => {
    expect(containSize(1000, 500, 4 / 3)).toEqual({ width: 500 * (4 / 3), height: 500 });
    expect(containSize(300, 1000, 4 / 3)).toEqual({ width: 300, height: 225 });
    expect(containSize(0, 100, 1)).toEqual({ width: 0, height: 0 });
  });
});

describe('placeTags', () => {
  it('never lets two tags overlap and moves a colliding tag away from the other object', () => {
    const places = placeTags(
      [
        { box: { x: 50, y: 50, w: 40, h: 40 }, w: 30, h: 10 },
        { box: { x: 52, y: 52, w: 40, h: 40 }, w: 30, h: 10 },
      ],
      200,
      200,
    );
    // The first (highest score) above its box; the second's above would cover it, inside would cover the first box: below.
    expect(places).toEqual([
      { x: 50, y: 40, w: 30, h: 10 },
      { x: 52, y: 92, w: 30, h: 10 },
    ]);
  });

  it('keeps tags on the canvas and leaves out a tag with no free place', () => {
    const places = placeTags(
      [
        { box: { x: 0, y: 0, w: 30, h: 10 }, w: 30, h: 10 },
        { box: { x: 0, y: 0, w: 30, h: 10 }, w: 30, h: 10 },
      ],
      30,
      10,
    );
    expect(places).toEqual([{ x: 0, y: 0, w: 30, h: 10 }, undefined]);
  });
});

describe('label colours', () => {
  it('tag text is black or white, whichever reads at 4.5:1 or better on every class colour', () => {
    for (let c = 0; c < 80; c++) {
      const bg = classRgb(c);
      expect({ c, ok: contrastRatio(bg, textRgbOn(bg)) >= 4.5 }).toEqual({ c, ok: true });
    }
  });
});

describe('subscriptions', () => {
  it('asks for video only for tiles shown, at the rendition width of their size', () => {
    expect(tileWant({ hasVideo: true, shown: true, devicePixels: 300 })).toEqual({ video: true, maxWidth: 320 });
    expect(tileWant({ hasVideo: true, shown: true, devicePixels: 320.4 })).toEqual({ video: true, maxWidth: 480 });
    expect(tileWant({ hasVideo: true, shown: true, devicePixels: 5000 })).toEqual({ video: true });
    expect(tileWant({ hasVideo: false, shown: true, devicePixels: 300 })).toEqual({ video: false });
  });

  it('asks for a few detections a second for tiles not shown, with or without video', () => {
    expect(OFF_SCREEN_FPS).toBe(2);
    expect(tileWant({ hasVideo: true, shown: false, devicePixels: 300 })).toEqual({ video: false, maxFps: 2 });
    expect(tileWant({ hasVideo: false, shown: false, devicePixels: 300 })).toEqual({ video: false, maxFps: 2 });
  });

  it('sends only the changes, one message per distinct set of options, all acknowledged', () => {
    const sent = new Map<string, Want>([['a', { video: true, maxWidth: 320 }], ['b', { video: true, maxWidth: 320 }]]);
    const wanted = new Map<string, Want>([
      ['a', { video: true, maxWidth: 320 }],
      ['b', { video: false }],
      ['c', { video: false }],
      ['d', { video: true, maxWidth: 640 }],
      ['e', { video: false, maxFps: 2 }],
    ]);
    expect(subscribeMessages(sent, wanted)).toEqual([
      { type: 'subscribe', streams: ['b', 'c'], video: false, ack: true },
      { type: 'subscribe', streams: ['d'], video: true, maxWidth: 640, ack: true },
      { type: 'subscribe', streams: ['e'], video: false, maxFps: 2, ack: true },
    ]);
    expect(subscribeMessages(wanted, wanted)).toEqual([]);
    // Shown again: every frame (maxFps left out turns it off on the server).
    expect(subscribeMessages(wanted, new Map([['e', { video: false }]]))).toEqual([{ type: 'subscribe', streams: ['e'], video: false, ack: true }]);
  });
});

describe('FrameAcks', () => {
  it('acknowledges the newest consumed frame once, covering the older ones', () => {
    const a = new FrameAcks();
    expect(a.take(0)).toBeUndefined();
    a.receive(1, 0);
    a.receive(2, 10);
    expect(a.take(20)).toBeUndefined();
    a.consume(2, 30);
    expect(a.take(30)).toBe(2);
    expect(a.take(40)).toBeUndefined();
  });

  it('gives up waiting for a video that does not come after the grace time', () => {
    const a = new FrameAcks();
    a.receive(5, 1000);
    expect(a.take(1000 + VIDEO_GRACE_MS - 1)).toBeUndefined();
    expect(a.take(1000 + VIDEO_GRACE_MS)).toBe(5);
    // A frame drawn restarts the wait for the ones after it.
    a.receive(6, 2000);
    a.receive(7, 2010);
    a.consume(6, 2100);
    expect(a.take(2100)).toBe(6);
    expect(a.take(2100 + VIDEO_GRACE_MS - 1)).toBeUndefined();
    expect(a.take(2100 + VIDEO_GRACE_MS)).toBe(7);
  });

  it('starts again when seq goes back (the stream was added again) and after reset', () => {
    const a = new FrameAcks();
    a.receive(100, 0);
    a.consume(100, 0);
    expect(a.take(0)).toBe(100);
    a.receive(3, 10);
    a.consume(3, 10);
    expect(a.take(10)).toBe(3);
    a.reset();
    a.receive(1, 20);
    a.consume(1, 20);
    expect(a.take(20)).toBe(1);
  });
});

describe('view settings in the address', () => {
  it('reads filters, stats and page, ignoring nonsense', () => {
    const v = readViewSettings('?token=x&score=0.4&hide=car&hide=dog&stats=0&page=2');
    expect(v).toEqual({ minScore: 0.4, hiddenLabels: new Set(['car', 'dog']), stats: false, page: 2 });
    expect(readViewSettings('?score=abc&page=-1')).toEqual({ minScore: 0, hiddenLabels: new Set(), stats: true, page: 1 });
    expect(readViewSettings('?score=5').minScore).toBe(1);
  });

  it('writes them back, defaults left out, other parameters kept', () => {
    expect(writeViewSettings('?token=x&score=0.1', { minScore: 0.25, hiddenLabels: new Set(['dog', 'car']), stats: true, page: 1 })).toBe('?token=x&score=0.25&hide=car&hide=dog');
    expect(writeViewSettings('?score=0.1&stats=0', { minScore: 0, hiddenLabels: new Set(), stats: true, page: 1 })).toBe('');
    const round = { minScore: 0.5, hiddenLabels: new Set(['person']), stats: false, page: 3 };
    expect(readViewSettings(writeViewSettings('', round))).toEqual(round);
  });
});

describe('describeClose', () => {
  it('says what a closed connection means in plain words', () => {
    expect(describeClose(1006, false)).toBe('the server cannot be reached');
    expect(describeClose(1006, true)).toBe('the connection to the server was lost');
    expect(describeClose(1001, true)).toBe('the server is shutting down or restarting');
    expect(describeClose(4008, true)).toMatch(/could not keep up/);
    expect(describeClose(1013, true)).toMatch(/too many viewers/);
  });
});
