import { describe, expect, it } from 'vitest';
import { parseAnalytics, type AnalyticsInput } from '../src/config.js';
import { AnalyticsEngine, type AnalyticsEngineOptions } from '../src/analytics/engine.js';
import { uuidv7 } from '../src/analytics/eventId.js';
import { uniformRng } from '../src/tools/synth/prng.js';
import type { AnalyticsEvent, Box, FrameResult } from '../src/types.js';

// Frames at 10 fps (pts = index / 10). Objects are 40x40 boxes placed by their bottom-center
// anchor, so the default hysteresis margin is 0.1 * 40 = 4 px.
interface Obj { id: number; x: number; y: number; cls?: number; label?: string; score?: number; size?: number }

function boxAt(x: number, y: number, size = 40): Box {
  return [x - size / 2, y - size, x + size / 2, y];
}

function frame(index: number, objs: Obj[], o: { width?: number; height?: number; pts?: number } = {}): FrameResult {
  return {
    streamId: 'cam',
    seq: index,
    index,
    pts: o.pts ?? index / 10,
    width: o.width ?? 640,
    height: o.height ?? 480,
    detections: objs.map((b) => ({ box: boxAt(b.x, b.y, b.size), score: b.score ?? 0.9, class: b.cls ?? 0, label: b.label ?? 'person', trackId: b.id })),
    timing: { captureTs: Date.UTC(2025, 0, 31, 12, 0, 0) + index * 100, stages: {} },
  };
}

let ids = 0;
function engine(config: AnalyticsInput, o: Partial<AnalyticsEngineOptions> = {}): AnalyticsEngine {
  return new AnalyticsEngine(parseAnalytics(config), { lostSeconds: 1, wallClock: false, newId: () => `e${++ids}`, ...o });
}

/** Feeds frames [startIndex, ...) with one object per frame from `ys` (x fixed); returns all events. */
function run(e: AnalyticsEngine, frames: Array<Obj[]>, start = 0): AnalyticsEvent[] {
  return frames.flatMap((objs, i) => e.process(frame(start + i, objs)));
}

const path = (id: number, x: number, ys: number[], extra: Partial<Obj> = {}): Array<Obj[]> => ys.map((y) => [{ id, x, y, ...extra }]);
const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let v = from; step > 0 ? v <= to : v >= to; v += step) out.push(v);
  return out;
};
const brief = (e: AnalyticsEvent): string =>
  e.type === 'line_cross' ? `${e.frame} ${e.track_id} ${e.line} ${e.direction}` : `${e.frame} ${e.track_id} ${e.type} ${e.zone}${e.dwell !== undefined ? ` ${e.dwell}` : ''}`;

const gate: AnalyticsInput = { lines: [{ name: 'gate', from: [0, 240], to: [640, 240] }] };

