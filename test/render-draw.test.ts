/**
 * Drawing into yuv420p frame buffers: every primitive checked pixel by pixel against a direct
 * definition, on the Y plane and on the half-resolution chroma planes.
 */
import { describe, expect, it } from 'vitest';
import {
  blendRect,
  blendRle,
  blendSpans,
  createImage,
  cropRgb,
  drawLine,
  fillRect,
  pixelAt,
  polygonSpans,
  rgbAt,
  shrinkImage,
  strokeBox,
  type Rgb,
  type YuvImage,
} from '../src/output/render/image.js';
import { declaredColorSpace, matrixOf, rgbToYuv, yuv420Bytes, yuvOf, yuvToRgb, type YuvMatrix } from '../src/output/render/yuv.js';
import { ADVANCE, drawText, GLYPH_HEIGHT, hasGlyph, textWidth } from '../src/output/render/font.js';
import { BLACK, classRgb, contrastRatio, cssHex, textRgbOn, WHITE } from '../src/output/render/palette.js';
import { analyticsOverlay, FrameAnnotator, styleFor, type AnalyticsOverlay } from '../src/output/render/annotate.js';
import { TrackTrails } from '../src/geometry/trails.js';
import { decodeRle, encodeRle } from '../src/infer/adapters/rle.js';
import { uniformRng } from '../src/tools/synth/prng.js';
import type { Detection, FrameResult } from '../src/types.js';

const BG: Rgb = [10, 20, 30];
const RED: Rgb = [255, 0, 0];
const yuv = (c: Rgb, m: YuvMatrix = 'bt601'): number[] => [...yuvOf(c, m)];

/** Pixels whose luma differs from the background colour's. */
function changed(img: YuvImage, bg: Rgb = BG): Set<string> {
  const out = new Set<string>();
  const y0 = yuvOf(bg, img.matrix)[0];
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (img.data[y * img.width + x] !== y0) out.add(`${x},${y}`);
  return out;
}

/** Chroma blocks (cx,cy) whose U or V differs from the background colour's. */
function chromaChanged(img: YuvImage, bg: Rgb = BG): Set<string> {
  const out = new Set<string>();
  const [, u0, v0] = yuvOf(bg, img.matrix);
  const cw = (img.width + 1) >> 1;
  const ch = (img.height + 1) >> 1;
  const u = img.width * img.height;
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      if (img.data[u + cy * cw + cx] !== u0 || img.data[u + cw * ch + cy * cw + cx] !== v0) out.add(`${cx},${cy}`);
    }
  }
  return out;
}

/** The chroma blocks a set of luma pixels touches. */
const blocksOf = (pixels: Set<string>): Set<string> =>
  new Set([...pixels].map((k) => k.split(',').map(Number)).map(([x, y]) => `${x >> 1},${y >> 1}`));

/**
 * What a coverage blend (masks, zone fills, text) must leave in a chroma block: the background
 * mixed with the colour by alpha times the share of the block's pixels (inside the image) covered.
 */
function coverageChroma(img: YuvImage, covered: Set<string>, cx: number, cy: number, bg: Rgb, c: Rgb, alpha: number): [number, number] {
  let k = 0;
  let n = 0;
  for (const [x, y] of [[2 * cx, 2 * cy], [2 * cx + 1, 2 * cy], [2 * cx, 2 * cy + 1], [2 * cx + 1, 2 * cy + 1]]) {
    if (x >= img.width || y >= img.height) continue;
    n++;
    if (covered.has(`${x},${y}`)) k++;
  }
  const a = k >= n ? alpha : Math.floor((alpha * k) / n);
  const [, bu, bv] = yuvOf(bg, img.matrix);
  const [, cu, cv] = yuvOf(c, img.matrix);
  return [(bu * (256 - a) + cu * a) >> 8, (bv * (256 - a) + cv * a) >> 8];
}

function expectCoverageBlend(img: YuvImage, covered: Set<string>, bg: Rgb, c: Rgb, alpha: number): void {
  const cw = (img.width + 1) >> 1;
  const ch = (img.height + 1) >> 1;
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      const [, u, v] = pixelAt(img, 2 * cx, 2 * cy);
      expect([u, v], `block ${cx},${cy}`).toEqual(coverageChroma(img, covered, cx, cy, bg, c, alpha));
    }
  }
}

