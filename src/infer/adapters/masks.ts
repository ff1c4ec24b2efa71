/**
 * Instance masks from prototype masks: logits = coefficients x protos, evaluated only over the
 * proto cells a detection's box touches. Instead of upsampling to the letterboxed input and then
 * resizing to the source (Ultralytics' two resamplings), each source pixel centre inside the
 * detection's source box is mapped through the letterbox to proto coordinates and the logit is
 * sampled bilinearly (half-pixel centres, edge clamp, like `F.interpolate(align_corners=False)`).
 * The crop to the box therefore happens at source resolution; a pixel is set when logit > 0.
 * Pure.
 */
import type { Box, Letterbox, MaskRle } from '../../types.js';
import { encodeRleRegion } from './rle.js';

export interface Protos {
  data: Float32Array;
  /** Offset of this image's [nm, mh, mw] block in data. */
  offset: number;
  nm: number;
  mh: number;
  mw: number;
}

/**
 * @param coef     nm mask coefficients
 * @param srcBox   the detection box in source pixels (already clipped to the frame)
 * @param inW,inH  model input size (the letterboxed canvas the protos cover)
 */
export function maskFromProtos(
  protos: Protos,
  coef: ArrayLike<number>,
  srcBox: Box,
  lb: Letterbox,
  inW: number,
  inH: number,
): MaskRle {
  const { data, offset, nm, mh, mw } = protos;
  const W = lb.srcWidth;
  const H = lb.srcHeight;
  // Source pixels whose centre lies in the box.
  const u0 = Math.max(0, Math.ceil(srcBox[0] - 0.5));
  const u1 = Math.min(W, Math.ceil(srcBox[2] - 0.5));
  const v0 = Math.max(0, Math.ceil(srcBox[1] - 0.5));
  const v1 = Math.min(H, Math.ceil(srcBox[3] - 0.5));
  const rw = Math.max(0, u1 - u0);
  const rh = Math.max(0, v1 - v0);
  const region = new Uint8Array(rw * rh);
  if (rw === 0 || rh === 0) return encodeRleRegion(region, 0, 0, 0, 0, W, H);

  // Continuous proto coordinate (pixel-centre convention) of a source pixel centre.
  const sx = mw / inW;
  const sy = mh / inH;
  const xs = new Float64Array(rw);
  const ys = new Float64Array(rh);
  for (let i = 0; i < rw; i++) xs[i] = ((u0 + i + 0.5) * lb.scale + lb.padX) * sx - 0.5;
  for (let j = 0; j < rh; j++) ys[j] = ((v0 + j + 0.5) * lb.scale + lb.padY) * sy - 0.5;

  // Proto cells needed for bilinear sampling of those coordinates.
  const clampC = (c: number): number => Math.min(Math.max(c, 0), mw - 1);
  const clampR = (r: number): number => Math.min(Math.max(r, 0), mh - 1);
  const c0 = clampC(Math.floor(xs[0]));
  const c1 = clampC(Math.floor(xs[rw - 1]) + 1);
  const r0 = clampR(Math.floor(ys[0]));
  const r1 = clampR(Math.floor(ys[rh - 1]) + 1);
  const lw = c1 - c0 + 1;
  const lh = r1 - r0 + 1;
  const logits = new Float32Array(lw * lh);
  const plane = mh * mw;
  for (let k = 0; k < nm; k++) {
    const ck = coef[k];
    if (ck === 0) continue;
    const base = offset + k * plane;
    for (let r = 0; r < lh; r++) {
      const row = base + (r0 + r) * mw + c0;
      const out = r * lw;
      for (let c = 0; c < lw; c++) logits[out + c] += ck * data[row + c];
    }
  }

  // Per-column interpolation taps, shared by all rows.
  const cxA = new Int32Array(rw);
  const cxB = new Int32Array(rw);
  const wx = new Float32Array(rw);
  for (let i = 0; i < rw; i++) {
    const x = Math.min(Math.max(xs[i], 0), mw - 1);
    const f = Math.floor(x);
    cxA[i] = clampC(f) - c0;
    cxB[i] = clampC(f + 1) - c0;
    wx[i] = x - f;
  }
  for (let j = 0; j < rh; j++) {
    const y = Math.min(Math.max(ys[j], 0), mh - 1);
    const f = Math.floor(y);
    const ra = (clampR(f) - r0) * lw;
    const rb = (clampR(f + 1) - r0) * lw;
    const wy = y - f;
    const outRow = j * rw;
    for (let i = 0; i < rw; i++) {
      const top = logits[ra + cxA[i]] * (1 - wx[i]) + logits[ra + cxB[i]] * wx[i];
      const bottom = logits[rb + cxA[i]] * (1 - wx[i]) + logits[rb + cxB[i]] * wx[i];
      if (top * (1 - wy) + bottom * wy > 0) region[outRow + i] = 1;
    }
  }
  return encodeRleRegion(region, u0, v0, rw, rh, W, H);
}
