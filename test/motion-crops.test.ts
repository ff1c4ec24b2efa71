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

  it('keeps one window when maxCrops is 1', () => {
    expect(planCrops([[1900, 1000, 1940, 1040]], 3840, 2160, 640, 640, { maxCrops: 1 })).toEqual([{ x: 1600, y: 700, width: 640, height: 640, motion: 1600 }]);
  });

  it('merges the two near regions of three and keeps the far one', () => {
    const crops = planCrops([[1000, 1000, 1040, 1040], [3000, 100, 3060, 160], [1200, 1100, 1240, 1140]], 3840, 2160, 640, 640, { maxCrops: 4 });
    expect(crops.map((c) => c.motion)).toEqual([3600, 3200]);
  });

  it('merges until no pair is worth merging: three regions in a row within one input make one window', () => {
    const crops = planCrops([[1000, 1000, 1040, 1040], [1100, 1000, 1140, 1040], [1200, 1000, 1240, 1040]], 3840, 2160, 640, 640, { maxCrops: 4 });
    expect(crops).toEqual([{ x: 800, y: 700, width: 640, height: 640, motion: 4800 }]);
  });

  it('merges two windows whose union costs exactly what the two cost apart', () => {
    // Without margin: factors 3 (1920 wide) and 4 (2560 wide), the union 5 (3200 wide): 9 + 16 = 25 model inputs' pixels.
    const crops = planCrops([[0, 0, 1920, 10], [640, 0, 3200, 10]], 3840, 2160, 640, 640, { maxCrops: 4, margin: 0, minGain: 1 });
    expect(crops).toEqual([{ x: 0, y: 0, width: 3200, height: 2160, motion: 19200 + 25600 }]);
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

  it('fills every model pixel: the mean of its source pixels clipped to 0..255 in the content, the pad colour around it', () => {
    // Y reaches 215 with V 150 (red past 255) and 16 (green below 0) in this source.
    const src = source(240, 40);
    const windows: Crop[] = [
      { x: 180, y: 0, width: 8, height: 8, motion: 0 }, // 1 source pixel per model pixel
      { x: 100, y: 4, width: 32, height: 16, motion: 0 }, // 4 per model pixel, padding above and below
      { x: 150, y: 4, width: 16, height: 32, motion: 0 }, // 4 per model pixel, padding left and right
    ];
    for (const crop of windows) {
      const lb = cropLetterbox(crop, 8, 8);
      const f = crop.width / lb.resizedWidth;
      const want: number[] = [];
      for (let oy = 0; oy < 8; oy++) {
        for (let ox = 0; ox < 8; ox++) {
          const cx = ox - lb.padX;
          const cy = oy - lb.padY;
          const inside = cx >= 0 && cx < lb.resizedWidth && cy >= 0 && cy < lb.resizedHeight;
          want.push(...(inside ? meanRgb(crop.x + cx * f, crop.y + cy * f, crop.x + (cx + 1) * f, crop.y + (cy + 1) * f) : [PAD_LEVEL, PAD_LEVEL, PAD_LEVEL]));
        }
      }
      expect([...cropInput(src, crop, lb)], JSON.stringify(crop)).toEqual(want);
    }
    // The 1:1 window has pixels clipped at both ends.
    const flat = [...cropInput(src, windows[0]!, cropLetterbox(windows[0]!, 8, 8))];
    expect(flat).toContain(255);
    expect(flat).toContain(0);
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

  it('drops detections within EDGE_PX (2) of each window edge inside the frame, and keeps those 3 px in', () => {
    for (const box of [[2, 100, 30, 130], [100, 2, 130, 30], [600, 100, 638, 130], [100, 600, 130, 638]] as Box[]) {
      expect(mergeCropDetections([], [crop], [[det(box, 0.9)]], 3840, 2160), box.join(', ')).toEqual([]);
    }
    expect(mergeCropDetections([], [crop], [[det([3, 3, 637, 637], 0.9)]], 3840, 2160)).toEqual([det([1003, 503, 1637, 1137], 0.9)]);
  });

  it('keeps detections at a window edge that is the frame\'s right or bottom edge', () => {
    const corner: Crop = { x: 3840 - 640, y: 2160 - 640, width: 640, height: 640, motion: 1 };
    expect(mergeCropDetections([], [corner], [[det([600, 600, 640, 640], 0.9)]], 3840, 2160)).toEqual([det([3800, 2120, 3840, 2160], 0.9)]);
  });

  it('suppresses only same-class detections overlapping by more than IoU 0.5', () => {
    // One class throughout: far apart, both stay.
    const full = [det([3000, 100, 3030, 110], 0.8), det([2000, 100, 2030, 110], 0.8)];
    const merged = mergeCropDetections(full, [crop], [[det([100, 100, 130, 110], 0.9)]], 3840, 2160);
    expect(merged).toEqual([...full, det([1100, 600, 1130, 610], 0.9)]);
    // A 30 x 10 box and the 15 x 10 half of it: IoU exactly 0.5, both stay.
    const half = mergeCropDetections([det([1100, 600, 1130, 610], 0.8)], [crop], [[det([100, 100, 115, 110], 0.9)]], 3840, 2160);
    expect(half).toEqual([det([1100, 600, 1130, 610], 0.8), det([1100, 600, 1115, 610], 0.9)]);
  });

  it('keeps the first listed of two equal-scoring duplicates: the full frame\'s, then the windows\' in order', () => {
    const full = [det([1100, 600, 1140, 640], 0.8, 0, { trackId: 7 })];
    const merged = mergeCropDetections(full, [crop, crop], [[det([100, 100, 140, 140], 0.8), det([300, 300, 340, 340], 0.7)], [det([300, 300, 340, 340], 0.7, 0, { trackId: 9 })]], 3840, 2160);
    expect(merged).toEqual([full[0], det([1300, 800, 1340, 840], 0.7)]);
  });

  it('leaves the full frame detections as they are when the windows add none, overlapping ones too', () => {
    const full = [det([100, 100, 140, 140], 0.9), det([101, 101, 141, 141], 0.8)];
    expect(mergeCropDetections(full, [crop], [[det([0, 100, 30, 130], 0.9)]], 3840, 2160)).toEqual(full);
  });

  it('returns the full frame detections when the windows found nothing', () => {
    const full = [det([1, 2, 3, 4], 0.5)];
    expect(mergeCropDetections(full, [crop], [[]], 3840, 2160)).toEqual(full);
    // A window without a list of detections found nothing.
    expect(mergeCropDetections(full, [crop, crop], [[det([100, 100, 140, 140], 0.9)]], 3840, 2160)).toEqual([...full, det([1100, 600, 1140, 640], 0.9)]);
  });
});
