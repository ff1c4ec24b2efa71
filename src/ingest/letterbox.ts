/**
 * Letterbox geometry (pure): the Ultralytics LetterBox rule (auto=False, scaleup=True, centred),
 * computed here once so that ffmpeg's scale+pad filters and the box mapping share the same numbers.
 */
import type { Box, Letterbox } from '../types.js';

/** Python's round(): half to even. Ultralytics rounds the resized size with it. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Fits srcW x srcH into dstW x dstH keeping the aspect ratio: r = min(dstH/srcH, dstW/srcW),
 * resized = round(src * r), the leftover split with the smaller half first
 * (top = round(dh - 0.1), bottom = round(dh + 0.1)), so an odd leftover puts the extra row at the
 * bottom (or the extra column at the right).
 */
export function computeLetterbox(srcW: number, srcH: number, dstW: number, dstH: number): Letterbox {
  for (const [name, v] of [['srcW', srcW], ['srcH', srcH], ['dstW', dstW], ['dstH', dstH]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`letterbox: ${name} must be a positive integer, got ${v}`);
  }
  const scale = Math.min(dstH / srcH, dstW / srcW);
  const resizedWidth = roundHalfEven(srcW * scale);
  const resizedHeight = roundHalfEven(srcH * scale);
  const dw = (dstW - resizedWidth) / 2;
  const dh = (dstH - resizedHeight) / 2;
  return {
    srcWidth: srcW,
    srcHeight: srcH,
    dstWidth: dstW,
    dstHeight: dstH,
    scale,
    resizedWidth,
    resizedHeight,
    padX: leadingPad(dw),
    padY: leadingPad(dh),
  };
}

/** round(d - 0.1): d is a whole or half number, so the nudge never lands on a tie; max() turns -0 into 0. */
function leadingPad(d: number): number {
  return Math.max(0, Math.round(d - 0.1));
}

/** Source pixels to model-input pixels: in = src * scale + pad. */
export function toInput(box: Box, lb: Letterbox): Box {
  const [x1, y1, x2, y2] = box;
  const s = lb.scale;
  return [x1 * s + lb.padX, y1 * s + lb.padY, x2 * s + lb.padX, y2 * s + lb.padY];
}

/**
 * Model-input pixels to source pixels, clipped to the source frame. Uses the pads ffmpeg actually
 * applied (not Ultralytics' recomputed round((dst - src*gain)/2 - 0.1), which can differ by one
 * pixel), so this is the exact inverse of toInput.
 */
export function toSource(box: Box, lb: Letterbox): Box {
  const [x1, y1, x2, y2] = box;
  const s = lb.scale;
  const cx = (v: number): number => Math.min(Math.max((v - lb.padX) / s, 0), lb.srcWidth);
  const cy = (v: number): number => Math.min(Math.max((v - lb.padY) / s, 0), lb.srcHeight);
  return [cx(x1), cy(y1), cx(x2), cy(y2)];
}
