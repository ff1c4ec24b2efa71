/**
 * The analytics rules' pure parts at their edges: geometry on slanted lines and polygons, which end
 * of two segments touches, the line's dead band and segment, the zone's bounds and margin, and the
 * order of event ids within and across milliseconds.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedLine, ResolvedZone } from '../src/analytics/config.js';
import { uuidv7 } from '../src/analytics/eventId.js';
import { crossingPosition, doubleArea, pointInPolygon, segmentsIntersect, type Point } from '../src/geometry/plane.js';
import { clearRun, newLineState, stepLine } from '../src/analytics/lineCrossing.js';
import { newZoneState, stepZone } from '../src/analytics/zoneOccupancy.js';

describe('geometry on slanted lines and polygons', () => {
  it('finds where a move crosses a slanted line that does not start at the origin', () => {
    // Line y = x - 50 from (100, 50) to (300, 250); the move (140, 210) -> (220, 90) meets it at (188, 138).
    expect(crossingPosition([100, 50], [300, 250], [140, 210], [220, 90])).toBeCloseTo(0.44, 12);
    expect(crossingPosition([100, 50], [300, 250], [220, 90], [140, 210])).toBeCloseTo(0.44, 12);
    // Starting on the line counts (t where it starts); a move along the line does not cross it.
    expect(crossingPosition([100, 50], [300, 250], [150, 100], [100, 150])).toBeCloseTo(0.25, 12);
    expect(crossingPosition([100, 50], [300, 250], [150, 100], [200, 50])).toBeCloseTo(0.25, 12);
    expect(crossingPosition([100, 50], [300, 250], [150, 100], [200, 150])).toBeUndefined();
    // Ending on the line counts too, from either side; a move that stays on one side never does.
    expect(crossingPosition([100, 50], [300, 250], [100, 150], [200, 150])).toBeCloseTo(0.5, 12);
    expect(crossingPosition([100, 50], [300, 250], [200, 100], [200, 150])).toBeCloseTo(0.5, 12);
    expect(crossingPosition([100, 50], [300, 250], [100, 150], [120, 200])).toBeUndefined();
    expect(crossingPosition([100, 50], [300, 250], [200, 100], [250, 120])).toBeUndefined();
  });

  it('tells which end of two segments touches the other', () => {
    const ab: [Point, Point] = [[0, 0], [10, 0]];
    expect(segmentsIntersect([5, 0], [5, 10], ...ab)).toBe(true); // a on cd
    expect(segmentsIntersect([5, 10], [5, 0], ...ab)).toBe(true); // b on cd
    expect(segmentsIntersect(...ab, [5, 10], [5, 0])).toBe(true); // d on ab
    // The line through c-d separates a and b, but the segment a-b stops short of c-d.
    expect(segmentsIntersect([0, 0], [1, 0], [5, -5], [5, 5])).toBe(false);
    expect(segmentsIntersect([5, -5], [5, 5], [0, 0], [1, 0])).toBe(false);
  });

  it('slanted polygon edges: inside and outside near them', () => {
    const diamond: Point[] = [[50, 0], [100, 50], [50, 100], [0, 50]];
    expect(pointInPolygon(diamond, [50, 50])).toBe(true);
    // (74, 25) is just inside the edge y = x - 50 from (50, 0) to (100, 50); (76, 24) just outside.
    expect(pointInPolygon(diamond, [74, 25])).toBe(true);
    expect(pointInPolygon(diamond, [76, 24])).toBe(false);
    expect(pointInPolygon(diamond, [24, 76])).toBe(false);
    expect(pointInPolygon(diamond, [26, 74])).toBe(true);
    const triangle: Point[] = [[0, 0], [90, 30], [30, 90]];
    expect(pointInPolygon(triangle, [40, 40])).toBe(true);
    expect(pointInPolygon(triangle, [80, 10])).toBe(false);
    expect(pointInPolygon(triangle, [10, 80])).toBe(false);
    expect(pointInPolygon(triangle, [60, 55])).toBe(true);
  });

  it('the signed area is positive for a ring that turns clockwise on screen (y down)', () => {
    expect(doubleArea([[0, 0], [10, 0], [10, 10], [0, 10]])).toBe(200);
    expect(doubleArea([[0, 10], [10, 10], [10, 0], [0, 0]])).toBe(-200);
  });
});

const rule = { name: 'r', classes: undefined, anchor: 'bottom-center' as const, minFrames: 1, hysteresis: 0.1 };

describe('a line: dead band, segment and direction', () => {
  const line: ResolvedLine = { ...rule, from: [100, 240], to: [300, 240] };
  /** Steps the anchor through `ys` at x; returns the crossings. */
  const walk = (x: number, ys: number[], margin = 4, l: ResolvedLine = line): (string | undefined)[] => {
    const s = newLineState();
    return ys.map((y) => stepLine(s, l, [x, y], margin));
  };

  it('exactly the margin away is still in the dead band; beyond it is clear', () => {
    expect(walk(200, [230, 244, 250])).toEqual([undefined, undefined, 'in']); // 244 is 4 below: dead band
    expect(walk(200, [230, 244.5])).toEqual([undefined, 'in']);
    expect(walk(200, [250, 236, 230])).toEqual([undefined, undefined, 'out']);
    expect(walk(200, [250, 235.5])).toEqual([undefined, 'out']);
  });

  it('counts only moves across the segment, its ends included', () => {
    expect(walk(100, [230, 250])).toEqual([undefined, 'in']); // through the end point (t = 0)
    expect(walk(300, [230, 250])).toEqual([undefined, 'in']); // t = 1
    expect(walk(99, [230, 250])).toEqual([undefined, undefined]); // just before the start
    expect(walk(301, [230, 250])).toEqual([undefined, undefined]); // just past the end
  });

  it('needs minFrames clear frames on a side, also for the first one', () => {
    const l2 = { ...line, minFrames: 2 };
    expect(walk(200, [230, 230, 250, 250], 4, l2)).toEqual([undefined, undefined, undefined, 'in']);
    // A frame back on the old side resets the run.
    expect(walk(200, [230, 230, 250, 230, 250, 250], 4, l2)).toEqual([undefined, undefined, undefined, undefined, undefined, 'in']);
    // Frames on the old side move the start of the next crossing: here outside the segment.
    const s = newLineState();
    stepLine(s, line, [200, 230], 4);
    stepLine(s, line, [50, 230], 4);
    expect(stepLine(s, line, [50, 250], 4)).toBeUndefined();
  });

  it('clearRun forgets the frames counted toward a change', () => {
    const s = newLineState();
    const l2 = { ...line, minFrames: 2 };
    for (const y of [230, 230, 250]) stepLine(s, l2, [200, y], 4);
    clearRun(s);
    expect(s).toMatchObject({ side: -1, runSide: 0, runFrames: 0, runStart: undefined });
    expect(stepLine(s, l2, [200, 250], 4)).toBeUndefined();
    expect(stepLine(s, l2, [200, 250], 4)).toBe('in');
    expect(newLineState()).toEqual({ side: 0, lastClear: undefined, runSide: 0, runFrames: 0, runStart: undefined });
  });
});

