import { describe, expect, it } from 'vitest';
import { computeLetterbox, roundHalfEven, toInput, toSource } from '../src/ingest/letterbox.js';
import type { Box } from '../src/types.js';

/** Expected values are worked out by hand from the Ultralytics LetterBox rule. */
describe('computeLetterbox', () => {
  it('landscape 1920x1080 -> 640x640: r = 1/3, 640x360, 140 rows above and below', () => {
    expect(computeLetterbox(1920, 1080, 640, 640)).toEqual({
      srcWidth: 1920, srcHeight: 1080, dstWidth: 640, dstHeight: 640,
      scale: 1 / 3, resizedWidth: 640, resizedHeight: 360, padX: 0, padY: 140,
    });
  });

  it('vtest 768x576 -> 640x640: r = 5/6, 640x480, padY 80', () => {
    const lb = computeLetterbox(768, 576, 640, 640);
    expect(lb.scale).toBeCloseTo(0.833333, 6);
    expect([lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([640, 480, 0, 80]);
  });

  it('portrait 1080x1920 -> 640x640: 360x640, 140 columns left and right', () => {
    const lb = computeLetterbox(1080, 1920, 640, 640);
    expect([lb.scale, lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([1 / 3, 360, 640, 140, 0]);
  });

  it('portrait 360x640 -> 640x640: r = 1 (no resize), padX 140', () => {
    const lb = computeLetterbox(360, 640, 640, 640);
    expect([lb.scale, lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([1, 360, 640, 140, 0]);
  });

  it('portrait 360x640 -> 1280x1280 scales up (scaleup=True): r = 2, 720x1280, padX 280', () => {
    const lb = computeLetterbox(360, 640, 1280, 1280);
    expect([lb.scale, lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([2, 720, 1280, 280, 0]);
  });

  it('square 500x500 -> 640x640 fills the canvas: r = 1.28, no padding', () => {
    const lb = computeLetterbox(500, 500, 640, 640);
    expect([lb.scale, lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([1.28, 640, 640, 0, 0]);
  });

  it('non-square canvas 1280x720 -> 640x384: r = 0.5, 640x360, padY 12', () => {
    const lb = computeLetterbox(1280, 720, 640, 384);
    expect([lb.scale, lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([0.5, 640, 360, 0, 12]);
  });

  it('odd leftover 768x577 -> 640x640: 481 rows, dh = 79.5, top 79 (bottom 80)', () => {
    const lb = computeLetterbox(768, 577, 640, 640);
    expect([lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([640, 481, 0, 79]);
    expect(lb.dstHeight - lb.resizedHeight - lb.padY).toBe(80);
  });

  it('odd leftover on x 577x768 -> 640x640: left 79, right 80', () => {
    const lb = computeLetterbox(577, 768, 640, 640);
    expect([lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([481, 640, 79, 0]);
  });

  it('rounds the resized size half to even like Python: 2x1 -> 5x5 gives 5x2 (2.5 -> 2), top 1, bottom 2', () => {
    const lb = computeLetterbox(2, 1, 5, 5);
    expect([lb.scale, lb.resizedWidth, lb.resizedHeight, lb.padX, lb.padY]).toEqual([2.5, 5, 2, 0, 1]);
  });

  it('rejects non-positive or fractional sizes', () => {
    expect(() => computeLetterbox(0, 10, 640, 640)).toThrow(/srcW/);
    expect(() => computeLetterbox(10, 10, 640.5, 640)).toThrow(/dstW/);
  });
});

describe('roundHalfEven', () => {
  it('matches Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 480.8333].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 481]);
  });
});

describe('toInput / toSource', () => {
  /** 1920x1080 into 640x640, as worked out above (a literal, so these tests stand on their own). */
  const lb = { srcWidth: 1920, srcHeight: 1080, dstWidth: 640, dstHeight: 640, scale: 1 / 3, resizedWidth: 640, resizedHeight: 360, padX: 0, padY: 140 };

  it('maps source boxes into the canvas: in = src * scale + pad', () => {
    expect(toInput([960, 540, 1920, 1080], lb)).toEqual([320, 320, 640, 500]);
    expect(toInput([0, 0, 1920, 1080], lb)).toEqual([0, 140, 640, 500]);
  });

  it('maps canvas boxes back to source pixels', () => {
    expect(toSource([320, 320, 640, 500], lb)).toEqual([960, 540, 1920, 1080]);
    expect(toSource([100, 200, 130, 260], lb)).toEqual([300, 180, 390, 360]);
  });

  it('clips to the source frame (boxes reaching into the padding)', () => {
    expect(toSource([-10, 100, 700, 600], lb)).toEqual([0, 0, 1920, 1080]);
  });

  it('portrait: x carries the padding', () => {
    const p = computeLetterbox(360, 640, 640, 640);
    expect(toSource([150, 10, 490, 630], p)).toEqual([10, 10, 350, 630]);
    expect(toInput([10, 10, 350, 630], p)).toEqual([150, 10, 490, 630]);
  });

  it('uses the pad ffmpeg applied for the odd case (top 79, not 80)', () => {
    const odd = computeLetterbox(768, 577, 640, 640);
    const back = toSource([0, 79, 640, 79 + 577 * odd.scale], odd);
    back.forEach((v, i) => expect(v).toBeCloseTo(([0, 0, 768, 577] as Box)[i], 9));
  });

  it('toSource inverts toInput inside the frame for every shape', () => {
    for (const [w, h] of [[1920, 1080], [1080, 1920], [768, 577], [500, 500], [33, 71]]) {
      const l = computeLetterbox(w, h, 640, 640);
      const box: Box = [w * 0.1, h * 0.2, w * 0.7, h * 0.9];
      toSource(toInput(box, l), l).forEach((v, i) => expect(v).toBeCloseTo(box[i], 9));
    }
  });
});
