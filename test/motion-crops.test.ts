import { describe, expect, it } from 'vitest';
import { yuvToRgb } from '../src/ingest/yuv.js';
import type { SourceImage } from '../src/types.js';
import { cropInput, cropLetterbox, mergeCropDetections, planCrops, PAD_LEVEL, type Crop } from '../src/motion/crops.js';
import type { Box, Detection } from '../src/types.js';

const det = (box: Box, score: number, cls = 0, extra: Partial<Detection> = {}): Detection => ({ box, score, class: cls, label: `c${cls}`, ...extra });

describe('planCrops', () => {
  it('puts a small region of a 4K frame in one model-sized window at 1 source pixel per model pixel, centred', () => {
    const crops = planCrops([[1900, 1000, 1940, 1040]], 3840, 2160, 640, 640, { maxCrops: 4 });
    expect(crops).toEqual([{ x: 1600, y: 700, width: 640, height: 640, motion: 1600 }]);
  });

  it('moves a window at the frame edge inside the frame without shrinking it', () => {
    const [c] = planCrops([[10, 2140, 30, 2158]], 3840, 2160, 640, 640, { maxCrops: 4 });
    expect(c).toMatchObject({ x: 0, y: 2160 - 640, width: 640, height: 640 });
  });

  it('grows the window for a region larger than the model input, keeping the input shape', () => {
    const [c] = planCrops([[1000, 500, 2000, 1000]], 3840, 2160, 640, 640, { maxCrops: 4 });
    // 1000 px wide plus 25 % margin each side: 1500 px, factor 1500 / 640.
    expect(c!.width).toBe(1500);
    expect(c!.height).toBe(1500);
    expect(c!.x + c!.width / 2).toBe(1500);
  });

  it('merges two nearby regions into one window and keeps far ones apart', () => {
    const near = planCrops([[1000, 1000, 1040, 1040], [1200, 1100, 1240, 1140]], 3840, 2160, 640, 640, { maxCrops: 4 });
    expect(near).toHaveLength(1);
    expect(near[0]!.motion).toBe(3200);
    const far = planCrops([[100, 100, 140, 140], [3000, 1800, 3040, 1840]], 3840, 2160, 640, 640, { maxCrops: 4 });
    expect(far).toHaveLength(2);
  });

  it('keeps at most maxCrops windows, the most motion first', () => {
    const regions: Box[] = [[100, 100, 110, 110], [3000, 100, 3060, 160], [100, 1800, 130, 1830]];
    const crops = planCrops(regions, 3840, 2160, 640, 640, { maxCrops: 2 });
    expect(crops.map((c) => c.motion)).toEqual([3600, 900]);
  });

  it('plans nothing where a window would not see sharper than the whole frame', () => {
    // 960x540 letterboxed to 640: 1.5 source pixels per model pixel; a window at 1 is not 1.5 x sharper... exactly 1.5 is.
    expect(planCrops([[100, 100, 120, 120]], 960, 540, 640, 640, { maxCrops: 4 })).toHaveLength(1);
    expect(planCrops([[100, 100, 120, 120]], 900, 500, 640, 640, { maxCrops: 4 })).toEqual([]);
    // A region covering most of a 4K frame needs a window nearly as coarse as the frame.
    expect(planCrops([[0, 0, 3000, 2000]], 3840, 2160, 640, 640, { maxCrops: 4 })).toEqual([]);
  });
});

