/**
 * Pure pixel geometry of synthetic targets: which pixels a shape covers, and what stays visible
 * when shapes are painted in z-order. The renderer and the ground-truth mask reconstruction both
 * use these functions, so the recorded ground truth matches the rendered pixels exactly.
 *
 * A pixel (x, y) belongs to a shape when its centre (x + 0.5, y + 0.5) lies inside the shape:
 * rect: |px - cx| <= rx and |py - cy| <= ry; ellipse: ((px - cx) / rx)^2 + ((py - cy) / ry)^2 <= 1.
 */
import type { Box } from '../../types.js';

export type ShapeKind = 'ellipse' | 'rect';

export interface ShapeParams {
  shape: ShapeKind;
  /** Centre in source pixels (continuous coordinates: pixel x spans [x, x + 1)). */
  center: [cx: number, cy: number];
  /** Half width and half height. */
  radii: [rx: number, ry: number];
}

/** A shape painted at depth z: higher z is drawn later and occludes lower z. */
export interface PlacedShape extends ShapeParams {
  id: number;
  z: number;
}

/** Rows [y0, y1) that may contain pixels of the shape (unclipped). */
export function rowRange(s: ShapeParams): [y0: number, y1: number] {
  const [, cy] = s.center;
  const ry = s.radii[1];
  return [Math.ceil(cy - ry - 0.5), Math.floor(cy + ry - 0.5) + 1];
}

/** Columns [x0, x1) covered by the shape in row y (unclipped); empty when x0 >= x1. */
export function rowSpan(s: ShapeParams, y: number): [x0: number, x1: number] {
  const [cx, cy] = s.center;
  const [rx, ry] = s.radii;
  const dy = y + 0.5 - cy;
  if (Math.abs(dy) > ry) return [0, 0];
  let half = rx;
  if (s.shape === 'ellipse') {
    const v = dy / ry;
    half = rx * Math.sqrt(1 - v * v);
  }
  return [Math.ceil(cx - half - 0.5), Math.floor(cx + half - 0.5) + 1];
}

/** Pixel extent of the whole shape, ignoring the frame and occlusion; null when it covers no pixel. */
export function shapeBox(s: ShapeParams): Box | null {
  const [y0, y1] = rowRange(s);
  let x1 = Infinity;
  let x2 = -Infinity;
  let top = Infinity;
  let bottom = -Infinity;
  for (let y = y0; y < y1; y++) {
    const [a, b] = rowSpan(s, y);
    if (a >= b) continue;
    if (a < x1) x1 = a;
    if (b > x2) x2 = b;
    if (y < top) top = y;
    bottom = y + 1;
  }
  return x1 === Infinity ? null : [x1, top, x2, bottom];
}

/** Number of pixels the whole shape covers, in or out of the frame. */
export function shapeArea(s: ShapeParams): number {
  const [y0, y1] = rowRange(s);
  let n = 0;
  for (let y = y0; y < y1; y++) {
    const [a, b] = rowSpan(s, y);
    if (b > a) n += b - a;
  }
  return n;
}

/** True when the two shapes share at least one pixel inside a width x height frame. */
export function shapesOverlapInFrame(a: ShapeParams, b: ShapeParams, width: number, height: number): boolean {
  const [ay0, ay1] = rowRange(a);
  const [by0, by1] = rowRange(b);
  const y0 = Math.max(ay0, by0, 0);
  const y1 = Math.min(ay1, by1, height);
  for (let y = y0; y < y1; y++) {
    const [ax0, ax1] = rowSpan(a, y);
    const [bx0, bx1] = rowSpan(b, y);
    if (Math.max(ax0, bx0, 0) < Math.min(ax1, bx1, width)) return true;
  }
  return false;
}

export interface Visibility {
  id: number;
  /** Pixels of the shape that are inside the frame and not covered by a shape with higher z. */
  visiblePixels: number;
  /** All pixels of the shape, unclipped and unoccluded. */
  totalPixels: number;
  /** visiblePixels / totalPixels. */
  visible: number;
  /** Extent of the visible pixels, x2/y2 exclusive; null when nothing is visible. */
  box: Box | null;
  /** Extent of the whole shape (may reach outside the frame). */
  fullBox: Box | null;
}

/**
 * Paints the shapes in z-order into `owner` (one entry per pixel: index into `shapes` of the topmost
 * shape, -1 for background). `owner` is reused across frames when given.
 */
export function paintOwners(shapes: readonly PlacedShape[], width: number, height: number, owner?: Int32Array): Int32Array {
  const out = owner ?? new Int32Array(width * height);
  out.fill(-1);
  const order = shapes.map((_, i) => i).sort((i, j) => shapes[i]!.z - shapes[j]!.z);
  for (const i of order) {
    const s = shapes[i]!;
    const [ry0, ry1] = rowRange(s);
    for (let y = Math.max(ry0, 0); y < Math.min(ry1, height); y++) {
      const [a, b] = rowSpan(s, y);
      const row = y * width;
      for (let x = Math.max(a, 0); x < Math.min(b, width); x++) out[row + x] = i;
    }
  }
  return out;
}

/** Visible fraction and boxes of every shape after painting them in z-order. */
export function computeVisibility(shapes: readonly PlacedShape[], width: number, height: number, owner?: Int32Array): Visibility[] {
  const owners = paintOwners(shapes, width, height, owner);
  return shapes.map((s, i) => {
    let visiblePixels = 0;
    let x1 = Infinity;
    let y1 = Infinity;
    let x2 = -Infinity;
    let y2 = -Infinity;
    const [ry0, ry1] = rowRange(s);
    for (let y = Math.max(ry0, 0); y < Math.min(ry1, height); y++) {
      const [a, b] = rowSpan(s, y);
      const row = y * width;
      for (let x = Math.max(a, 0); x < Math.min(b, width); x++) {
        if (owners[row + x] !== i) continue;
        visiblePixels++;
        if (x < x1) x1 = x;
        if (x >= x2) x2 = x + 1;
        if (y < y1) y1 = y;
        y2 = y + 1;
      }
    }
    const totalPixels = shapeArea(s);
    return {
      id: s.id,
      visiblePixels,
      totalPixels,
      visible: totalPixels > 0 ? visiblePixels / totalPixels : 0,
      box: visiblePixels > 0 ? [x1, y1, x2, y2] : null,
      fullBox: shapeBox(s),
    };
  });
}

/** 1 where the shape with `id` is the visible topmost shape, else 0; row-major, width * height. */
export function visibleMaskOf(shapes: readonly PlacedShape[], id: number, width: number, height: number): Uint8Array {
  const owners = paintOwners(shapes, width, height);
  const index = shapes.findIndex((s) => s.id === id);
  const mask = new Uint8Array(width * height);
  if (index < 0) return mask;
  for (let p = 0; p < owners.length; p++) if (owners[p] === index) mask[p] = 1;
  return mask;
}
