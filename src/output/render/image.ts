/**
 * Drawing into an RGB frame buffer (HWC, 3 bytes per pixel, row-major) at the source's resolution.
 * Pure: every primitive clips to the image and writes only the pixels it covers. Coordinates are
 * integer pixels; a rectangle [x0, x1) x [y0, y1) covers columns x0..x1-1 and rows y0..y1-1.
 *
 * Alpha is an integer 0..256 (256 = opaque): blending is `(src * (256 - a) + colour * a) >> 8`,
 * which stays in integers and is exact at both ends.
 */
import type { MaskRle } from '../../types.js';

export type Rgb = readonly [r: number, g: number, b: number];

export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

export const OPAQUE = 256;

export function createImage(width: number, height: number, fill: Rgb = [0, 0, 0]): RgbImage {
  const img: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  fillRect(img, 0, 0, width, height, fill);
  return img;
}

/** Wraps an existing buffer (e.g. a decoded frame) without copying. */
export function wrapImage(width: number, height: number, data: Uint8Array): RgbImage {
  if (data.length !== width * height * 3) throw new Error(`wrapImage: ${data.length} bytes for ${width}x${height} RGB`);
  return { width, height, data };
}

export function pixelAt(img: RgbImage, x: number, y: number): [number, number, number] {
  const p = (y * img.width + x) * 3;
  return [img.data[p], img.data[p + 1], img.data[p + 2]];
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Opaque fill of [x0, x1) x [y0, y1). */
export function fillRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
  const xa = clamp(Math.round(x0), 0, img.width);
  const xb = clamp(Math.round(x1), 0, img.width);
  const ya = clamp(Math.round(y0), 0, img.height);
  const yb = clamp(Math.round(y1), 0, img.height);
  if (xa >= xb || ya >= yb) return;
  const d = img.data;
  const rowBytes = (xb - xa) * 3;
  for (let y = ya; y < yb; y++) {
    const start = (y * img.width + xa) * 3;
    d[start] = c[0];
    d[start + 1] = c[1];
    d[start + 2] = c[2];
    // Doubling copies: log2(width) calls instead of a byte loop over the row.
    for (let filled = 3; filled < rowBytes; filled *= 2) d.copyWithin(start + filled, start, start + Math.min(filled, rowBytes - filled));
  }
}

/** Translucent fill of [x0, x1) x [y0, y1) with alpha 0..256. */
export function blendRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb, alpha: number): void {
  if (alpha >= OPAQUE) return fillRect(img, x0, y0, x1, y1, c);
  const xa = clamp(Math.round(x0), 0, img.width);
  const xb = clamp(Math.round(x1), 0, img.width);
  const ya = clamp(Math.round(y0), 0, img.height);
  const yb = clamp(Math.round(y1), 0, img.height);
  for (let y = ya; y < yb; y++) blendSpan(img, y, xa, xb, c, alpha);
}

/** Blends row y, columns [xa, xb) (already clipped). */
function blendSpan(img: RgbImage, y: number, xa: number, xb: number, c: Rgb, alpha: number): void {
  const d = img.data;
  const keep = OPAQUE - alpha;
  const r = c[0] * alpha;
  const g = c[1] * alpha;
  const b = c[2] * alpha;
  const end = (y * img.width + xb) * 3;
  for (let p = (y * img.width + xa) * 3; p < end; p += 3) {
    d[p] = (d[p] * keep + r) >> 8;
    d[p + 1] = (d[p + 1] * keep + g) >> 8;
    d[p + 2] = (d[p + 2] * keep + b) >> 8;
  }
}

/**
 * Outline of a box [x1, y1, x2, y2] (continuous pixel coordinates) with a line `thickness` pixels
 * wide centred on each edge, so the colour lies on the box's boundary itself.
 */
export function strokeBox(img: RgbImage, box: readonly [number, number, number, number], thickness: number, c: Rgb): void {
  const t = Math.max(1, Math.round(thickness));
  const before = Math.floor(t / 2);
  const l = Math.round(box[0]) - before;
  const top = Math.round(box[1]) - before;
  const r = Math.round(box[2]) - before;
  const bottom = Math.round(box[3]) - before;
  fillRect(img, l, top, r + t, top + t, c);
  fillRect(img, l, bottom, r + t, bottom + t, c);
  fillRect(img, l, top + t, l + t, bottom, c);
  fillRect(img, r, top + t, r + t, bottom, c);
}

