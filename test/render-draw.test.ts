/** Drawing into RGB frame buffers: every primitive checked pixel by pixel against a direct definition. */
import { describe, expect, it } from 'vitest';
import {
  blendRect,
  blendRle,
  blendSpans,
  createImage,
  cropImage,
  drawLine,
  fillRect,
  pixelAt,
  polygonSpans,
  shrinkImage,
  strokeBox,
  type Rgb,
  type RgbImage,
} from '../src/output/render/image.js';
import { ADVANCE, drawText, GLYPH_HEIGHT, hasGlyph, textWidth } from '../src/output/render/font.js';
import { BLACK, classRgb, contrastRatio, cssHex, textRgbOn, WHITE } from '../src/output/render/palette.js';
import { analyticsOverlay, FrameAnnotator, styleFor, type AnalyticsOverlay } from '../src/output/render/annotate.js';
import { TrackTrails } from '../src/output/render/trails.js';
import { decodeRle, encodeRle } from '../src/infer/adapters/rle.js';
import type { Detection, FrameResult } from '../src/types.js';

const BG: Rgb = [10, 20, 30];
const RED: Rgb = [255, 0, 0];

/** Pixels that differ from the background colour. */
function changed(img: RgbImage, bg: Rgb = BG): Set<string> {
  const out = new Set<string>();
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const [r, g, b] = pixelAt(img, x, y);
      if (r !== bg[0] || g !== bg[1] || b !== bg[2]) out.add(`${x},${y}`);
    }
  }
  return out;
}

function rectSet(x0: number, y0: number, x1: number, y1: number): Set<string> {
  const s = new Set<string>();
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s.add(`${x},${y}`);
  return s;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('rectangles', () => {
  it('fillRect covers exactly [x0, x1) x [y0, y1), clipped to the image', () => {
    for (const [x0, y0, x1, y1] of [
      [2, 3, 9, 7],
      [-5, -5, 3, 2],
      [15, 10, 40, 40],
      [4, 4, 5, 5],
      [6, 6, 6, 9],
    ]) {
      const img = createImage(20, 12, BG);
      fillRect(img, x0, y0, x1, y1, RED);
      const want = rectSet(Math.max(0, x0), Math.max(0, y0), Math.min(20, x1), Math.min(12, y1));
      expect(changed(img)).toEqual(want);
      for (const key of want) {
        const [x, y] = key.split(',').map(Number);
        expect(pixelAt(img, x, y)).toEqual([...RED]);
      }
    }
  });

  it('blendRect mixes in integers: (src * (256 - a) + c * a) >> 8, opaque at 256', () => {
    const img = createImage(4, 4, [200, 100, 0]);
    blendRect(img, 0, 0, 2, 2, [0, 255, 100], 64);
    expect(pixelAt(img, 1, 1)).toEqual([(200 * 192) >> 8, (100 * 192 + 255 * 64) >> 8, (100 * 64) >> 8]);
    expect(pixelAt(img, 2, 2)).toEqual([200, 100, 0]);
    blendRect(img, 0, 0, 4, 4, [1, 2, 3], 256);
    expect(pixelAt(img, 3, 3)).toEqual([1, 2, 3]);
    blendRect(img, 0, 0, 4, 4, [200, 200, 200], 0);
    expect(pixelAt(img, 3, 3)).toEqual([1, 2, 3]);
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
      // The box's own corner pixels carry the colour.
      expect(pixelAt(img, 10, 8)).toEqual([...RED]);
      expect(pixelAt(img, 25, 20)).toEqual([...RED]);
    }
  });

  it('strokeBox rounds fractional boxes and clips boxes that leave the frame', () => {
    const img = createImage(20, 20, BG);
    strokeBox(img, [-10.4, 5.6, 10.2, 40], 2, RED);
    // Left edge is outside; top edge at round(5.6) = 6 minus 1; right edge at 10 - 1.
    expect(pixelAt(img, 0, 5)).toEqual([...RED]);
    expect(pixelAt(img, 0, 6)).toEqual([...RED]);
    expect(pixelAt(img, 0, 7)).toEqual([...BG]);
    expect(pixelAt(img, 9, 12)).toEqual([...RED]);
    expect(pixelAt(img, 10, 12)).toEqual([...RED]);
    expect(pixelAt(img, 11, 12)).toEqual([...BG]);
    expect(pixelAt(img, 5, 12)).toEqual([...BG]);
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

  it('fills exactly the pixels whose centres are inside (random polygons, brute force)', () => {
    const r = rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 3 + Math.floor(r() * 5);
      const pts: Array<[number, number]> = Array.from({ length: n }, () => [r() * 60 - 10, r() * 50 - 10]);
      const img = createImage(40, 30, BG);
      blendSpans(img, polygonSpans(pts, 40, 30), RED, 256);
      const want = new Set<string>();
      for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) if (inside(pts, x + 0.5, y + 0.5)) want.add(`${x},${y}`);
      expect(changed(img)).toEqual(want);
    }
  });

  it('fewer than three points is no area', () => {
    expect(polygonSpans([[0, 0], [10, 10]], 20, 20).length).toBe(0);
  });
});

