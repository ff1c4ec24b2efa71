/**
 * COCO-style uncompressed RLE, as pycocotools: pixels in column-major (Fortran) order, counts of
 * alternating runs starting with a run of zeros (0 when the first pixel is set). Pure.
 */
import type { MaskRle } from '../../types.js';

/** Encodes a row-major binary mask (non-zero = set) of width x height. */
export function encodeRle(mask: Uint8Array, width: number, height: number): MaskRle {
  if (mask.length !== width * height) throw new Error(`encodeRle: mask has ${mask.length} pixels, expected ${width}x${height}`);
  return encodeRleRegion(mask, 0, 0, width, height, width, height);
}

/**
 * Encodes a full-frame mask that is zero outside a region: `region` is row-major rw x rh with its
 * top-left at (x0, y0). Cost is proportional to the region plus the number of columns.
 */
export function encodeRleRegion(
  region: Uint8Array,
  x0: number,
  y0: number,
  rw: number,
  rh: number,
  width: number,
  height: number,
): MaskRle {
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  const push = (v: number, n: number): void => {
    if (n === 0) return;
    if (v === value) {
      run += n;
      return;
    }
    counts.push(run);
    value = v;
    run = n;
  };
  const xEnd = x0 + rw;
  const yEnd = y0 + rh;
  for (let x = 0; x < width; x++) {
    if (x < x0 || x >= xEnd) {
      push(0, height);
      continue;
    }
    push(0, y0);
    const col = x - x0;
    for (let y = y0; y < yEnd; y++) push(region[(y - y0) * rw + col] ? 1 : 0, 1);
    push(0, height - yEnd);
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Row-major 0/1 mask of rle.size. */
export function decodeRle(rle: MaskRle): Uint8Array {
  const [height, width] = rle.size;
  const out = new Uint8Array(width * height);
  let p = 0;
  let v = 0;
  for (const n of rle.counts) {
    if (p + n > width * height) throw new Error('decodeRle: counts exceed the mask size');
    if (v) {
      for (let k = p; k < p + n; k++) out[(k % height) * width + Math.floor(k / height)] = 1;
    }
    p += n;
    v ^= 1;
  }
  if (p !== width * height) throw new Error(`decodeRle: counts cover ${p} of ${width * height} pixels`);
  return out;
}

export function rleArea(rle: MaskRle): number {
  let a = 0;
  for (let i = 1; i < rle.counts.length; i += 2) a += rle.counts[i];
  return a;
}