describe('line crossing', () => {
  it('moving down the image across a left-to-right line is "in", up is "out"; once per crossing', () => {
    const e = engine(gate);
    // Anchor y: 200..300 in steps of 10 (d = y - 240). Clear (|d| > 4) sides: -1 at 200..230, +1 from 250.
    // Side -1 is confirmed at frame 1; the +1 run starts at frame 5 (y=250) and reaches 2 frames at frame 6.
    const down = run(e, path(1, 320, range(200, 300, 10)));
    expect(down.map(brief)).toEqual(['6 1 gate in']);
    expect(down[0]).toEqual({
      id: 'e1', type: 'line_cross', stream: 'cam', line: 'gate', direction: 'in', track_id: 1, class: 0, label: 'person',
      score: 0.9, box: [300, 220, 340, 260], frame: 6, pts: 0.6,
    });
    // Back up from frame 11: 290, 280, ..., 200. Clear -1 from y=230 (frame 17), confirmed at frame 18.
    const up = run(e, path(1, 320, range(290, 200, -10)), 11);
    expect(up.map(brief)).toEqual(['18 1 gate out']);
    expect(e.snapshotCounts()).toEqual({ lines: { gate: { in: { person: 1 }, out: { person: 1 } } }, zones: {} });
  });

  it('a track hovering on the line with a few pixels of jitter makes no events', () => {
    const rng = uniformRng(7);
    const ys = Array.from({ length: 300 }, () => 240 + (rng() * 2 - 1) * 3.5);
    // Without hysteresis this would be a storm: the raw side flips dozens of times.
    let flips = 0;
    for (let i = 1; i < ys.length; i++) if (Math.sign(ys[i]! - 240) !== Math.sign(ys[i - 1]! - 240)) flips++;
    expect(flips).toBeGreaterThan(100);
    const e = engine(gate);
    expect(run(e, path(1, 320, ys))).toEqual([]);
  });

  it('jitter that crosses the margin for single frames makes no events either', () => {
    // Alternating 8 px above and below: clear of the 4 px margin every frame, never 2 frames on one side.
    const ys = Array.from({ length: 100 }, (_, i) => (i % 2 ? 248 : 232));
    expect(run(engine(gate), path(1, 320, ys))).toEqual([]);
  });

  it('a person who crosses and then stands on the line counts once', () => {
    const rng = uniformRng(11);
    const standing = Array.from({ length: 200 }, () => 242 + (rng() * 2 - 1) * 4);
    const events = run(engine(gate), path(1, 320, [...range(150, 260, 10), ...standing]));
    expect(events.map(brief)).toEqual(['11 1 gate in']);
  });

  it('a track that approaches the line and turns back counts nothing', () => {
    // Into the band (y = 243, d = 3) and back; then one frame clearly across (y = 250) and back.
    const ys = [200, 210, 220, 230, 238, 243, 238, 230, 220, 230, 240, 250, 235, 220, 210];
    const e = engine(gate);
    expect(run(e, path(1, 320, ys))).toEqual([]);
    expect(e.snapshotCounts().lines.gate).toEqual({ in: {}, out: {} });
  });

  it('only crossings of the segment count, not of its extension', () => {
    const e = engine({ lines: [{ name: 'door', from: [100, 240], to: [300, 240] }] });
    // Down at x = 400 (beyond the end): the side changes without a crossing; up at x = 200: "out".
    expect(run(e, path(1, 400, range(200, 280, 10)))).toEqual([]);
    const back = run(e, path(1, 200, range(270, 200, -10)), 9);
    expect(back.map(brief)).toEqual(['14 1 door out']);
  });

  it('a track first seen on one side is not a crossing; minFrames and hysteresis are per line', () => {
    const e = engine({ lines: [{ name: 'g', from: [0, 240], to: [640, 240], minFrames: 1, hysteresis: 0 }] });
    // Born below the line: no event. With minFrames 1 and no band, one frame above is an "out".
    expect(run(e, path(1, 320, [260, 250, 239, 241])).map(brief)).toEqual(['2 1 g out', '3 1 g in']);
  });

  it('class filters by id or label', () => {
    const e = engine({ lines: [{ name: 'cars', from: [0, 240], to: [640, 240], classes: ['car', 5] }] });
    const ys = range(200, 280, 10);
    const events = ys.flatMap((y, i) =>
      e.process(frame(i, [
        { id: 1, x: 100, y, cls: 0, label: 'person' },
        { id: 2, x: 300, y, cls: 2, label: 'car' },
        { id: 3, x: 500, y, cls: 5, label: 'bus' },
      ])),
    );
    expect(events.map(brief)).toEqual(['6 2 cars in', '6 3 cars in']);
    expect(e.snapshotCounts().lines.cars!.in).toEqual({ car: 1, bus: 1 });
  });

  it('detections without a track id take no part', () => {
    const e = engine(gate);
    const events = range(200, 300, 10).flatMap((y, i) => {
      const f = frame(i, [{ id: 1, x: 320, y }]);
      delete f.detections[0]!.trackId;
      return e.process(f);
    });
    expect(events).toEqual([]);
  });
});

