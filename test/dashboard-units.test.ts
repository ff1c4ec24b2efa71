/** The dashboard's pure parts: RLE painting, frame/detection pairing, trails, backoff, filter, static paths. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeRle } from '../src/infer/adapters/rle.js';
import { backoffDelay } from '../src/serve/dashboard/backoff.js';
import { visibleObjects } from '../src/serve/dashboard/filters.js';
import { FrameMailbox } from '../src/serve/dashboard/frameMailbox.js';
import { paintRle } from '../src/serve/dashboard/rle.js';
import { TrackTrails } from '../src/geometry/trails.js';
import type { DetectionsMessage, WireObject } from '../src/serve/dashboard/wire.js';
import { dashboardFileName } from '../src/serve/staticFiles.js';
import { wireLatency } from '../src/serve/protocol.js';

const obj = (label: string, score: number, track: number | null = null, box: [number, number, number, number] = [0, 0, 10, 10]): WireObject => ({
  box,
  score,
  class: 0,
  label,
  track_id: track,
});
const det = (seq: number, objects: WireObject[] = []): DetectionsMessage => ({
  type: 'detections',
  stream: 's',
  seq,
  frame: seq,
  pts: seq / 10,
  width: 64,
  height: 48,
  ts: 0,
  objects,
  latency: { ...wireLatency({ captureTs: 0, stages: {} }), stages_ms: {}, batch: null },
});

describe('paintRle', () => {
  it('paints exactly the pixels of a column-major RLE, row-major out', () => {
    const w = 7;
    const h = 5;
    const mask = new Uint8Array(w * h);
    for (const [x, y] of [[0, 0], [1, 0], [6, 4], [3, 2], [3, 3], [4, 2]]) mask[y * w + x] = 1;
    const rle = encodeRle(mask, w, h);
    const pixels = new Uint32Array(w * h).fill(7);
    expect(paintRle(rle, pixels, 0xff00ff00)).toBe(6);
    expect(Array.from(pixels, (p, i) => (mask[i] ? p === 0xff00ff00 : p === 7))).toEqual(new Array(w * h).fill(true));
  });

  it('refuses a buffer smaller than the mask', () => {
    expect(() => paintRle({ size: [4, 4], counts: [16] }, new Uint32Array(8), 1)).toThrow(/4x4/);
  });
});

describe('FrameMailbox', () => {
  it('pairs a frame with the detections of its seq and keeps only the newest undrawn frame', () => {
    const released: string[] = [];
    const box = new FrameMailbox<string>(4, (img) => released.push(img));
    for (let s = 1; s <= 3; s++) box.addDetections(det(s));
    const d2 = box.claim(2)!;
    expect(d2.seq).toBe(2);
    expect(box.claim(1)).toBeUndefined(); // older than a claimed frame: forgotten
    expect(box.offer(d2, 'img2')).toBe(true);
    expect(box.offer(box.claim(3)!, 'img3')).toBe(true);
    expect(released).toEqual(['img2']);
    expect(box.skipped).toBe(1);
    expect(box.take()).toMatchObject({ seq: 3, image: 'img3' });
    expect(box.take()).toBeUndefined();
    // A late decode of an older frame is released, never drawn over a newer one.
    expect(box.offer(d2, 'late')).toBe(false);
    expect(released).toEqual(['img2', 'late']);
  });

  it('forgets an undrawn pair without a picture on request, never one with a picture', () => {
    const box = new FrameMailbox<string>(4);
    box.addDetections(det(1));
    expect(box.offer(box.claim(1)!)).toBe(true);
    box.dropWithoutImage();
    expect(box.take()).toBeUndefined();
    box.addDetections(det(2));
    expect(box.offer(box.claim(2)!, 'img2')).toBe(true);
    box.dropWithoutImage();
    expect(box.take()).toMatchObject({ seq: 2, image: 'img2' });
  });

  it('keeps only the last few detections and restarts when seq goes back (server restart)', () => {
    const box = new FrameMailbox<string>(2);
    for (let s = 10; s <= 13; s++) box.addDetections(det(s));
    expect(box.claim(11)).toBeUndefined();
    expect(box.offer(box.claim(13)!, 'a')).toBe(true);
    box.take();
    box.addDetections(det(0));
    expect(box.offer(box.claim(0)!, 'b')).toBe(true);
    expect(box.take()?.seq).toBe(0);
  });
});

describe('TrackTrails', () => {
  it('keeps the last N centres per track and forgets tracks not seen for a while', () => {
    const trackId = (o: WireObject) => o.track_id;
    const t = new TrackTrails({ length: 3, forgetAfterFrames: 5 });
    for (let s = 0; s < 5; s++) t.update(s, [obj('a', 1, 1, [s * 2, 0, s * 2 + 2, 2]), ...(s === 0 ? [obj('b', 1, 2)] : [])], trackId);
    expect(t.trail(1)).toEqual([[5, 1], [7, 1], [9, 1]]);
    expect(t.trail(2)).toEqual([[5, 5]]);
    t.update(6, [], trackId);
    expect(t.trail(2)).toEqual([]);
    expect(t.size).toBe(1);
    t.update(7, [obj('x', 1, null)], trackId);
    expect(t.size).toBe(1);
  });
});

describe('backoffDelay', () => {
  it('doubles from 0.5 s, caps at 5 s, and jitter only shortens', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, undefined, () => 0))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(backoffDelay(5, undefined, () => 1)).toBe(4000);
  });
});

describe('visibleObjects', () => {
  it('applies the score floor and the hidden classes', () => {
    const objects = [obj('person', 0.9), obj('car', 0.9), obj('person', 0.3)];
    expect(visibleObjects(objects, { minScore: 0.5, hiddenLabels: new Set(['car']) })).toEqual([objects[0]]);
    expect(visibleObjects(objects, { minScore: 0, hiddenLabels: new Set() })).toHaveLength(3);
  });
});

describe('dashboardFileName', () => {
  it('maps / and plain asset names, refuses anything that could leave the folder', () => {
    expect(dashboardFileName('/')).toBe('index.html');
    expect(dashboardFileName('/dashboard/app-ABC123.js')).toBe('app-ABC123.js');
    expect(dashboardFileName('/api/streams')).toBeUndefined();
    expect(dashboardFileName('/healthz')).toBeUndefined();
    for (const bad of ['/dashboard/', '/dashboard/../package.json', '/dashboard/..%2Fpackage.json', '/dashboard/a/b.js', '/dashboard/.env', '/dashboard/x.json', '/dashboard/%2e%2e']) {
      expect(dashboardFileName(bad), bad).toBe('');
    }
  });
});

describe('the wire types', () => {
  it('are the server\'s (type-only imports from src/serve), not copies declared in the dashboard', () => {
    const wire = readFileSync(new URL('../src/serve/dashboard/wire.ts', import.meta.url), 'utf8');
    expect(wire).not.toMatch(/^\s*(export\s+)?(interface|type)\s+\w+\s*(=|\{|<)/m);
    expect(wire).toMatch(/export type \{[^}]*ServerMessage[^}]*\} from '\.\.\/protocol\.js'/);
    // Nothing but types may come from the server: a value import would bundle server code.
    expect(wire).not.toMatch(/^import (?!type )/m);
  });
});
