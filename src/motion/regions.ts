/** Binary-mask helpers of the motion estimate (pure): 3x3 dilation and connected regions. */

/** A connected region of a mask: its extent (x2/y2 exclusive) and pixel count (of the counted mask, when given). */
export interface MaskRegion {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  area: number;
}

/** `out` = `mask` dilated by a 3x3 square (a pixel is set when it or a neighbour is). */
export function dilate3x3(mask: Uint8Array, width: number, height: number, out: Uint8Array): Uint8Array {
  out.fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      const ya = y > 0 ? y - 1 : 0;
      const yb = y < height - 1 ? y + 1 : y;
      const xa = x > 0 ? x - 1 : 0;
      const xb = x < width - 1 ? x + 1 : x;
      for (let yy = ya; yy <= yb; yy++) out.fill(1, yy * width + xa, yy * width + xb + 1);
    }
  }
  return out;
}

/**
 * The 8-connected regions of the set pixels of `mask`, in order of their first pixel (row-major).
 * A region's area counts its pixels that are set in `counted` (default: in `mask`), so a dilated
 * mask can group pixels while the area stays that of what changed. `stack` is scratch space of at
 * least width * height entries; `mask` is cleared on the way.
 */
export function connectedRegions(mask: Uint8Array, width: number, height: number, stack: Int32Array, counted?: Uint8Array): MaskRegion[] {
  const regions: MaskRegion[] = [];
  const n = width * height;
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0) continue;
    mask[start] = 0;
    let top = 0;
    stack[top++] = start;
    const region: MaskRegion = { x1: width, y1: height, x2: 0, y2: 0, area: 0 };
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      if (!counted || counted[p] !== 0) region.area++;
      if (x < region.x1) region.x1 = x;
      if (y < region.y1) region.y1 = y;
      if (x + 1 > region.x2) region.x2 = x + 1;
      if (y + 1 > region.y2) region.y2 = y + 1;
      for (let yy = y > 0 ? y - 1 : 0; yy <= (y < height - 1 ? y + 1 : y); yy++) {
        for (let xx = x > 0 ? x - 1 : 0; xx <= (x < width - 1 ? x + 1 : x); xx++) {
          const q = yy * width + xx;
          if (mask[q] === 0) continue;
          mask[q] = 0;
          stack[top++] = q;
        }
      }
    }
    regions.push(region);
  }
  return regions;
}
