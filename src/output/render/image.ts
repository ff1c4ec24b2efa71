/**
 * Drawing into a source frame in the decoder's format, yuv420p (yuv.ts): a full-size Y plane and
 * U and V planes at half the width and height (rounded up). Pure: every primitive clips to the image
 * and writes only the pixels it covers. Coordinates are integer luma pixels; a rectangle
 * [x0, x1) x [y0, y1) covers columns x0..x1-1 and rows y0..y1-1.
 *
 * One chroma sample serves a 2x2 block of luma pixels, so an edge at an odd coordinate cuts a block.
 * Two rules, by what is drawn:
 *  - opaque shapes (fillRect and what is built on it: boxes, lines, trails, tag backgrounds) set
 *    every block they touch, so each drawn pixel shows exactly its colour; the cost is a colour
 *    fringe at most one pixel wide beside an odd edge (its luma untouched, so the edge stays sharp);
 *  - coverage blends (masks, zone fills, text) mix a block's chroma by the share of its pixels
 *    covered, as an area average does: a blended mask's edge is not coloured beyond the mask.
 *
 * Alpha is an integer 0..256 (256 = opaque): blending is `(src * (256 - a) + colour * a) >> 8` on
 * each plane, which stays in integers and is exact at both ends.
 */
import type { MaskRle } from '../../types.js';
import { toRgbCoefficients } from '../../ingest/yuv.js';
import { chromaSize, yuv420Bytes, yuvOf, yuvToRgb, type Rgb, type Yuv, type YuvMatrix } from './yuv.js';

export type { Rgb } from './yuv.js';

export interface YuvImage {
  width: number;
  height: number;
  /** yuv420Bytes(width, height) bytes: the Y plane, then U, then V. */
  data: Uint8Array;
  /** How the colours given to the primitives are turned into Y, U and V. */
  matrix: YuvMatrix;
}

/** An RGB image (HWC, 3 bytes per pixel): the report's thumbnails. */
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

export const OPAQUE = 256;

export function createImage(width: number, height: number, fill: Rgb = [0, 0, 0], matrix: YuvMatrix = 'bt601'): YuvImage {
  const img: YuvImage = { width, height, data: new Uint8Array(yuv420Bytes(width, height)), matrix };
  fillRect(img, 0, 0, width, height, fill);
  return img;
}

/** Wraps an existing buffer (e.g. a decoded frame) without copying. */
export function wrapImage(width: number, height: number, data: Uint8Array, matrix: YuvMatrix): YuvImage {
  if (data.length !== yuv420Bytes(width, height)) throw new Error(`wrapImage: ${data.length} bytes for ${width}x${height} yuv420p`);
  return { width, height, data, matrix };
}

/** Offsets of the U and V planes and the chroma row length. */
function planes(img: YuvImage): { u: number; v: number; cw: number; ch: number } {
  const [cw, ch] = chromaSize(img.width, img.height);
  const u = img.width * img.height;
  return { u, v: u + cw * ch, cw, ch };
}

/** [Y, U, V] at a pixel (U and V of its 2x2 block). */
export function pixelAt(img: YuvImage, x: number, y: number): [number, number, number] {
  const p = planes(img);
  const c = (y >> 1) * p.cw + (x >> 1);
  return [img.data[y * img.width + x], img.data[p.u + c], img.data[p.v + c]];
}