describe('id switch', () => {
  it('a new id that replaces a lost track mid-crossing inherits its side: counted once, not lost', () => {
    const e = engine(gate);
    // Track 1 is confirmed above (y 200..230), reaches the band (y 238) and is lost; track 2 takes
    // over at the same place one frame later and walks on down. Without the hand-over track 2's
    // first side would be "below" and the crossing would not count at all.
    const events = run(e, [...path(1, 320, [200, 210, 220, 230, 238]), ...path(2, 321, [241, 250, 260, 270])]);
    expect(events.map(brief)).toEqual(['7 2 gate in']);
    expect(e.snapshotCounts().lines.gate!.in).toEqual({ person: 1 });
  });

  it('a new id after a crossing, jittering on the far side, does not count again', () => {
    const rng = uniformRng(3);
    const jitter = Array.from({ length: 100 }, () => 250 + (rng() * 2 - 1) * 12);
    const e = engine(gate);
    const events = run(e, [...path(1, 320, range(200, 260, 10)), ...path(2, 322, jitter)]);
    expect(events.map(brief)).toEqual(['6 1 gate in']);
  });

  it('inside a zone the visit goes on under the new id: no second enter, occupancy stays 1', () => {
    const e = engine({ zones: [{ name: 'bay', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]] }] });
    const events = run(e, [...path(1, 200, Array(20).fill(200)), ...path(2, 203, Array(20).fill(201)), ...path(2, 203, range(320, 400, 10))]);
    // Enter at frame 1 (visit from t=0); the exit run starts at frame 40 (t=4.0), confirmed at 41.
    expect(events.map(brief)).toEqual(['1 1 zone_enter bay', '41 2 zone_exit bay 4']);
    expect(e.snapshotCounts().zones.bay).toEqual({ person: 0 });
  });

  it('a new track beside one that is still seen is a second object, not a successor', () => {
    const e = engine({ zones: [{ name: 'bay', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]] }] });
    // Two people side by side (30 px apart, within one box size); the second is first tracked a frame later.
    const events = [0, 1, 2, 3].flatMap((i) =>
      e.process(frame(i, i === 0 ? [{ id: 1, x: 200, y: 200 }] : [{ id: 1, x: 200, y: 200 }, { id: 2, x: 230, y: 200 }])),
    );
    expect(events.map(brief)).toEqual(['1 1 zone_enter bay', '2 2 zone_enter bay']);
    expect(e.snapshotCounts().zones.bay).toEqual({ person: 2 });
  });

  it('a track lost for longer than lostSeconds has no successor: the tracker has dropped it', () => {
    const e = engine({ zones: [{ name: 'bay', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]] }] });
    // Track 1 last seen at t=0.9; nothing until t=2.0 (frame 20), when track 2 appears at the same place.
    const frames: Array<Obj[]> = [...path(1, 200, Array(10).fill(200)), ...Array.from({ length: 10 }, () => []), ...path(2, 200, [200, 200])];
    expect(run(e, frames).map(brief)).toEqual(['1 1 zone_enter bay', '20 1 zone_exit bay 0.9', '21 2 zone_enter bay']);
  });

  it('a new track of another class, or far away, starts on its own', () => {
    const e = engine({ zones: [{ name: 'bay', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]] }] });
    const events = run(e, [
      ...path(1, 200, Array(5).fill(200)),
      ...path(2, 200, Array(5).fill(200), { cls: 1, label: 'dog' }),
    ]);
    expect(events.map(brief)).toEqual(['1 1 zone_enter bay', '6 2 zone_enter bay']);
    expect(e.snapshotCounts().zones.bay).toEqual({ person: 1, dog: 1 });
    const far = engine(gate);
    // Track 1 lost at y=230 (above); track 2 appears 100 px away (> one box size) and goes down: its first side is below.
    expect(run(far, [...path(1, 320, [200, 210, 220, 230]), ...path(2, 420, [245, 250, 260])]).map(brief)).toEqual([]);
  });
});