describe('masks', () => {
  it('blendRle blends exactly the mask pixels, including runs that wrap into the next column', () => {
    const r = rng(11);
    const [w, h] = [17, 13];
    const mask = new Uint8Array(w * h);
    // Blobs plus a run from the bottom of column 4 into the top of column 5.
    for (let i = 0; i < mask.length; i++) mask[i] = r() < 0.3 ? 1 : 0;
    for (let y = 9; y < h; y++) mask[y * w + 4] = 1;
    for (let y = 0; y < 4; y++) mask[y * w + 5] = 1;
    const rle = encodeRle(mask, w, h);
    const img = createImage(w, h, BG);
    const n = blendRle(img, rle, RED, 256);
    const want = new Set<string>();
    const decoded = decodeRle(rle);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (decoded[y * w + x]) want.add(`${x},${y}`);
    expect(changed(img)).toEqual(want);
    expect(n).toBe(want.size);
  });

  it('a mask of another size than the frame is not drawn', () => {
    const img = createImage(10, 10, BG);
    expect(blendRle(img, encodeRle(new Uint8Array(20 * 10).fill(1), 20, 10), RED, 256)).toBe(0);
    expect(changed(img).size).toBe(0);
  });
});

describe('crop and shrink', () => {
  it('cropImage copies the clipped region', () => {
    const img = createImage(10, 8, BG);
    fillRect(img, 3, 2, 4, 3, RED);
    const c = cropImage(img, 2.5, 1.2, 20, 5)!;
    expect([c.width, c.height]).toEqual([8, 4]);
    expect(pixelAt(c, 1, 1)).toEqual([...RED]);
    expect(changed(c)).toEqual(new Set(['1,1']));
    expect(cropImage(img, 12, 0, 15, 3)).toBeUndefined();
  });

  it('shrinkImage averages the pixels each output pixel covers', () => {
    const img = createImage(4, 2, [0, 0, 0]);
    fillRect(img, 0, 0, 1, 1, [200, 100, 40]);
    const s = shrinkImage(img, 2);
    expect([s.width, s.height]).toEqual([2, 1]);
    expect(pixelAt(s, 0, 0)).toEqual([50, 25, 10]);
    expect(pixelAt(s, 1, 0)).toEqual([0, 0, 0]);
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
    for (let f = 0; f < 5; f++) t.update(f, [det(1, f * 10), ...(f < 1 ? [det(2, 0)] : [])]);
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
    timing: { captureTs: 0 },
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
      expect(pixelAt(img, x, 180)).toEqual([...c]);
    }
    for (let y = 80; y <= 180; y += 5) {
      expect(pixelAt(img, 100, y)).toEqual([...c]);
      expect(pixelAt(img, 200, y)).toEqual([...c]);
    }
    // The tag sits on the top edge: its background is the class colour, its text black or white.
    const tagH = GLYPH_HEIGHT * s + 2 * s;
    const tagW = textWidth('car 0.88', s) + 2 * s;
    const top = 80 - Math.floor(t / 2) - tagH;
    const left = 100 - Math.floor(t / 2);
    expect(pixelAt(img, left, top)).toEqual([...c]);
    const inkInTag = [...changed(img, c)].filter((k) => {
      const [x, y] = k.split(',').map(Number);
      return x >= left && x < left + tagW && y >= top && y < top + tagH;
    });
    expect(inkInTag.length).toBeGreaterThan(20);
    for (const k of inkInTag) {
      const [x, y] = k.split(',').map(Number);
      expect(pixelAt(img, x, y)).toEqual([...textRgbOn(c)]);
    }
    // Everything drawn lies on the stroke or in the tag.
    const b = Math.floor(t / 2);
    for (const k of changed(img)) {
      const [x, y] = k.split(',').map(Number);
      const inTag = x >= left && x < left + tagW && y >= top && y < top + tagH;
      const onStroke = x >= 100 - b && x < 200 - b + t && y >= 80 - b && y < 180 - b + t && !(x >= 100 - b + t && x < 200 - b && y >= 80 - b + t && y < 180 - b);
      expect(inTag || onStroke).toBe(true);
    }
  });

  it('shows the track id in the tag and a trail through the earlier centres', () => {
    const a = new FrameAnnotator();
    let img = createImage(320, 240, BG);
    for (let f = 0; f < 10; f++) {
      img = createImage(320, 240, BG);
      a.draw(img, result(f, [{ box: [20 + f * 10, 100, 60 + f * 10, 140], score: 0.9, class: 0, label: 'p', trackId: 7 }]));
    }
    // The first centre (40, 120) is far behind the last box (110..150): only the trail can reach it.
    expect(pixelAt(img, 40, 120)).toEqual([...classRgb(0)]);
    expect(pixelAt(img, 80, 120)).toEqual([...classRgb(0)]);
    // Without the id the same frame has no trail and a shorter tag.
    const plain = createImage(320, 240, BG);
    new FrameAnnotator().draw(plain, result(9, [{ box: [110, 100, 150, 140], score: 0.9, class: 0, label: 'p' }]));
    expect(pixelAt(plain, 40, 120)).toEqual([...BG]);
    expect(changed(img).size).toBeGreaterThan(changed(plain).size);
    a.reset();
    const afterReset = createImage(320, 240, BG);
    a.draw(afterReset, result(10, [{ box: [110, 100, 150, 140], score: 0.9, class: 0, label: 'p', trackId: 7 }]));
    expect(pixelAt(afterReset, 40, 120)).toEqual([...BG]);
  });

  it('blends masks in the class colour', () => {
    const mask = new Uint8Array(320 * 240);
    for (let y = 50; y < 70; y++) for (let x = 30; x < 60; x++) mask[y * 320 + x] = 1;
    const img = createImage(320, 240, [0, 0, 0]);
    new FrameAnnotator({ maskOpacity: 0.5 }).draw(img, result(0, [{ box: [30, 50, 60, 70], score: 0.9, class: 1, label: 'm', mask: encodeRle(mask, 320, 240) }]));
    const c = classRgb(1);
    expect(pixelAt(img, 45, 60)).toEqual(c.map((v) => (v * 128) >> 8));
    expect(pixelAt(img, 45, 100)).toEqual([0, 0, 0]);
  });

  it('scales the boxes of results at another size than the image (a source that changed resolution) and leaves their masks out', () => {
    const img = createImage(320, 240, BG);
    const r = { ...result(0, [{ box: [200, 160, 400, 360] as [number, number, number, number], score: 0.9, class: 4, label: 'x', mask: encodeRle(new Uint8Array(640 * 480).fill(1), 640, 480) }]), width: 640, height: 480 };
    new FrameAnnotator().draw(img, r);
    expect(pixelAt(img, 100, 130)).toEqual([...classRgb(4)]);
    expect(pixelAt(img, 200, 130)).toEqual([...classRgb(4)]);
    expect(pixelAt(img, 150, 130)).toEqual([...BG]);
    expect(pixelAt(img, 10, 230)).toEqual([...BG]);
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
    expect(pixelAt(img, 100, 200)).toEqual(BG.map((v) => (v * 192 + 255 * 64) >> 8));
    expect(pixelAt(img, 20, 200)).toEqual([255, 255, 255]);
    expect(pixelAt(img, 250, 200)).toEqual([...BG]);
    expect(pixelAt(img, 220, 40)).not.toEqual([...BG]);
    const other = createImage(320, 240, BG);
    new FrameAnnotator({ zoneOpacity: 0.25 }).draw(other, result(0, []), { ...overlay, lines: [{ ...overlay.lines[0], counts: 'in 4 out 1' }] });
    // The counts are drawn: a different count changes pixels near the line.
    expect(other.data).not.toEqual(img.data);
  });
});
