/** HWC RGB uint8 to planar CHW float32 in [0,1], written into a slot of a reused batch tensor. */

const INV255 = 1 / 255;

export function fillChw(rgb: Uint8Array, dst: Float32Array, offset: number, pixels: number): void {
  let r = offset;
  let g = offset + pixels;
  let b = offset + 2 * pixels;
  const end = pixels * 3;
  for (let i = 0; i < end; i += 3) {
    dst[r++] = rgb[i] * INV255;
    dst[g++] = rgb[i + 1] * INV255;
    dst[b++] = rgb[i + 2] * INV255;
  }
}