describe('zones', () => {
  const bay: AnalyticsInput = { zones: [{ name: 'bay', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]], loiterSeconds: 3 }] };

  it('enter after minFrames, one loiter per visit, exit with dwell in stream seconds', () => {
    const e = engine(bay);
    const rng = uniformRng(5);
    const inside = Array.from({ length: 50 }, () => 200 + (rng() * 2 - 1) * 20);
    // Visit 1: inside from frame 0 (t=0), enter at frame 1; loiter at t=3.0 (frame 30); out from frame 50 (t=5), exit at 51.
    // Visit 2: back in from frame 60 (t=6), enter at 61; loiter at frame 90; out from frame 100 (t=10), exit at 101.
    const events = run(e, path(1, 200, [...inside, ...Array(10).fill(350), ...Array(40).fill(250), ...Array(2).fill(350)]));
    expect(events.map(brief)).toEqual([
      '1 1 zone_enter bay',
      '30 1 zone_loiter bay 3',
      '51 1 zone_exit bay 5',
      '61 1 zone_enter bay',
      '90 1 zone_loiter bay 3',
      '101 1 zone_exit bay 4',
    ]);
    expect(events[0]).toEqual({ id: expect.any(String), type: 'zone_enter', stream: 'cam', zone: 'bay', track_id: 1, class: 0, label: 'person', box: expect.any(Array), frame: 1, pts: 0.1 });
    expect(e.snapshotCounts().zones.bay).toEqual({ person: 0 });
  });

  it('minFrames: a single frame inside is not an entry', () => {
    const e = engine({ zones: [{ name: 'z', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]], minFrames: 3 }] });
    expect(run(e, path(1, 200, [350, 250, 350, 250, 250, 350, 250, 250, 250])).map(brief)).toEqual(['8 1 zone_enter z']);
  });

  it('a track hovering on a zone edge enters once and does not leave', () => {
    const rng = uniformRng(9);
    // The bottom edge is y = 300; the anchor jitters within 3.5 px of it (margin 4 px).
    const ys = Array.from({ length: 300 }, () => 300 + (rng() * 2 - 1) * 3.5);
    const events = run(engine(bay), path(1, 200, ys));
    expect(events.filter((ev) => ev.type !== 'zone_loiter').map(brief)).toEqual([expect.stringMatching(/^\d+ 1 zone_enter bay$/)]);
    expect(events.filter((ev) => ev.type === 'zone_loiter')).toHaveLength(1);
  });

  it('concave zones: walking through the notch is outside', () => {
    // A "U" opening upwards: the notch is x in (280, 360), y < 300.
    const u: AnalyticsInput = { zones: [{ name: 'u', polygon: [[200, 100], [280, 100], [280, 300], [360, 300], [360, 100], [440, 100], [440, 400], [200, 400]] }] };
    const e = engine(u);
    expect(run(e, path(1, 320, range(120, 280, 10)))).toEqual([]);
    expect(run(e, path(1, 320, range(290, 350, 10)), 17).map(brief)).toEqual(['19 1 zone_enter u']);
  });

  it('a track that is no longer seen leaves its zones after lostSeconds, dwell up to when it was last seen', () => {
    const e = engine(bay);
    run(e, path(1, 200, Array(10).fill(200))); // enter at frame 1, visit from t=0, last seen t=0.9
    const later = Array.from({ length: 12 }, (_, i) => e.process(frame(10 + i, []))).flat();
    // Gone for more than 1 s at frame 20 (t=2.0 - 0.9 = 1.1).
    expect(later.map(brief)).toEqual(['20 1 zone_exit bay 0.9']);
    expect(e.snapshotCounts().zones.bay).toEqual({ person: 0 });
  });

  it('a lost track leaves only the zones it was in, its dwell counted from when it entered', () => {
    const e = engine({ zones: [...bay.zones!, { name: 'far', polygon: [[400, 100], [600, 100], [600, 300], [400, 300]] }] });
    run(e, path(1, 200, [...Array(5).fill(350), ...Array(5).fill(200)])); // in bay from t=0.5, last seen t=0.9
    const later = Array.from({ length: 12 }, (_, i) => e.process(frame(10 + i, []))).flat();
    expect(later.map(brief)).toEqual(['20 1 zone_exit bay 0.4']);
  });

  it('lostSeconds follows the tracker\'s when the settings change', () => {
    const e = engine(bay);
    e.configure(parseAnalytics(bay), 3);
    run(e, path(1, 200, Array(10).fill(200)));
    const later = Array.from({ length: 35 }, (_, i) => e.process(frame(10 + i, []))).flat();
    // Last seen at t=0.9: gone once more than 3 s have passed, at frame 40 (t=4.0).
    expect(later.map(brief)).toEqual(['40 1 zone_exit bay 0.9']);
  });

  it('class filters on zones', () => {
    const e = engine({ zones: [{ name: 'lot', polygon: [[0, 0], [640, 0], [640, 480], [0, 480]], classes: [2] }] });
    const events = [0, 1, 2].flatMap((i) => e.process(frame(i, [{ id: 1, x: 100, y: 100 }, { id: 2, x: 300, y: 300, cls: 2, label: 'car' }])));
    expect(events.map(brief)).toEqual(['1 2 zone_enter lot']);
  });
});

