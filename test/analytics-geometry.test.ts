import { describe, expect, it } from 'vitest';
import {
  anchorPoint,
  crossingPosition,
  distanceToBoundary,
  distanceToSegment,
  doubleArea,
  pointInPolygon,
  segmentsIntersect,
  sideOfLine,
  signedDistance,
  type Point,
} from '../src/geometry/plane.js';
import { classMatcher, matchesClass, resolveAnalytics } from '../src/analytics/config.js';
import { ConfigError, parseAnalytics, parseConfig } from '../src/config.js';

describe('sides of a line (the issue\'s sign convention)', () => {
  it('a line from (0,240) to (640,240): below is +1 (moving down is "in"), above is -1', () => {
    const from: Point = [0, 240];
    const to: Point = [640, 240];
    // cross((640,0), (320, 10)) = 640*10 - 0*320 = 6400 > 0
    expect(sideOfLine(from, to, [320, 250])).toBe(1);
    expect(sideOfLine(from, to, [320, 230])).toBe(-1);
    expect(sideOfLine(from, to, [320, 240])).toBe(0);
    // Sides extend beyond the segment (the infinite line), as the convention defines them.
    expect(sideOfLine(from, to, [-100, 250])).toBe(1);
    expect(signedDistance(from, to, [5, 250])).toBe(10);
    expect(signedDistance(from, to, [5, 237])).toBe(-3);
  });

  it('reversing the line swaps the sides; a vertical line downwards has +1 on its left', () => {
    expect(sideOfLine([640, 240], [0, 240], [320, 250])).toBe(-1);
    // from (100,0) to (100,480): u = (0,480), P - from = (-10, 5): cross = 0*5 - 480*(-10) = 4800
    expect(sideOfLine([100, 0], [100, 480], [90, 5])).toBe(1);
    expect(sideOfLine([100, 0], [100, 480], [110, 5])).toBe(-1);
  });

  it('distance to a slanted line is the perpendicular distance', () => {
    // Line y = x; the point (0, 2) is sqrt(2) away, on the +1 side: cross((1,1),(0,2)) = 2.
    expect(signedDistance([0, 0], [1, 1], [0, 2])).toBeCloseTo(Math.SQRT2, 12);
    expect(signedDistance([0, 0], [0, 0], [0, 2])).toBe(0); // degenerate line: no sides
  });
});

describe('crossing within the segment', () => {
  const from: Point = [100, 240];
  const to: Point = [300, 240];
  it('gives the position along the segment where a move meets the line', () => {
    // (150,200) -> (250,280) meets y=240 at x=200: t = (200-100)/200 = 0.5
    expect(crossingPosition(from, to, [150, 200], [250, 280])).toBe(0.5);
    // (100,230) -> (100,250) meets at the end point from: t = 0
    expect(crossingPosition(from, to, [100, 230], [100, 250])).toBe(0);
    // Beyond the end: meets the extension at x=350, t = 1.25; before the start, t < 0.
    expect(crossingPosition(from, to, [350, 230], [350, 250])).toBe(1.25);
    expect(crossingPosition(from, to, [40, 230], [60, 250])).toBe(-0.25);
  });

  it('is undefined when the move stays on one side or runs along the line', () => {
    expect(crossingPosition(from, to, [150, 200], [250, 230])).toBeUndefined();
    expect(crossingPosition(from, to, [150, 240], [250, 240])).toBeUndefined();
    expect(crossingPosition([5, 5], [5, 5], [0, 0], [10, 10])).toBeUndefined();
  });

  it('segment intersection counts touching ends and collinear overlap, not near misses', () => {
    expect(segmentsIntersect([0, 0], [10, 10], [0, 10], [10, 0])).toBe(true); // X
    expect(segmentsIntersect([0, 0], [10, 0], [10, 0], [20, 5])).toBe(true); // shared end point
    expect(segmentsIntersect([0, 0], [10, 0], [5, 0], [15, 0])).toBe(true); // collinear overlap
    expect(segmentsIntersect([0, 0], [10, 0], [11, 0], [15, 0])).toBe(false); // collinear, apart
    expect(segmentsIntersect([0, 0], [10, 0], [5, 1], [5, 10])).toBe(false); // T that stops short
    expect(segmentsIntersect([0, 0], [10, 0], [5, 0], [5, 10])).toBe(true); // T that touches
  });

  it('distance to a segment clamps to its end points', () => {
    expect(distanceToSegment([0, 0], [10, 0], [5, 3])).toBe(3);
    expect(distanceToSegment([0, 0], [10, 0], [13, 4])).toBe(5); // 3-4-5 from (10,0)
    expect(distanceToSegment([2, 2], [2, 2], [5, 6])).toBe(5);
  });
});