/** The colour of a pixel as RGB (the inverse of the matrix; exact for colours a primitive set). */
export function rgbAt(img: YuvImage, x: number, y: number): [number, number, number] {
  const [yy, u, v] = pixelAt(img, x, y);
  return yuvToRgb(yy, u, v, img.matrix);
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Opaque fill of [x0, x1) x [y0, y1), and of every chroma block it touches. */
export function fillRect(img: YuvImage, x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
  const xa = clamp(Math.round(x0), 0, img.width);
  const xb = clamp(Math.round(x1), 0, img.width);
  const ya = clamp(Math.round(y0), 0, img.height);
  const yb = clamp(Math.round(y1), 0, img.height);
  if (xa >= xb || ya >= yb) return;
  const [Y, U, V] = yuvOf(c, img.matrix);
  const d = img.data;
  const w = img.width;
  const p = planes(img);
  const ca = xa >> 1;
  const cb = (xb + 1) >> 1;
  if (xb - xa > 16) {
    for (let y = ya; y < yb; y++) d.fill(Y, y * w + xa, y * w + xb);
    for (let cy = ya >> 1, end = (yb + 1) >> 1; cy < end; cy++) {
      d.fill(U, p.u + cy * p.cw + ca, p.u + cy * p.cw + cb);
      d.fill(V, p.v + cy * p.cw + ca, p.v + cy * p.cw + cb);
    }
    return;
  }
  // Narrow (box sides, line pens): a byte loop beats a fill() call per row.
  for (let y = ya; y < yb; y++) for (let q = y * w + xa, end = y * w + xb; q < end; q++) d[q] = Y;
  for (let cy = ya >> 1, end = (yb + 1) >> 1; cy < end; cy++) {
    for (let q = cy * p.cw + ca, e = cy * p.cw + cb; q < e; q++) {
      d[p.u + q] = U;
      d[p.v + q] = V;
    }
  }
}

/**
 * Counts, per chroma block of a region, the luma pixels a coverage blend covered, then blends each
 * block's chroma by alpha times the covered share of the block's pixels inside the image.
 */
class ChromaCoverage {
  private readonly counts: Uint8Array;
  private readonly w: number;

  constructor(
    private readonly cx0: number,
    private readonly cy0: number,
    cx1: number,
    cy1: number,
  ) {
    this.w = Math.max(0, cx1 - cx0);
    this.counts = new Uint8Array(this.w * Math.max(0, cy1 - cy0));
  }

  add(x: number, y: number): void {
    this.counts[((y >> 1) - this.cy0) * this.w + (x >> 1) - this.cx0]++;
  }

  /** Row y, columns [xa, xb). */
  addSpan(y: number, xa: number, xb: number): void {
    const row = ((y >> 1) - this.cy0) * this.w - this.cx0;
    for (let x = xa; x < xb; x++) this.counts[row + (x >> 1)]++;
  }

  blend(img: YuvImage, c: Yuv, alpha: number): void {
    const p = planes(img);
    const d = img.data;
    const rows = this.w === 0 ? 0 : this.counts.length / this.w;
    for (let j = 0; j < rows; j++) {
      const cy = this.cy0 + j;
      const tall = 2 * cy + 1 < img.height ? 2 : 1;
      for (let i = 0; i < this.w; i++) {
        const k = this.counts[j * this.w + i];
        if (k === 0) continue;
        const cx = this.cx0 + i;
        const n = (2 * cx + 1 < img.width ? 2 : 1) * tall;
        const a = k >= n ? alpha : ((alpha * k) / n) | 0;
        const keep = OPAQUE - a;
        const q = cy * p.cw + cx;
        d[p.u + q] = (d[p.u + q] * keep + c[1] * a) >> 8;
        d[p.v + q] = (d[p.v + q] * keep + c[2] * a) >> 8;
      }
    }
  }
}

/** Translucent fill of [x0, x1) x [y0, y1) with alpha 0..256 (a coverage blend). */
export function blendRect(img: YuvImage, x0: number, y0: number, x1: number, y1: number, c: Rgb, alpha: number): void {
  const xa = clamp(Math.round(x0), 0, img.width);
  const xb = clamp(Math.round(x1), 0, img.width);
  const ya = clamp(Math.round(y0), 0, img.height);
  const yb = clamp(Math.round(y1), 0, img.height);
  const spans: number[] = [];
  if (xa < xb) for (let y = ya; y < yb; y++) spans.push(y, xa, xb);
  blendSpans(img, Int32Array.from(spans), c, alpha);
}

/**
 * Outline of a box [x1, y1, x2, y2] (continuous pixel coordinates) with a line `thickness` pixels
 * wide centred on each edge, so the colour lies on the box's boundary itself.
 */
export function strokeBox(img: YuvImage, box: readonly [number, number, number, number], thickness: number, c: Rgb): void {
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
export function drawLine(img: YuvImage, xa: number, ya: number, xb: number, yb: number, thickness: number, c: Rgb): void {
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
export function strokePolygon(img: YuvImage, points: ReadonlyArray<readonly [number, number]>, thickness: number, c: Rgb): void {
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

/**
 * Blends row spans [y, x0, x1) (inside the image, not overlapping: polygonSpans, glyph runs) with
 * alpha 0..256, a coverage blend; opaque at 256.
 */
export function blendSpans(img: YuvImage, spans: Int32Array, c: Rgb, alpha: number): void {
  new SpanFill(spans).blend(img, c, alpha);
}

/** Row spans with their chroma coverage counted once: a zone's fill, blended into every frame. */
export class SpanFill {
  private readonly coverage: ChromaCoverage | undefined;

  constructor(private readonly spans: Int32Array) {
    if (spans.length < 3) return;
    let cx0 = Infinity;
    let cx1 = -Infinity;
    let cy0 = Infinity;
    let cy1 = -Infinity;
    for (let i = 0; i + 2 < spans.length; i += 3) {
      cy0 = Math.min(cy0, spans[i] >> 1);
      cy1 = Math.max(cy1, (spans[i] >> 1) + 1);
      cx0 = Math.min(cx0, spans[i + 1] >> 1);
      cx1 = Math.max(cx1, (spans[i + 2] + 1) >> 1);
    }
    this.coverage = new ChromaCoverage(cx0, cy0, cx1, cy1);
    for (let i = 0; i + 2 < spans.length; i += 3) this.coverage.addSpan(spans[i], spans[i + 1], spans[i + 2]);
  }

  /** Blends into an image of the size the spans were made for. */
  blend(img: YuvImage, c: Rgb, alpha: number): void {
    if (!this.coverage) return;
    const spans = this.spans;
    const col = yuvOf(c, img.matrix);
    const d = img.data;
    const keep = OPAQUE - alpha;
    const lum = col[0] * alpha;
    for (let i = 0; i + 2 < spans.length; i += 3) {
      const row = spans[i] * img.width;
      if (alpha >= OPAQUE) d.fill(col[0], row + spans[i + 1], row + spans[i + 2]);
      else for (let p = row + spans[i + 1], end = row + spans[i + 2]; p < end; p++) d[p] = (d[p] * keep + lum) >> 8;
    }
    this.coverage.blend(img, col, Math.min(alpha, OPAQUE));
  }
}

/**
 * Blends a COCO RLE mask (column-major runs, the first a run of zeros) into the image, a coverage
 * blend. A mask of another size than the image (a source that changed resolution) is skipped: its
 * pixels would land in the wrong places. Returns the number of pixels blended.
 */
export function blendRle(img: YuvImage, rle: MaskRle, c: Rgb, alpha: number): number {
  const [h, w] = rle.size;
  if (h !== img.height || w !== img.width) return 0;
  const total = w * h;
  // The mask's extent in chroma blocks, from its runs alone.
  let x0 = Infinity;
  let x1 = -1;
  let y0 = Infinity;
  let y1 = -1;
  for (let i = 1, p = rle.counts[0] ?? 0; i < rle.counts.length && p < total; p += rle.counts[i] + (rle.counts[i + 1] ?? 0), i += 2) {
    const end = Math.min(p + rle.counts[i], total);
    if (end <= p) continue;
    const xa = (p / h) | 0;
    const xb = ((end - 1) / h) | 0;
    x0 = Math.min(x0, xa);
    x1 = Math.max(x1, xb);
    if (xa === xb) {
      y0 = Math.min(y0, p - xa * h);
      y1 = Math.max(y1, end - 1 - xa * h);
    } else {
      y0 = 0;
      y1 = h - 1;
    }
  }
  if (x1 < 0) return 0;
  const cov = new ChromaCoverage(x0 >> 1, y0 >> 1, (x1 >> 1) + 1, (y1 >> 1) + 1);
  const col = yuvOf(c, img.matrix);
  const d = img.data;
  const keep = OPAQUE - alpha;
  const lum = col[0] * alpha;
  let p = 0;
  let blended = 0;
  for (let i = 0; i < rle.counts.length && p < total; i++) {
    const end = Math.min(p + rle.counts[i], total);
    if (i % 2 === 1) {
      // A run walks down columns and may wrap into the next one.
      let x = (p / h) | 0;
      let y = p - x * h;
      for (let k = p; k < end; k++) {
        const q = y * w + x;
        d[q] = (d[q] * keep + lum) >> 8;
        cov.add(x, y);
        if (++y === h) {
          y = 0;
          x++;
        }
      }
      blended += end - p;
    }
    p = end;
  }
  cov.blend(img, col, alpha);
  return blended;
}

/** The region [x0, x1) x [y0, y1) (clipped) as a new RGB image; undefined when empty. */
export function cropRgb(img: YuvImage, x0: number, y0: number, x1: number, y1: number): RgbImage | undefined {
  const xa = clamp(Math.floor(x0), 0, img.width);
  const xb = clamp(Math.ceil(x1), 0, img.width);
  const ya = clamp(Math.floor(y0), 0, img.height);
  const yb = clamp(Math.ceil(y1), 0, img.height);
  if (xa >= xb || ya >= yb) return undefined;
  const out = { width: xb - xa, height: yb - ya, data: new Uint8Array((xb - xa) * (yb - ya) * 3) };
  const p = planes(img);
  const d = img.data;
  const k = toRgbCoefficients(img.matrix);
  const byte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  let q = 0;
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const c = (y >> 1) * p.cw + (x >> 1);
      const l = k.y * (d[y * img.width + x] - 16);
      const u = d[p.u + c] - 128;
      const v = d[p.v + c] - 128;
      out.data[q++] = byte(l + k.rv * v);
      out.data[q++] = byte(l - k.gu * u - k.gv * v);
      out.data[q++] = byte(l + k.bu * u);
    }
  }
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