describe('coordinates, discontinuities, counts and config changes', () => {
  it('normalised coordinates follow a resolution change', () => {
    const e = engine({ coordinates: 'normalized', lines: [{ name: 'mid', from: [0, 0.5], to: [1, 0.5] }] });
    const big = { width: 1280, height: 960 };
    const events = [
      ...[200, 210].flatMap((y, i) => e.process(frame(i, [{ id: 1, x: 320, y }]))),
      // Same place in the scene at twice the resolution: the line is now at y = 480.
      ...[440, 460, 490, 500, 510].flatMap((y, i) => e.process(frame(2 + i, [{ id: 1, x: 640, y, size: 80 }], big))),
    ];
    expect(events.map(brief)).toEqual(['5 1 mid in']);
  });

  it('normalised coordinates follow a change of the width alone, or of the height alone', () => {
    // A vertical line at half the width: x = 320, then x = 640 once the frames are 1280 wide.
    const v = engine({ coordinates: 'normalized', lines: [{ name: 'mid', from: [0.5, 0], to: [0.5, 1] }] });
    const wide = { width: 1280, height: 480 };
    const across = [
      ...[280, 290].flatMap((x, i) => v.process(frame(i, [{ id: 1, x, y: 300 }]))),
      ...[560, 580, 600, 700, 720].flatMap((x, i) => v.process(frame(2 + i, [{ id: 1, x, y: 300 }], wide))),
    ];
    expect(across.map(brief)).toEqual(['6 1 mid out']);
    // A horizontal line at half the height: y = 240, then y = 480 once the frames are 960 high.
    const h = engine({ coordinates: 'normalized', lines: [{ name: 'mid', from: [0, 0.5], to: [1, 0.5] }] });
    const tall = { width: 640, height: 960 };
    const down = [
      ...[180, 190].flatMap((y, i) => h.process(frame(i, [{ id: 1, x: 320, y }]))),
      ...[360, 380, 400, 560, 580].flatMap((y, i) => h.process(frame(2 + i, [{ id: 1, x: 320, y }], tall))),
    ];
    expect(down.map(brief)).toEqual(['6 1 mid in']);
  });

  it('after a discontinuity a track\'s side is found again without an event', () => {
    const e = engine(gate);
    run(e, path(1, 320, [200, 210, 220]));
    e.flush();
    // A loop: the same track id is now below the line; no crossing. Then it really crosses up.
    const after = run(e, path(1, 320, [300, 290, 280, 270, 260, 250, 240, 230, 220]), 3);
    expect(after.map(brief)).toEqual(['11 1 gate out']);
  });

  it('a pts that restarts does not shorten a dwell', () => {
    const e = engine({ zones: [{ name: 'z', polygon: [[0, 0], [640, 0], [640, 480], [0, 480]], loiterSeconds: 2 }] });
    const events: AnalyticsEvent[] = [];
    for (let i = 0; i < 15; i++) events.push(...e.process(frame(i, [{ id: 1, x: 100, y: 100 }])));
    e.flush();
    // pts restart at 0 after the flush: dwell continues from 1.4 s.
    for (let i = 0; i < 10; i++) events.push(...e.process(frame(i, [{ id: 1, x: 100, y: 100 }], { pts: i / 10 })));
    expect(events.map(brief)).toEqual(['1 1 zone_enter z', '6 1 zone_loiter z 2']);
  });

  it('a discontinuity adds no stream time: after a seek forward tracks are neither forgotten nor loitering', () => {
    const e = engine({ zones: [{ name: 'z', polygon: [[0, 0], [640, 0], [640, 480], [0, 480]], loiterSeconds: 2 }] });
    const events: AnalyticsEvent[] = [];
    for (let i = 0; i < 10; i++) events.push(...e.process(frame(i, [{ id: 1, x: 100, y: 100 }])));
    e.flush();
    // pts jump from 0.9 to 100: the visit has lasted 0.9 s, and goes on from there.
    for (let i = 0; i < 12; i++) events.push(...e.process(frame(10 + i, [{ id: 1, x: 100, y: 100 }], { pts: 100 + i / 10 })));
    expect(events.map(brief)).toEqual(['1 1 zone_enter z', '21 1 zone_loiter z 2']);
  });

  it('counts: every line and zone present, reset zeroes line counts and keeps labels and occupancy', () => {
    const e = engine({ ...gate, zones: [{ name: 'all', polygon: [[0, 0], [640, 0], [640, 480], [0, 480]] }, { name: 'none', polygon: [[0, 0], [1, 0], [1, 1]] }] });
    expect(e.takeCountsChanged()).toBe(true);
    expect(e.takeCountsChanged()).toBe(false);
    run(e, path(1, 320, range(200, 300, 10)));
    expect(e.takeCountsChanged()).toBe(true);
    expect(e.snapshotCounts()).toEqual({ lines: { gate: { in: { person: 1 }, out: {} } }, zones: { all: { person: 1 }, none: {} } });
    e.resetCounts();
    expect(e.takeCountsChanged()).toBe(true);
    expect(e.snapshotCounts()).toEqual({ lines: { gate: { in: { person: 0 }, out: {} } }, zones: { all: { person: 1 }, none: {} } });
  });

  it('counts change on a zone entry, an exit, a lost track leaving and a new config, and only then', () => {
    const bay: AnalyticsInput = { zones: [{ name: 'bay', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]] }] };
    const e = engine(bay);
    e.takeCountsChanged();
    const changes = (frames: Array<Obj[]>, start: number): boolean[] => frames.map((objs, i) => (e.process(frame(start + i, objs)), e.takeCountsChanged()));
    // Enter at frame 1, exit at frame 4 (out from frame 3); back in at frame 6.
    expect(changes(path(1, 200, [200, 200, 200, 350, 350, 200, 200]), 0)).toEqual([false, true, false, false, true, false, true]);
    // Not seen any more: gone after lostSeconds (1 s), at frame 17.
    expect(changes(Array.from({ length: 12 }, () => []), 7)).toEqual([...Array(10).fill(false), true, false]);
    e.configure(parseAnalytics(bay));
    expect(e.takeCountsChanged()).toBe(true);
  });

  it('a new config keeps the state and counts of unchanged lines and zones, and starts the others afresh', () => {
    const zone = { name: 'all', polygon: [[0, 0], [640, 0], [640, 480], [0, 480]] as Array<[number, number]> };
    const e = engine({ ...gate, zones: [zone] });
    run(e, path(1, 320, range(200, 260, 10)));
    expect(e.snapshotCounts()).toEqual({ lines: { gate: { in: { person: 1 }, out: {} } }, zones: { all: { person: 1 } } });
    e.configure(parseAnalytics({ lines: [{ name: 'gate', from: [0, 240], to: [640, 240] }, { name: 'low', from: [0, 300], to: [640, 300] }], zones: [{ ...zone, name: 'whole' }] }));
    expect(e.snapshotCounts()).toEqual({ lines: { gate: { in: { person: 1 }, out: {} }, low: { in: {}, out: {} } }, zones: { whole: {} } });
    // The track keeps its side of "gate" and is new to "low" and "whole".
    const events = run(e, path(1, 320, range(270, 330, 10)), 7);
    expect(events.map(brief)).toEqual(['8 1 zone_enter whole', '12 1 low in']);
  });

  it('events carry the capture wall clock for live streams, and unique ids', () => {
    const e = new AnalyticsEngine(parseAnalytics(gate), { lostSeconds: 1, wallClock: true });
    const events = run(e, [...path(1, 320, range(200, 300, 10)), ...path(1, 320, range(290, 200, -10))]);
    expect(events).toHaveLength(2);
    expect(events[0]!.time).toBe('2025-01-31T12:00:00.600Z');
    expect(events[0]!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(events[0]!.id).not.toBe(events[1]!.id);
  });
});

describe('uuidv7', () => {
  it('is time-ordered, unique and carries its millisecond', () => {
    // Ahead of every id made so far in this process (ids never go back in time).
    const t = Date.now() + 3_600_000;
    const made = Array.from({ length: 5000 }, () => uuidv7(t));
    expect(new Set(made).size).toBe(5000);
    expect(made.slice().sort()).toEqual(made); // same millisecond: the counter keeps the order
    expect(parseInt(made[0]!.slice(0, 8) + made[0]!.slice(9, 13), 16)).toBe(t);
    expect(uuidv7(t + 10) > made.at(-1)!).toBe(true);
  });
});