describe('polygon containment', () => {
  const square: Point[] = [[0, 0], [10, 0], [10, 10], [0, 10]];
  // A "U": the notch x in (4,6), y in [0,6) is outside.
  const u: Point[] = [[0, 0], [4, 0], [4, 6], [6, 6], [6, 0], [10, 0], [10, 10], [0, 10]];

  it('inside, outside, and points on edges and vertices (inside)', () => {
    expect(pointInPolygon(square, [5, 5])).toBe(true);
    expect(pointInPolygon(square, [11, 5])).toBe(false);
    expect(pointInPolygon(square, [10, 5])).toBe(true); // right edge
    expect(pointInPolygon(square, [5, 0])).toBe(true); // top edge
    expect(pointInPolygon(square, [0, 10])).toBe(true); // vertex
    expect(pointInPolygon(square, [10, 10])).toBe(true); // vertex where the ray would graze
    expect(pointInPolygon(square, [10.00001, 5])).toBe(false);
  });

  it('concave polygons: the notch is outside, its rim inside', () => {
    expect(pointInPolygon(u, [5, 3])).toBe(false); // in the notch
    expect(pointInPolygon(u, [5, 8])).toBe(true); // below the notch
    expect(pointInPolygon(u, [2, 3])).toBe(true); // left arm
    expect(pointInPolygon(u, [8, 3])).toBe(true); // right arm
    expect(pointInPolygon(u, [5, 6])).toBe(true); // the notch's bottom edge
    expect(pointInPolygon(u, [4, 3])).toBe(true); // the notch's side edge
    // A ray from (2, 6) to the right passes the reflex vertices (4,6) and (6,6) along the edge.
    expect(pointInPolygon(u, [2, 6])).toBe(true);
    expect(pointInPolygon(u, [12, 6])).toBe(false);
  });

  it('the winding order does not matter', () => {
    const reversed = u.slice().reverse();
    for (const p of [[5, 3], [5, 8], [2, 3], [4, 3], [12, 6]] as Point[]) {
      expect(pointInPolygon(reversed, p)).toBe(pointInPolygon(u, p));
    }
  });

  it('distance to the boundary and the area', () => {
    expect(distanceToBoundary(square, [5, 5])).toBe(5);
    expect(distanceToBoundary(square, [13, 14])).toBe(5); // corner (10,10)
    expect(distanceToBoundary(u, [5, 3])).toBe(1); // notch walls at x=4 and x=6
    expect(Math.abs(doubleArea(square))).toBe(200);
    expect(Math.abs(doubleArea(u))).toBe(2 * (100 - 12));
    expect(doubleArea([[0, 0], [5, 5], [10, 10]])).toBe(0);
  });
});

describe('anchors', () => {
  it('are the named points of the box', () => {
    const box: [number, number, number, number] = [10, 20, 30, 60];
    expect(anchorPoint(box, 'bottom-center')).toEqual([20, 60]);
    expect(anchorPoint(box, 'center')).toEqual([20, 40]);
    expect(anchorPoint(box, 'top-left')).toEqual([10, 20]);
    expect(anchorPoint(box, 'top-right')).toEqual([30, 20]);
    expect(anchorPoint(box, 'bottom-left')).toEqual([10, 60]);
    expect(anchorPoint(box, 'bottom-right')).toEqual([30, 60]);
  });
});

