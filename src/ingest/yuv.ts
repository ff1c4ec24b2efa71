/**
 * Colour in the format of the decoder's source frames (Frame.source): planar YUV 4:2:0 (I420,
 * ffmpeg's yuv420p), limited range (Y 16..235, U and V 16..240). The rendered video draws on them
 * and encodes them as they are: no RGB conversion in the decoder or the encoder, half the bytes of
 * RGB on the pipes.
 *
 * The matrix is the source's (BT.709 when the stream says so, else BT.601, which is also what
 * ffmpeg assumes for a stream that says nothing), and the encoded video declares it, so a
 * palette colour drawn in it shows as that colour in a player.
 */
import type { YuvMatrix } from '../types.js';

export type { YuvMatrix } from '../types.js';

export type Rgb = readonly [r: number, g: number, b: number];
export type Yuv = readonly [y: number, u: number, v: number];

/** Luma weights (Kr, Kb) of each matrix. */
const WEIGHTS: Record<YuvMatrix, readonly [kr: number, kb: number]> = { bt601: [0.299, 0.114], bt709: [0.2126, 0.0722], bt2020: [0.2627, 0.0593] };

/** YUV matrices (ffprobe's names) whose frames reach the encoder as they were decoded. */
const PASSED_THROUGH: Record<string, YuvMatrix> = { bt709: 'bt709', smpte170m: 'bt601', bt470bg: 'bt601', bt2020nc: 'bt2020' };

/**
 * The matrix of the source frames for ffprobe's `color_space` of a stream: its own for the usual
 * YUV ones; BT.601 otherwise, which is what ffmpeg assumes for a stream that declares none and
 * what it converts RGB sources (`gbr`) with.
 */
export function matrixOf(colorSpace: string | undefined): YuvMatrix {
  return (colorSpace && PASSED_THROUGH[colorSpace]) || 'bt601';
}

/** The `color_space` the encoded video declares: the source's when its frames pass through unchanged, else none. */
export function declaredColorSpace(colorSpace: string | undefined): string | undefined {
  return colorSpace && colorSpace in PASSED_THROUGH ? colorSpace : undefined;
}

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Limited-range Y'CbCr of an sRGB colour. */
export function rgbToYuv(c: Rgb, matrix: YuvMatrix): Yuv {
  const [kr, kb] = WEIGHTS[matrix];
  const kg = 1 - kr - kb;
  const [r, g, b] = [c[0] / 255, c[1] / 255, c[2] / 255];
  const y = kr * r + kg * g + kb * b;
  return [clamp8(16 + 219 * y), clamp8(128 + 224 * ((b - y) / (2 * (1 - kb)))), clamp8(128 + 224 * ((r - y) / (2 * (1 - kr))))];
}

/**
 * The inverse matrix in 8-bit steps: R = y*(Y-16) + rv*(V-128), G = y*(Y-16) - gu*(U-128) - gv*(V-128),
 * B = y*(Y-16) + bu*(U-128), before rounding and clamping to 0..255.
 */
export interface ToRgb {
  y: number;
  rv: number;
  gu: number;
  gv: number;
  bu: number;
}

export function toRgbCoefficients(matrix: YuvMatrix): ToRgb {
  const [kr, kb] = WEIGHTS[matrix];
  const kg = 1 - kr - kb;
  const c = 255 / 224;
  return { y: 255 / 219, rv: c * 2 * (1 - kr), gu: (c * 2 * (1 - kb) * kb) / kg, gv: (c * 2 * (1 - kr) * kr) / kg, bu: c * 2 * (1 - kb) };
}

/** sRGB of a limited-range Y'CbCr colour (clamped to 0..255). */
export function yuvToRgb(y: number, u: number, v: number, matrix: YuvMatrix): [number, number, number] {
  const k = toRgbCoefficients(matrix);
  const l = k.y * (y - 16);
  return [clamp8(l + k.rv * (v - 128)), clamp8(l - k.gu * (u - 128) - k.gv * (v - 128)), clamp8(l + k.bu * (u - 128))];
}

/** Chroma plane size of a width x height yuv420p frame: half of each side, rounded up (ffmpeg's layout). */
export const chromaSize = (width: number, height: number): [cw: number, ch: number] => [(width + 1) >> 1, (height + 1) >> 1];

/** Bytes of one raw yuv420p frame: the Y plane, then U, then V. */
export function yuv420Bytes(width: number, height: number): number {
  const [cw, ch] = chromaSize(width, height);
  return width * height + 2 * cw * ch;
}