function rectSet(x0: number, y0: number, x1: number, y1: number): Set<string> {
  const s = new Set<string>();
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s.add(`${x},${y}`);
  return s;
}

describe('colours in YUV', () => {
  it('turns palette colours into limited-range Y, U, V by the source matrix, and back', () => {
    // Reference values (ITU-R BT.601 and BT.709, 8-bit limited range).
    expect(rgbToYuv([255, 255, 255], 'bt601')).toEqual([235, 128, 128]);
    expect(rgbToYuv([0, 0, 0], 'bt709')).toEqual([16, 128, 128]);
    expect(rgbToYuv([255, 0, 0], 'bt601')).toEqual([81, 90, 240]);
    expect(rgbToYuv([255, 0, 0], 'bt709')).toEqual([63, 102, 240]);
    expect(rgbToYuv([0, 0, 255], 'bt709')).toEqual([32, 240, 118]);
    for (const m of ['bt601', 'bt709', 'bt2020'] as const) {
      for (let k = 0; k < 20; k++) {
        const c = classRgb(k);
        const back = yuvToRgb(...rgbToYuv(c, m), m);
        back.forEach((v, i) => expect(Math.abs(v - c[i])).toBeLessThanOrEqual(3));
      }
    }
    expect(matrixOf('bt709')).toBe('bt709');
    expect(matrixOf('bt2020nc')).toBe('bt2020');
    expect(matrixOf(undefined)).toBe('bt601');
    expect(matrixOf('smpte170m')).toBe('bt601');
    // An RGB source is converted with BT.601 and the video declares no matrix of its own.
    expect(matrixOf('gbr')).toBe('bt601');
    expect(declaredColorSpace('gbr')).toBeUndefined();
    expect(declaredColorSpace('bt709')).toBe('bt709');
  });

  it('lays out odd-sized frames as ffmpeg does: chroma planes of half the size rounded up', () => {
    expect(yuv420Bytes(4, 2)).toBe(8 + 2 * 2);
    expect(yuv420Bytes(5, 3)).toBe(15 + 2 * 3 * 2);
    const img = createImage(5, 3, RED);
    expect(img.data.length).toBe(27);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) expect(pixelAt(img, x, y)).toEqual(yuv(RED));
  });
});