/** A line from (xa, ya) to (xb, yb), `thickness` pixels wide (Bresenham stepping with a square pen). */
export function drawLine(img: RgbImage, xa: number, ya: number, xb: number, yb: number, thickness: number, c: Rgb): void {
  const t = Math.max(1, Math.round(thickness));
  const before = Math.floor(t / 2);
  let x = Math.round(xa);
  let y = Math.round(ya);
  const x1 = Math.round(xb);
  const y1 = Math.round(yb);
  const dx = Math.abs(x1 - x);
  const dy = -Math.abs(y1 - y);
  const sx = x < x1 ? 1 : -1;
  const sy = y < y1 ? 1 : -1;
  let err = dx + dy;
  // Far outside the image a line is clipped pixel by pixel; bound the walk to the segment's length.
  for (let steps = 0; steps <= dx - dy; steps++) {
    // A t-wide pen moving one pixel at a time needs only the new row or column of its square, but
    // whole squares keep this simple and lines here are short (trails, zone edges).
    fillRect(img, x - before, y - before, x - before + t, y - before + t, c);
    if (x === x1 && y === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/** A closed polygon's outline. */
export function strokePolygon(img: RgbImage, points: ReadonlyArray<readonly [number, number]>, thickness: number, c: Rgb): void {
  for (let i = 0; i < points.length; i++) {
    const a = points[i];
    const b = points[(i + 1) % points.length];
    drawLine(img, a[0], a[1], b[0], b[1], thickness, c);
  }
}

/**
 * Row spans [y, x0, x1) of the pixels whose centres lie inside the polygon (even-odd rule), clipped
 * to width x height. Computed once per polygon and image size; filling then costs only the blend.
 */
export function polygonSpans(points: ReadonlyArray<readonly [number, number]>, width: number, height: number): Int32Array {
  const out: number[] = [];
  if (points.length < 3) return new Int32Array(0);
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    minY = Math.min(minY, p[1]);
    maxY = Math.max(maxY, p[1]);
  }
  const ya = clamp(Math.ceil(minY - 0.5), 0, height);
  const yb = clamp(Math.floor(maxY - 0.5) + 1, 0, height);
  const xs: number[] = [];
  for (let y = ya; y < yb; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0; i < points.length; i++) {
      const [ax, ay] = points[i];
      const [bx, by] = points[(i + 1) % points.length];
      // Half-open in y so a vertex shared by two edges is counted once.
      if (ay <= cy === by <= cy) continue;
      xs.push(ax + ((cy - ay) * (bx - ax)) / (by - ay));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const x0 = clamp(Math.ceil(xs[k] - 0.5), 0, width);
      const x1 = clamp(Math.floor(xs[k + 1] - 0.5) + 1, 0, width);
      if (x1 > x0) out.push(y, x0, x1);
    }
  }
  return Int32Array.from(out);
}

/** Blends the spans from polygonSpans. */
export function blendSpans(img: RgbImage, spans: Int32Array, c: Rgb, alpha: number): void {
  for (let i = 0; i + 2 < spans.length; i += 3) blendSpan(img, spans[i], spans[i + 1], spans[i + 2], c, alpha);
}

/**
 * Blends a COCO RLE mask (column-major runs, the first a run of zeros) into the image. A mask of
 * another size than the image (a source that changed resolution) is skipped: its pixels would land
 * in the wrong places. Returns the number of pixels blended.
 */
export function blendRle(img: RgbImage, rle: MaskRle, c: Rgb, alpha: number): number {
  const [h, w] = rle.size;
  if (h !== img.height || w !== img.width) return 0;
  const d = img.data;
  const keep = OPAQUE - alpha;
  const r = c[0] * alpha;
  const g = c[1] * alpha;
  const b = c[2] * alpha;
  const stride = w * 3;
  const total = w * h;
  let p = 0;
  let blended = 0;
  for (let i = 0; i < rle.counts.length && p < total; i++) {
    const end = Math.min(p + rle.counts[i], total);
    if (i % 2 === 1) {
      // A run walks down columns and may wrap into the next one.
      let x = (p / h) | 0;
      let y = p - x * h;
      let q = (y * w + x) * 3;
      for (let k = p; k < end; k++) {
        d[q] = (d[q] * keep + r) >> 8;
        d[q + 1] = (d[q + 1] * keep + g) >> 8;
        d[q + 2] = (d[q + 2] * keep + b) >> 8;
        if (++y === h) {
          y = 0;
          x++;
          q = x * 3;
        } else q += stride;
      }
      blended += end - p;
    }
    p = end;
  }
  return blended;
}

/** Copies the region [x0, x1) x [y0, y1) (clipped) into a new image; undefined when empty. */
export function cropImage(img: RgbImage, x0: number, y0: number, x1: number, y1: number): RgbImage | undefined {
  const xa = clamp(Math.floor(x0), 0, img.width);
  const xb = clamp(Math.ceil(x1), 0, img.width);
  const ya = clamp(Math.floor(y0), 0, img.height);
  const yb = clamp(Math.ceil(y1), 0, img.height);
  if (xa >= xb || ya >= yb) return undefined;
  const out = { width: xb - xa, height: yb - ya, data: new Uint8Array((xb - xa) * (yb - ya) * 3) };
  for (let y = ya; y < yb; y++) out.data.set(img.data.subarray((y * img.width + xa) * 3, (y * img.width + xb) * 3), (y - ya) * out.width * 3);
  return out;
}

/**
 * Area-averaged downscale so the longer side is at most `maxSide` (images already that small are
 * returned as they are). Each output pixel is the mean of the source pixels it covers.
 */
export function shrinkImage(img: RgbImage, maxSide: number): RgbImage {
  const f = Math.max(img.width, img.height) / maxSide;
  if (f <= 1) return img;
  const w = Math.max(1, Math.round(img.width / f));
  const h = Math.max(1, Math.round(img.height / f));
  const out = { width: w, height: h, data: new Uint8Array(w * h * 3) };
  for (let oy = 0; oy < h; oy++) {
    const ya = Math.floor((oy * img.height) / h);
    const yb = Math.max(ya + 1, Math.floor(((oy + 1) * img.height) / h));
    for (let ox = 0; ox < w; ox++) {
      const xa = Math.floor((ox * img.width) / w);
      const xb = Math.max(xa + 1, Math.floor(((ox + 1) * img.width) / w));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = ya; y < yb; y++) {
        for (let p = (y * img.width + xa) * 3, e = (y * img.width + xb) * 3; p < e; p += 3) {
          r += img.data[p];
          g += img.data[p + 1];
          b += img.data[p + 2];
        }
      }
      const n = (yb - ya) * (xb - xa);
      const q = (oy * w + ox) * 3;
      out.data[q] = Math.round(r / n);
      out.data[q + 1] = Math.round(g / n);
      out.data[q + 2] = Math.round(b / n);
    }
  }
  return out;
}