describe('cropInput', () => {
  // A yuv420p frame (odd width: chroma planes of half the size rounded up) with a pattern in each plane.
  const Y = (x: number, y: number): number => 16 + ((x + 2 * y) % 200);
  const U = (cx: number, _cy: number): number => 100 + (cx % 50);
  const V = (_cx: number, cy: number): number => 150 - (cy % 40);
  const source = (width: number, height: number): SourceImage => {
    const [cw, ch] = [(width + 1) >> 1, (height + 1) >> 1];
    const yuv = new Uint8Array(width * height + 2 * cw * ch);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) yuv[y * width + x] = Y(x, y);
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        yuv[width * height + cy * cw + cx] = U(cx, cy);
        yuv[width * height + cw * ch + cy * cw + cx] = V(cx, cy);
      }
    }
    return { width, height, yuv, matrix: 'bt709' };
  };
  /** The RGB of the mean Y, U, V of the source pixels [x0, x1) x [y0, y1): what a model pixel covering them gets. */
  const meanRgb = (x0: number, y0: number, x1: number, y1: number): number[] => {
    const s = [0, 0, 0];
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        s[0] += Y(x, y);
        s[1] += U(x >> 1, y >> 1);
        s[2] += V(x >> 1, y >> 1);
      }
    }
    const n = (x1 - x0) * (y1 - y0);
    return yuvToRgb(s[0] / n, s[1] / n, s[2] / n, 'bt709');
  };

  it('copies the window at 1 source pixel per model pixel, in RGB by the source matrix', () => {
    const src = source(41, 30);
    const crop: Crop = { x: 11, y: 5, width: 8, height: 8, motion: 0 };
    const lb = cropLetterbox(crop, 8, 8);
    const out = cropInput(src, crop, lb);
    for (const [ox, oy] of [[0, 0], [7, 7], [3, 5]] as const) {
      expect([...out.subarray((oy * 8 + ox) * 3, (oy * 8 + ox) * 3 + 3)]).toEqual(yuvToRgb(Y(11 + ox, 5 + oy), U((11 + ox) >> 1, (5 + oy) >> 1), V((11 + ox) >> 1, (5 + oy) >> 1), 'bt709'));
    }
  });

  it('averages the source pixels each model pixel covers, and pads where the window is not the input shape', () => {
    const src = source(40, 30);
    // A 16 x 8 window into an 8 x 8 input: 2 source pixels per model pixel, 4 rows of padding (2 each side).
    const crop: Crop = { x: 4, y: 2, width: 16, height: 8, motion: 0 };
    const lb = cropLetterbox(crop, 8, 8);
    expect(lb).toMatchObject({ resizedWidth: 8, resizedHeight: 4, padX: 0, padY: 2 });
    const out = cropInput(src, crop, lb);
    expect([...out.subarray(0, 3)]).toEqual([PAD_LEVEL, PAD_LEVEL, PAD_LEVEL]);
    // Model pixel (1, 0) of the content covers source x 6..7, y 2..3.
    const o = ((2 * 8) + 1) * 3;
    expect([...out.subarray(o, o + 3)]).toEqual(meanRgb(6, 2, 8, 4));
    expect([...out.subarray((7 * 8 + 7) * 3)]).toEqual([PAD_LEVEL, PAD_LEVEL, PAD_LEVEL]);
  });
});

describe('mergeCropDetections', () => {
  const crop: Crop = { x: 1000, y: 500, width: 640, height: 640, motion: 1 };

  it('moves window detections to source pixels and drops their masks', () => {
    const merged = mergeCropDetections([], [crop], [[det([10, 20, 40, 60], 0.9, 1, { mask: { size: [640, 640], counts: [1] } })]], 3840, 2160);
    expect(merged).toEqual([det([1010, 520, 1040, 560], 0.9, 1)]);
  });

  it('drops detections cut by a window edge inside the frame, keeps those at the frame edge', () => {
    const atFrameEdge: Crop = { x: 0, y: 0, width: 640, height: 640, motion: 1 };
    expect(mergeCropDetections([], [crop], [[det([0, 100, 30, 130], 0.9)]], 3840, 2160)).toEqual([]);
    expect(mergeCropDetections([], [crop], [[det([600, 100, 640, 130], 0.9)]], 3840, 2160)).toEqual([]);
    expect(mergeCropDetections([], [atFrameEdge], [[det([0, 0, 30, 30], 0.9)]], 3840, 2160)).toEqual([det([0, 0, 30, 30], 0.9)]);
  });

  it('keeps the higher-scoring of the same object seen by the frame and a window, per class', () => {
    const full = [det([1005, 515, 1045, 565], 0.6, 1), det([3000, 100, 3100, 200], 0.8, 0)];
    const merged = mergeCropDetections(full, [crop], [[det([10, 20, 40, 60], 0.9, 1), det([10, 20, 40, 60], 0.7, 2)]], 3840, 2160);
    expect(merged).toEqual([det([3000, 100, 3100, 200], 0.8, 0), det([1010, 520, 1040, 560], 0.9, 1), det([1010, 520, 1040, 560], 0.7, 2)]);
  });

  it('returns the full frame detections when the windows found nothing', () => {
    const full = [det([1, 2, 3, 4], 0.5)];
    expect(mergeCropDetections(full, [crop], [[]], 3840, 2160)).toEqual(full);
  });
});