describe('rectangles', () => {
  it('fillRect covers exactly [x0, x1) x [y0, y1) in Y and every chroma block it touches, clipped to the image', () => {
    for (const [w, h] of [[20, 12], [21, 13]]) {
      for (const [x0, y0, x1, y1] of [
        [2, 3, 9, 7],
        [3, 3, 4, 4],
        [-5, -5, 3, 2],
        [15, 10, 40, 40],
        [4, 4, 5, 5],
        [6, 6, 6, 9],
        [19, 11, 21, 13],
      ]) {
        const img = createImage(w, h, BG);
        fillRect(img, x0, y0, x1, y1, RED);
        const want = rectSet(Math.max(0, x0), Math.max(0, y0), Math.min(w, x1), Math.min(h, y1));
        expect(changed(img)).toEqual(want);
        expect(chromaChanged(img)).toEqual(blocksOf(want));
        // Every drawn pixel shows exactly the colour, whatever its parity.
        for (const key of want) {
          const [x, y] = key.split(',').map(Number);
          expect(pixelAt(img, x, y)).toEqual(yuv(RED));
        }
      }
    }
  });

  it('blendRect mixes each plane in integers: (src * (256 - a) + c * a) >> 8, opaque at 256', () => {
    const under: Rgb = [200, 100, 0];
    const over: Rgb = [0, 255, 100];
    const img = createImage(4, 4, under);
    blendRect(img, 0, 0, 2, 2, over, 64);
    const [a, b] = [yuv(under), yuv(over)];
    expect(pixelAt(img, 1, 1)).toEqual(a.map((v, i) => (v * 192 + b[i] * 64) >> 8));
    expect(pixelAt(img, 2, 2)).toEqual(a);
    blendRect(img, 0, 0, 4, 4, [1, 2, 3], 256);
    expect(pixelAt(img, 3, 3)).toEqual(yuv([1, 2, 3]));
    blendRect(img, 0, 0, 4, 4, [200, 200, 200], 0);
    expect(pixelAt(img, 3, 3)).toEqual(yuv([1, 2, 3]));
  });

  it('blendRect at odd coordinates blends the chroma of the blocks it cuts by the share covered', () => {
    const img = createImage(9, 7, BG);
    blendRect(img, 1, 1, 6, 4, RED, 128);
    const covered = rectSet(1, 1, 6, 4);
    expect(changed(img)).toEqual(covered);
    expectCoverageBlend(img, covered, BG, RED, 128);
  });

  it('strokeBox centres a t-wide line on each edge and leaves the inside alone', () => {
    for (const t of [1, 2, 3, 4]) {
      const img = createImage(40, 30, BG);
      const box: [number, number, number, number] = [10, 8, 25, 20];
      strokeBox(img, box, t, RED);
      const b = Math.floor(t / 2);
      const want = new Set<string>();
      for (let y = 8 - b; y < 20 - b + t; y++) {
        for (let x = 10 - b; x < 25 - b + t; x++) {
          const onVertical = (x >= 10 - b && x < 10 - b + t) || (x >= 25 - b && x < 25 - b + t);
          const onHorizontal = (y >= 8 - b && y < 8 - b + t) || (y >= 20 - b && y < 20 - b + t);
          if (onVertical || onHorizontal) want.add(`${x},${y}`);
        }
      }
      expect(changed(img)).toEqual(want);
      expect(chromaChanged(img)).toEqual(blocksOf(want));
      // The box's own corner pixels carry the colour.
      expect(pixelAt(img, 10, 8)).toEqual(yuv(RED));
      expect(pixelAt(img, 25, 20)).toEqual(yuv(RED));
    }
  });

  it('strokeBox rounds fractional boxes and clips boxes that leave the frame', () => {
    const img = createImage(20, 20, BG);
    strokeBox(img, [-10.4, 5.6, 10.2, 40], 2, RED);
    // Left edge is outside; top edge at round(5.6) = 6 minus 1; right edge at 10 - 1.
    expect(pixelAt(img, 0, 5)).toEqual(yuv(RED));
    expect(pixelAt(img, 0, 6)).toEqual(yuv(RED));
    expect(pixelAt(img, 0, 7)[0]).toEqual(yuv(BG)[0]);
    expect(pixelAt(img, 9, 12)).toEqual(yuv(RED));
    expect(pixelAt(img, 10, 12)).toEqual(yuv(RED));
    expect(pixelAt(img, 11, 12)[0]).toEqual(yuv(BG)[0]);
    expect(pixelAt(img, 5, 12)).toEqual(yuv(BG));
  });
});

describe('lines', () => {
  it('a 1-pixel line has one pixel per step along its major axis and hits both ends', () => {
    const img = createImage(30, 30, BG);
    drawLine(img, 2, 3, 22, 13, 1, RED);
    const px = changed(img);
    expect(px.size).toBe(21);
    expect(px.has('2,3')).toBe(true);
    expect(px.has('22,13')).toBe(true);
    for (const key of px) {
      const [x, y] = key.split(',').map(Number);
      // Within half a pixel of the ideal line y = 3 + (x - 2) / 2.
      expect(Math.abs(y - (3 + (x - 2) / 2))).toBeLessThanOrEqual(0.5);
      expect(pixelAt(img, x, y)).toEqual(yuv(RED));
    }
  });

  it('a thick horizontal line is t rows tall, centred', () => {
    const img = createImage(30, 30, BG);
    drawLine(img, 5, 10, 20, 10, 3, RED);
    expect(changed(img)).toEqual(rectSet(4, 9, 22, 12));
  });

  it('a line far outside the image draws nothing and ends', () => {
    const img = createImage(10, 10, BG);
    drawLine(img, -1e5, -50, 1e5, -50, 3, RED);
    expect(changed(img).size).toBe(0);
    expect(chromaChanged(img).size).toBe(0);
  });
});

