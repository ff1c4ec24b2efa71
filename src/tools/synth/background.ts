/**
 * Background: a static, smooth, low-saturation grey/brown texture (value noise) with fresh
 * per-pixel noise every frame. Every channel stays in 50-200 and channels differ by under 30, so
 * the background never looks like a target colour.
 */
import type { Rng } from './prng.js';

/** Smooth value noise in [0, 1): random values on a grid of `cell` px, smoothstep-interpolated. */
function valueNoise(rng: Rng, width: number, height: number, cell: number): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng();
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = y / cell;
    const iy = Math.floor(gy);
    const fy = gy - iy;
    const sy = fy * fy * (3 - 2 * fy);
    for (let x = 0; x < width; x++) {
      const gx = x / cell;
      const ix = Math.floor(gx);
      const fx = gx - ix;
      const sx = fx * fx * (3 - 2 * fx);
      const a = grid[iy * gw + ix]!;
      const b = grid[iy * gw + ix + 1]!;
      const c = grid[(iy + 1) * gw + ix]!;
      const d = grid[(iy + 1) * gw + ix + 1]!;
      out[y * width + x] = (a + (b - a) * sx) * (1 - sy) + (c + (d - c) * sx) * sy;
    }
  }
  return out;
}

/** Static texture, RGB, width * height * 3. */
export function backgroundTexture(rng: Rng, width: number, height: number): Uint8Array {
  const coarse = valueNoise(rng, width, height, 96);
  const fine = valueNoise(rng, width, height, 12);
  const warmth = valueNoise(rng, width, height, 160);
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const grey = 80 + 65 * coarse[p]! + 25 * fine[p]!;
    const w = 10 * warmth[p]!;
    rgb[p * 3] = Math.round(grey + w);
    rgb[p * 3 + 1] = Math.round(grey + w * 0.3);
    rgb[p * 3 + 2] = Math.round(grey - w);
  }
  return rgb;
}

/**
 * Writes texture + temporal noise into `frame`: a shared luminance offset in [-4, 4] and a
 * per-channel offset in [-2, 2], clamped to 50-200. `seed` selects this frame's noise.
 */
export function paintBackground(frame: Uint8Array, texture: Uint8Array, seed: number): void {
  let s = seed | 0 || 1;
  const n = texture.length;
  for (let i = 0; i < n; i += 3) {
    // xorshift32 inline: one 32-bit value gives the four noise terms of a pixel.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const lum = (((s & 0xff) * 9) >> 8) - 4;
    const r = texture[i]! + lum + ((((s >>> 8) & 0xff) * 5) >> 8) - 2;
    const g = texture[i + 1]! + lum + ((((s >>> 16) & 0xff) * 5) >> 8) - 2;
    const b = texture[i + 2]! + lum + (((s >>> 24) * 5) >> 8) - 2;
    frame[i] = r < 50 ? 50 : r > 200 ? 200 : r;
    frame[i + 1] = g < 50 ? 50 : g > 200 ? 200 : g;
    frame[i + 2] = b < 50 ? 50 : b > 200 ? 200 : b;
  }
}
