/**
 * The small picture motion is measured on (pure): the frame's letterboxed RGB, padding left out,
 * averaged over square blocks into an image about MOTION_IMAGE_SIDE pixels on its long side. The
 * block average is the first blur: it divides a pixel's sensor noise by the block's side.
 *
 * Colour, not grey: a change of hue at the same brightness (a green object over a grey wall of
 * its luma) is invisible in grey; three channels of a 160 x 120 image cost about what one does
 * (the reads of the full frame dominate; docs/motion.md).
 */
import type { Letterbox } from '../types.js';

/** Long side of the motion image, pixels (the block side follows from the content's size). */
export const MOTION_IMAGE_SIDE = 160;

export interface MotionImage {
  width: number;
  height: number;
  /** RGB, HWC, block means in 0..255. */
  data: Float32Array;
  /** Source pixels per motion-image pixel (both axes). */
  sourcePerPixel: number;
  /** The source frame's size, pixels (what a mask's normalized coordinates are fractions of). */
  sourceWidth: number;
  sourceHeight: number;
}

/** Block side for a content of `width` x `height` model-input pixels. */
export function blockSide(width: number, height: number): number {
  return Math.max(1, Math.floor(Math.max(width, height) / MOTION_IMAGE_SIDE));
}

/**
 * Block means of the content area of `rgb` (letterboxed, `lb.dstWidth` x `lb.dstHeight` x 3).
 * Content pixels past the last whole block are left out. `into` is reused when its size fits.
 */
export function reduceFrame(rgb: Uint8Array, lb: Letterbox, into?: MotionImage): MotionImage {
  const side = blockSide(lb.resizedWidth, lb.resizedHeight);
  const width = Math.max(1, Math.floor(lb.resizedWidth / side));
  const height = Math.max(1, Math.floor(lb.resizedHeight / side));
  const image = into && into.width === width && into.height === height ? into : { width, height, data: new Float32Array(width * height * 3), sourcePerPixel: 0, sourceWidth: 0, sourceHeight: 0 };
  image.sourcePerPixel = side / lb.scale;
  image.sourceWidth = lb.srcWidth;
  image.sourceHeight = lb.srcHeight;
  const out = image.data;
  out.fill(0);
  const stride = lb.dstWidth * 3;
  const inv = 1 / (side * side);
  for (let oy = 0; oy < height; oy++) {
    const row = oy * width * 3;
    for (let k = 0; k < side; k++) {
      let i = (lb.padY + oy * side + k) * stride + lb.padX * 3;
      for (let ox = 0; ox < width; ox++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let j = 0; j < side; j++, i += 3) {
          r += rgb[i]!;
          g += rgb[i + 1]!;
          b += rgb[i + 2]!;
        }
        const o = row + ox * 3;
        out[o] += r;
        out[o + 1] += g;
        out[o + 2] += b;
      }
    }
  }
  for (let i = 0; i < out.length; i++) out[i] *= inv;
  return image;
}