describe('polygons', () => {
  /** Even-odd point-in-polygon at the pixel centre, the definition polygonSpans follows. */
  function inside(points: Array<[number, number]>, px: number, py: number): boolean {
    let c = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i];
      const [xj, yj] = points[j];
      if (yi <= py !== yj <= py && px < xi + ((py - yi) * (xj - xi)) / (yj - yi)) c = !c;
    }
    return c;
  }

  it('fills exactly the pixels whose centres are inside (random polygons, brute force), chroma by coverage', () => {
    const r = uniformRng(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 3 + Math.floor(r() * 5);
      const pts: Array<[number, number]> = Array.from({ length: n }, () => [r() * 60 - 10, r() * 50 - 10]);
      const [w, h] = trial % 2 ? [40, 30] : [41, 31];
      const alpha = trial % 3 ? 256 : 100;
      const img = createImage(w, h, BG);
      blendSpans(img, polygonSpans(pts, w, h), RED, alpha);
      const want = new Set<string>();
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (inside(pts, x + 0.5, y + 0.5)) want.add(`${x},${y}`);
      expect(changed(img)).toEqual(want);
      expectCoverageBlend(img, want, BG, RED, alpha);
    }
  });

  it('fewer than three points is no area', () => {
    expect(polygonSpans([[0, 0], [10, 10]], 20, 20).length).toBe(0);
  });
});

describe('masks', () => {
  it('blendRle blends exactly the mask pixels, including runs that wrap into the next column; chroma by coverage', () => {
    const r = uniformRng(11);
    for (const [w, h] of [[17, 13], [16, 12]]) {
      const mask = new Uint8Array(w * h);
      // Blobs plus a run from the bottom of column 4 into the top of column 5.
      for (let i = 0; i < mask.length; i++) mask[i] = r() < 0.3 ? 1 : 0;
      for (let y = 9; y < h; y++) mask[y * w + 4] = 1;
      for (let y = 0; y < 4; y++) mask[y * w + 5] = 1;
      const rle = encodeRle(mask, w, h);
      for (const alpha of [256, 115]) {
        const img = createImage(w, h, BG);
        const n = blendRle(img, rle, RED, alpha);
        const want = new Set<string>();
        const decoded = decodeRle(rle);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (decoded[y * w + x]) want.add(`${x},${y}`);
        expect(changed(img)).toEqual(want);
        expect(n).toBe(want.size);
        const by = yuv(BG)[0];
        for (const k of want) {
          const [x, y] = k.split(',').map(Number);
          expect(img.data[y * w + x]).toBe((by * (256 - alpha) + yuv(RED)[0] * alpha) >> 8);
        }
        expectCoverageBlend(img, want, BG, RED, alpha);
      }
    }
  });

  it('a small mask touches only its own blocks', () => {
    const [w, h] = [20, 20];
    const mask = new Uint8Array(w * h);
    mask[7 * w + 9] = 1;
    const img = createImage(w, h, BG);
    blendRle(img, encodeRle(mask, w, h), RED, 256);
    expect(changed(img)).toEqual(new Set(['9,7']));
    expect(chromaChanged(img)).toEqual(new Set(['4,3']));
  });

  it('a mask of another size than the frame is not drawn', () => {
    const img = createImage(10, 10, BG);
    expect(blendRle(img, encodeRle(new Uint8Array(20 * 10).fill(1), 20, 10), RED, 256)).toBe(0);
    expect(changed(img).size).toBe(0);
  });
});

describe('crop and shrink', () => {
  it('cropRgb copies the clipped region as RGB', () => {
    const img = createImage(10, 8, BG);
    fillRect(img, 4, 2, 6, 4, RED);
    const c = cropRgb(img, 2.5, 1.2, 20, 5)!;
    expect([c.width, c.height]).toEqual([8, 4]);
    const at = (x: number, y: number): number[] => [...c.data.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3)];
    at(2, 1).forEach((v, i) => expect(Math.abs(v - RED[i])).toBeLessThanOrEqual(2));
    at(0, 3).forEach((v, i) => expect(Math.abs(v - BG[i])).toBeLessThanOrEqual(2));
    expect(rgbAt(img, 4, 2)).toEqual(at(2, 1));
    expect(cropRgb(img, 12, 0, 15, 3)).toBeUndefined();
  });

  it('shrinkImage averages the pixels each output pixel covers', () => {
    const img = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3) };
    img.data.set([200, 100, 40], 0);
    const s = shrinkImage(img, 2);
    expect([s.width, s.height]).toEqual([2, 1]);
    expect([...s.data]).toEqual([50, 25, 10, 0, 0, 0]);
    expect(shrinkImage(img, 8)).toBe(img);
  });
});