describe('config resolution', () => {
  it('scales normalised coordinates by the frame size; pixels stay', () => {
    const g = resolveAnalytics(
      parseAnalytics({
        coordinates: 'normalized',
        lines: [{ name: 'gate', from: [0, 0.5], to: [1, 0.5] }, { name: 'px', from: [1, 2], to: [3, 4], coordinates: 'pixels' }],
        zones: [{ name: 'bay', polygon: [[0.25, 0.25], [0.75, 0.25], [0.5, 1]] }],
      }),
      640,
      480,
    );
    expect(g.lines[0]).toMatchObject({ from: [0, 240], to: [640, 240], anchor: 'bottom-center', minFrames: 2, hysteresis: 0.1 });
    expect(g.lines[1]).toMatchObject({ from: [1, 2], to: [3, 4] });
    expect(g.zones[0]).toMatchObject({ polygon: [[160, 120], [480, 120], [320, 480]], bounds: [160, 120, 480, 480], loiterSeconds: undefined });
  });

  it('class filters match ids or labels; none matches all', () => {
    const m = classMatcher([0, 'car']);
    expect(matchesClass(m, 0, 'person')).toBe(true);
    expect(matchesClass(m, 2, 'car')).toBe(true);
    expect(matchesClass(m, 2, 'truck')).toBe(false);
    expect(matchesClass(classMatcher([]), 7, 'x')).toBe(true);
    expect(matchesClass(classMatcher(undefined), 7, 'x')).toBe(true);
  });

  it('validation names the field: schema errors and the rules beyond it', () => {
    const issues = (v: unknown, path?: string) => {
      try {
        parseAnalytics(v, path);
        return [];
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.issues;
      }
    };
    expect(
      issues({
        zones: [
          { name: 'a', polygon: [[0, 0], [1, 1], [2, 2]] },
          { name: 'a', polygon: [[0, 0], [1, 0], [1.5, 1]], coordinates: 'normalized' },
        ],
        lines: [{ name: 'l', from: [3, 3], to: [3, 3] }],
      }),
    ).toEqual([
      { path: 'zones[1].name', message: 'duplicate zone name "a"' },
      { path: 'zones[0].polygon', message: 'no area: its points are on one line' },
      { path: 'zones[1].polygon[2]', message: 'normalized coordinates must be within 0..1' },
      { path: 'lines[0].to', message: 'zero length: equals from' },
    ]);
    expect(issues({ coordinates: 'normalized', lines: [{ name: 'l', from: [0, 0], to: [1, 1.2] }] }, 'streams[0].analytics')).toEqual([
      { path: 'streams[0].analytics.lines[0].to', message: 'normalized coordinates must be within 0..1' },
    ]);
    const schema = issues({ zones: [{ name: 'z', polygon: [[0, 0], [1, 0]], minFrames: 0, anchor: 'feet' }], lines: [{ name: 'l', from: [0], to: [1, 1], colour: 'red' }] });
    expect(schema.map((i) => i.path).sort()).toEqual(['lines[0].colour', 'lines[0].from', 'zones[0].anchor', 'zones[0].minFrames', 'zones[0].polygon'].sort());
    expect(schema.find((i) => i.path === 'zones[0].polygon')!.message).toMatch(/at least 3 points/);
    expect(schema.find((i) => i.path === 'lines[0].from')!.message).toMatch(/\[x, y\]/);
  });

  it('a stream\'s analytics in the config: defaults when absent, errors named from the stream', () => {
    const config = (analytics?: unknown) => ({ models: { 'm.onnx': {} }, streams: [{ id: 'cam', url: 'rtsp://127.0.0.1/x', ...(analytics ? { analytics } : {}) }] });
    expect(parseConfig(config(), '/tmp').streams[0]!.analytics).toEqual({ coordinates: 'pixels', zones: [], lines: [] });
    expect(() => parseConfig(config({ zones: [{ name: 'z', polygon: [[0, 0], [5, 0], [5, 5]], loiterSeconds: -1 }] }), '/tmp')).toThrow(
      /^streams\[0\]\.analytics\.zones\[0\]\.loiterSeconds: expected a number/,
    );
  });

  it('fills in the defaults', () => {
    expect(parseAnalytics({ lines: [{ name: 'l', from: [0, 0], to: [1, 1] }] })).toEqual({
      coordinates: 'pixels',
      zones: [],
      lines: [{ name: 'l', from: [0, 0], to: [1, 1], anchor: 'bottom-center', minFrames: 2, hysteresis: 0.1 }],
    });
  });
});
