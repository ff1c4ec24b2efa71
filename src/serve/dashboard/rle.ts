/**
 * COCO-style uncompressed RLE (column-major, first count = zeros) painted into an RGBA pixel
 * buffer (row-major, one uint32 per pixel) of the mask's own size.
 */
import type { MaskRle } from './wire.js';

/** Sets `color` on every pixel of the mask; other pixels are left as they are. Returns the pixel count. */
export function paintRle(rle: MaskRle, pixels: Uint32Array, color: number): number {
  const [h, w] = rle.size;
  if (pixels.length < w * h) throw new Error(`paintRle: buffer of ${pixels.length} pixels for a ${w}x${h} mask`);
  let p = 0;
  let painted = 0;
  for (let i = 0; i < rle.counts.length; i++) {
    const n = rle.counts[i];
    const end = Math.min(p + n, w * h);
    if (i % 2 === 1) {
      // p walks down columns: x = p / h, y = p % h.
      for (let q = p; q < end; q++) pixels[(q % h) * w + ((q / h) | 0)] = color;
      painted += end - p;
    }
    p = end;
  }
  return painted;
}