describe('bitmap font', () => {
  it('draws a glyph as scale x scale squares at its font pixels', () => {
    const img = createImage(20, 30, BG);
    drawText(img, 1, 2, 'L', 2, RED);
    // 'L': the left column of 7 rows and the bottom row of 5 columns.
    const want = new Set([...rectSet(1, 2, 3, 16), ...rectSet(1, 14, 11, 16)]);
    expect(changed(img)).toEqual(want);
    // At an odd x the glyph's squares cut chroma blocks: those mix by the share covered.
    expectCoverageBlend(img, want, BG, RED, 256);
  });

  it('advances by 6 font pixels per character and measures without the trailing column', () => {
    expect(textWidth('', 3)).toBe(0);
    expect(textWidth('ab', 1)).toBe(2 * ADVANCE - 1);
    expect(textWidth('person 0.91', 3)).toBe((11 * ADVANCE - 1) * 3);
    const img = createImage(40, 12, BG);
    drawText(img, 0, 0, 'II', 1, RED);
    // 'I' has ink in columns 1..3; the second starts 6 columns later.
    const xs = [...changed(img)].map((k) => Number(k.split(',')[0]));
    expect(Math.min(...xs)).toBe(1);
    expect(Math.max(...xs)).toBe(ADVANCE + 3);
  });

  it('has every printable ASCII character, descends below the baseline, and draws others as "?"', () => {
    for (let c = 32; c < 127; c++) expect(hasGlyph(String.fromCharCode(c))).toBe(true);
    const g = createImage(10, 12, BG);
    drawText(g, 0, 0, 'g', 1, RED);
    const ys = [...changed(g)].map((k) => Number(k.split(',')[1]));
    expect(Math.max(...ys)).toBe(GLYPH_HEIGHT - 1);
    const a = createImage(10, 12, BG);
    const b = createImage(10, 12, BG);
    drawText(a, 0, 0, 'é', 1, RED);
    drawText(b, 0, 0, '?', 1, RED);
    expect(a.data).toEqual(b.data);
  });
});

describe('palette', () => {
  it('gives each class a stable colour, cycling after 20', () => {
    expect(classRgb(0)).toEqual(classRgb(20));
    expect(classRgb(3)).toEqual(classRgb(3));
    expect(classRgb(0)).not.toEqual(classRgb(1));
    expect(cssHex([255, 56, 0])).toBe('#ff3800');
  });

  it('writes labels in black or white, whichever reads better, at WCAG AA contrast at least', () => {
    for (let cls = 0; cls < 20; cls++) {
      const bg = classRgb(cls);
      const text = textRgbOn(bg);
      const other = text === BLACK ? WHITE : BLACK;
      expect(contrastRatio(bg, text)).toBeGreaterThanOrEqual(contrastRatio(bg, other));
      expect(contrastRatio(bg, text)).toBeGreaterThanOrEqual(4.5);
    }
    expect(textRgbOn([0, 24, 236])).toBe(WHITE);
    expect(textRgbOn([255, 178, 29])).toBe(BLACK);
  });
});

describe('trails', () => {
  const det = (id: number, x: number): Detection => ({ box: [x, 0, x + 10, 10], score: 1, class: 0, label: 'a', trackId: id });

  it('keeps the last N centres per track and forgets tracks not seen for a while', () => {
    const t = new TrackTrails({ length: 3, forgetAfterFrames: 2 });
    for (let f = 0; f < 5; f++) t.update(f, [det(1, f * 10), ...(f < 1 ? [det(2, 0)] : [])], (d) => d.trackId);
    expect(t.trail(1)).toEqual([[25, 5], [35, 5], [45, 5]]);
    expect(t.trail(2)).toEqual([]);
    expect(t.size).toBe(1);
  });
});

