/**
 * Plane geometry of zones, lines and masks, in image coordinates (x right, y down). Pure functions, no I/O.
 */
import type { Anchor } from '../config/schema.js';
import type { Box } from '../types.js';

export type Point = readonly [x: number, y: number];

/** Distances below this many pixels are zero: a point this close to an edge is on it. */
export const ON_EDGE_EPSILON = 1e-6;

/** z of the 3-D cross product: u.x·v.y − u.y·v.x. */
export function cross(ux: number, uy: number, vx: number, vy: number): number {
  return ux * vy - uy * vx;
}

/**
 * Signed distance of `p` from the infinite line through `from` and `to`: positive on the side where
 * cross(to − from, p − from) > 0 (below a line drawn left to right, since y grows downwards).
 * A degenerate line (from = to) has no sides: 0.
 */
export function signedDistance(from: Point, to: Point, p: Point): number {
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  const len = Math.hypot(dx, dy);
  return len === 0 ? 0 : cross(dx, dy, p[0] - from[0], p[1] - from[1]) / len;
}

/** s = sign(cross(to − from, p − from)): −1, 0 (on the line) or 1. */
export function sideOfLine(from: Point, to: Point, p: Point): -1 | 0 | 1 {
  const d = signedDistance(from, to, p);
  return Math.abs(d) <= ON_EDGE_EPSILON ? 0 : d > 0 ? 1 : -1;
}

/**
 * Where the move p → q meets the infinite line through from → to, as the position t along the line
 * (0 at `from`, 1 at `to`); undefined when the move does not reach the line (p and q strictly on
 * one side, or both on it, or a degenerate line). The move crossed the segment itself when 0 ≤ t ≤ 1.
 */
export function crossingPosition(from: Point, to: Point, p: Point, q: Point): number | undefined {
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  const cp = cross(dx, dy, p[0] - from[0], p[1] - from[1]);
  const cq = cross(dx, dy, q[0] - from[0], q[1] - from[1]);
  if (cp === cq || (cp > 0 && cq > 0) || (cp < 0 && cq < 0)) return undefined;
  // The crossing point is p + k (q − p) with k = cp / (cp − cq); project it on the line.
  const k = cp / (cp - cq);
  const x = p[0] + k * (q[0] - p[0]) - from[0];
  const y = p[1] + k * (q[1] - p[1]) - from[1];
  return (x * dx + y * dy) / (dx * dx + dy * dy);
}

/** True when the closed segments a–b and c–d share at least one point (touching and collinear overlap included). */
export function segmentsIntersect(a: Point, b: Point, c: Point, d: Point): boolean {
  const d1 = sideOfLine(c, d, a);
  const d2 = sideOfLine(c, d, b);
  const d3 = sideOfLine(a, b, c);
  const d4 = sideOfLine(a, b, d);
  if (d1 * d2 < 0 && d3 * d4 < 0) return true;
  return (
    (d1 === 0 && onSegment(c, d, a)) ||
    (d2 === 0 && onSegment(c, d, b)) ||
    (d3 === 0 && onSegment(a, b, c)) ||
    (d4 === 0 && onSegment(a, b, d))
  );
}

/** Distance from p to the closed segment a–b. */
export function distanceToSegment(a: Point, b: Point, p: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

function onSegment(a: Point, b: Point, p: Point): boolean {
  return distanceToSegment(a, b, p) <= ON_EDGE_EPSILON;
}

/** Distance from p to the polygon's boundary (its closed ring of edges). */
export function distanceToBoundary(polygon: readonly Point[], p: Point): number {
  let best = Infinity;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    best = Math.min(best, distanceToSegment(polygon[j]!, polygon[i]!, p));
  }
  return best;
}

/**
 * Polygon containment by the even-odd rule (any simple polygon, convex or concave); points on an
 * edge or a vertex are inside.
 */
export function pointInPolygon(polygon: readonly Point[], p: Point): boolean {
  const [x, y] = p;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    // Half-open in y, so a ray through a vertex counts the two edges that meet there once.
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside || distanceToBoundary(polygon, p) <= ON_EDGE_EPSILON;
}

/** Twice the signed area (shoelace); 0 for a degenerate polygon (all points on one line). */
export function doubleArea(polygon: readonly Point[]): number {
  let a = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    a += cross(polygon[j]![0], polygon[j]![1], polygon[i]![0], polygon[i]![1]);
  }
  return a;
}

export function anchorPoint(box: Box, anchor: Anchor): Point {
  const [x1, y1, x2, y2] = box;
  switch (anchor) {
    case 'bottom-center': return [(x1 + x2) / 2, y2];
    case 'center': return [(x1 + x2) / 2, (y1 + y2) / 2];
    case 'top-left': return [x1, y1];
    case 'top-right': return [x2, y1];
    case 'bottom-left': return [x1, y2];
    case 'bottom-right': return [x2, y2];
  }
}