describe('a zone: its bounds, its edge and the margin to leave it', () => {
  const zone: ResolvedZone = { ...rule, polygon: [[100, 100], [300, 100], [300, 300], [100, 300]], bounds: [100, 100, 300, 300], loiterSeconds: 2 };
  const step = (points: Point[], margin = 4): (string | undefined)[] => {
    const s = newZoneState();
    return points.map((p, k) => stepZone(s, zone, p, margin, k / 10, 'car'));
  };

  it('an anchor on any edge of the zone is inside', () => {
    for (const p of [[100, 200], [300, 200], [200, 100], [200, 300], [100, 100], [300, 300]] as Point[]) expect(step([p])).toEqual(['enter']);
    expect(step([[99.9, 200]])).toEqual([undefined]);
  });

  it('leaving takes more than the margin outside, on every side', () => {
    for (const [inside, near, far] of [
      [[200, 200], [96, 200], [95.9, 200]],
      [[200, 200], [304, 200], [304.1, 200]],
      [[200, 200], [200, 96], [200, 95.9]],
      [[200, 200], [200, 304], [200, 304.1]],
    ] as Array<[Point, Point, Point]>) {
      expect(step([inside, near, far])).toEqual(['enter', undefined, 'exit']);
    }
  });

  it('leaving across a slanted edge, inside the bounds: more than the margin from the edge', () => {
    const triangle: ResolvedZone = { ...zone, polygon: [[100, 100], [300, 100], [100, 300]], bounds: [100, 100, 300, 300] };
    const s = newZoneState();
    // (203, 200) is 3 / sqrt(2) px beyond the edge x + y = 400; (250, 250) is 100 / sqrt(2) px.
    expect(([[150, 150], [203, 200], [250, 250]] as Point[]).map((p, k) => stepZone(s, triangle, p, 4, k / 10, 'car'))).toEqual(['enter', undefined, 'exit']);
  });

  it('a new state is outside with nothing counted', () => {
    expect(newZoneState()).toEqual({ inside: false, runFrames: 0, runStart: 0, enteredAt: 0, exitedAt: 0, loitered: false, label: '' });
  });
});

describe('event ids', () => {
  it('start each millisecond at counter 0 and borrow the next millisecond after 4096', () => {
    const t = Date.now() + 7_200_000; // ahead of every id made so far
    const counter = (id: string): number => parseInt(id.slice(15, 18), 16);
    const ms = (id: string): number => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    const ids = Array.from({ length: 4098 }, () => uuidv7(t));
    expect([ms(ids[0]!), counter(ids[0]!)]).toEqual([t, 0]);
    expect([ms(ids[4095]!), counter(ids[4095]!)]).toEqual([t, 0xfff]);
    expect([ms(ids[4096]!), counter(ids[4096]!)]).toEqual([t + 1, 0]);
    expect([ms(ids[4097]!), counter(ids[4097]!)]).toEqual([t + 1, 1]);
    const later = uuidv7(t + 5);
    expect([ms(later), counter(later)]).toEqual([t + 5, 0]);
  });
});