describe('FrameAnnotator', () => {
  const result = (index: number, detections: Detection[]): FrameResult => ({
    streamId: 's',
    seq: index,
    index,
    pts: index / 10,
    width: 320,
    height: 240,
    detections,
    timing: { captureTs: 0, stages: {} },
  });

  it('draws nothing on a frame without detections or analytics', () => {
    const img = createImage(320, 240, BG);
    new FrameAnnotator().draw(img, result(0, []));
    expect(changed(img).size).toBe(0);
  });

  it('draws the class colour along the box edges, the tag above it, and nothing elsewhere', () => {
    const img = createImage(320, 240, BG);
    const box: [number, number, number, number] = [100, 80, 200, 180];
    new FrameAnnotator().draw(img, result(0, [{ box, score: 0.876, class: 2, label: 'car' }]));
    const c = classRgb(2);
    const { thickness: t, fontScale: s } = styleFor(320, 240);
    for (let x = 100; x <= 200; x += 5) {
      expect(pixelAt(img, x, 180)).toEqual(yuv(c));
    }
    for (let y = 80; y <= 180; y += 5) {
      expect(pixelAt(img, 100, y)).toEqual(yuv(c));
      expect(pixelAt(img, 200, y)).toEqual(yuv(c));
    }
    // The tag sits on the top edge: its background is the class colour, its text black or white.
    const tagH = GLYPH_HEIGHT * s + 2 * s;
    const tagW = textWidth('car 0.88', s) + 2 * s;
    // The tag's corner moves to even coordinates (whole chroma blocks for the text), growing by that pixel.
    const ty = 80 - Math.floor(t / 2) - tagH;
    const tx = 100 - Math.floor(t / 2);
    const [left, top, right, bottom] = [tx & ~1, ty & ~1, tx + tagW, ty + tagH];
    expect(pixelAt(img, left, top)).toEqual(yuv(c));
    const inkInTag = [...changed(img, c)].filter((k) => {
      const [x, y] = k.split(',').map(Number);
      return x >= left && x < right && y >= top && y < bottom;
    });
    expect(inkInTag.length).toBeGreaterThan(20);
    for (const k of inkInTag) {
      const [x, y] = k.split(',').map(Number);
      expect(pixelAt(img, x, y)[0]).toEqual(yuv(textRgbOn(c))[0]);
    }
    // Everything drawn lies on the stroke or in the tag.
    const b = Math.floor(t / 2);
    for (const k of changed(img)) {
      const [x, y] = k.split(',').map(Number);
      const inTag = x >= left && x < right && y >= top && y < bottom;
      const onStroke = x >= 100 - b && x < 200 - b + t && y >= 80 - b && y < 180 - b + t && !(x >= 100 - b + t && x < 200 - b && y >= 80 - b + t && y < 180 - b);
      expect(inTag || onStroke).toBe(true);
    }
    // Colour reaches no further than the chroma blocks of what was drawn.
    expect([...chromaChanged(img)].every((b) => blocksOf(changed(img)).has(b))).toBe(true);
  });

  it('shows the track id in the tag and a trail through the earlier centres', () => {
    const a = new FrameAnnotator();
    let img = createImage(320, 240, BG);
    for (let f = 0; f < 10; f++) {
      img = createImage(320, 240, BG);
      a.draw(img, result(f, [{ box: [20 + f * 10, 100, 60 + f * 10, 140], score: 0.9, class: 0, label: 'p', trackId: 7 }]));
    }
    // The first centre (40, 120) is far behind the last box (110..150): only the trail can reach it.
    expect(pixelAt(img, 40, 120)).toEqual(yuv(classRgb(0)));
    expect(pixelAt(img, 80, 120)).toEqual(yuv(classRgb(0)));
    // Without the id the same frame has no trail and a shorter tag.
    const plain = createImage(320, 240, BG);
    new FrameAnnotator().draw(plain, result(9, [{ box: [110, 100, 150, 140], score: 0.9, class: 0, label: 'p' }]));
    expect(pixelAt(plain, 40, 120)).toEqual(yuv(BG));
    expect(changed(img).size).toBeGreaterThan(changed(plain).size);
    a.reset();
    const afterReset = createImage(320, 240, BG);
    a.draw(afterReset, result(10, [{ box: [110, 100, 150, 140], score: 0.9, class: 0, label: 'p', trackId: 7 }]));
    expect(pixelAt(afterReset, 40, 120)).toEqual(yuv(BG));
  });

  it('blends masks in the class colour, in the source matrix', () => {
    const mask = new Uint8Array(320 * 240);
    for (let y = 50; y < 70; y++) for (let x = 30; x < 60; x++) mask[y * 320 + x] = 1;
    for (const m of ['bt601', 'bt709'] as const) {
      const img = createImage(320, 240, [0, 0, 0], m);
      new FrameAnnotator({ maskOpacity: 0.5 }).draw(img, result(0, [{ box: [30, 50, 60, 70], score: 0.9, class: 1, label: 'm', mask: encodeRle(mask, 320, 240) }]));
      const c = yuv(classRgb(1), m);
      const black = yuv([0, 0, 0], m);
      expect(pixelAt(img, 45, 60)).toEqual(c.map((v, i) => (v * 128 + black[i] * 128) >> 8));
      expect(pixelAt(img, 45, 100)).toEqual(black);
    }
  });

  it('scales the boxes of results at another size than the image (a source that changed resolution) and leaves their masks out', () => {
    const img = createImage(320, 240, BG);
    const r = { ...result(0, [{ box: [200, 160, 400, 360] as [number, number, number, number], score: 0.9, class: 4, label: 'x', mask: encodeRle(new Uint8Array(640 * 480).fill(1), 640, 480) }]), width: 640, height: 480 };
    new FrameAnnotator().draw(img, r);
    expect(pixelAt(img, 100, 130)).toEqual(yuv(classRgb(4)));
    expect(pixelAt(img, 200, 130)).toEqual(yuv(classRgb(4)));
    expect(pixelAt(img, 150, 130)).toEqual(yuv(BG));
    expect(pixelAt(img, 10, 230)).toEqual(yuv(BG));
  });

  it('words the running counts of zones and lines from the latest AnalyticsCounts (totals over labels)', () => {
    const geometry = { zones: [{ name: 'bay', polygon: [[0, 0], [10, 0], [10, 10]] as Array<[number, number]> }], lines: [{ name: 'door', from: [0, 5] as [number, number], to: [10, 5] as [number, number] }] };
    const o = analyticsOverlay(geometry, { zones: { bay: { person: 2, car: 1 } }, lines: { door: { in: { person: 4, car: 3 }, out: { person: 1 } } } });
    expect(o.zones[0]).toMatchObject({ name: 'bay', counts: '3 inside' });
    expect(o.lines[0]).toMatchObject({ name: 'door', a: [0, 5], b: [10, 5], counts: 'in 7 out 1' });
    expect(analyticsOverlay(geometry, undefined).lines[0].counts).toBe('in 0 out 0');
  });

  it('draws zones (outline and translucent fill) and lines with their counts', () => {
    const overlay: AnalyticsOverlay = {
      zones: [{ name: 'dock', polygon: [[20, 120], [150, 120], [150, 230], [20, 230]], counts: '2 inside' }],
      lines: [{ name: 'gate', a: [200, 40], b: [300, 40], counts: 'in 3 out 1' }],
    };
    const img = createImage(320, 240, BG);
    new FrameAnnotator({ zoneOpacity: 0.25 }).draw(img, result(0, []), overlay);
    // Fill inside the zone, outline on its edge, nothing far from both.
    const white = yuv([255, 255, 255]);
    expect(pixelAt(img, 100, 200)).toEqual(yuv(BG).map((v, i) => (v * 192 + white[i] * 64) >> 8));
    expect(pixelAt(img, 20, 200)).toEqual(white);
    expect(pixelAt(img, 250, 200)).toEqual(yuv(BG));
    expect(pixelAt(img, 220, 40)).not.toEqual(yuv(BG));
    const other = createImage(320, 240, BG);
    new FrameAnnotator({ zoneOpacity: 0.25 }).draw(other, result(0, []), { ...overlay, lines: [{ ...overlay.lines[0], counts: 'in 4 out 1' }] });
    // The counts are drawn: a different count changes pixels near the line.
    expect(other.data).not.toEqual(img.data);
  });
});
