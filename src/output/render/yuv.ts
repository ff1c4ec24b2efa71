/** Palette colours in the source frames' YUV (ingest/yuv.ts), converted once per colour. */
import { rgbToYuv, type Rgb, type Yuv, type YuvMatrix } from '../../ingest/yuv.js';

export { chromaSize, declaredColorSpace, matrixOf, rgbToYuv, yuv420Bytes, yuvToRgb, type Rgb, type Yuv, type YuvMatrix } from '../../ingest/yuv.js';

const cache: Record<YuvMatrix, WeakMap<Rgb, Yuv>> = { bt601: new WeakMap(), bt709: new WeakMap(), bt2020: new WeakMap() };

/** rgbToYuv, converted once per colour object (the palette's entries are constants). */
export function yuvOf(c: Rgb, matrix: YuvMatrix): Yuv {
  let out = cache[matrix].get(c);
  if (!out) cache[matrix].set(c, (out = rgbToYuv(c, matrix)));
  return out;
}
