/** Paints targets into an RGB frame: class colour + brightness gradient + per-pixel noise. */
import type { ShapeParams } from './raster.js';
import { rowRange, rowSpan } from './raster.js';

export interface TargetLook {
  rgb: readonly [number, number, number];
  /** Unit direction of the gradient and its amplitude: the offset runs from -amplitude to +amplitude. */
  gradient: { dx: number; dy: number; amplitude: number };
}

/** Per-pixel, per-channel noise amplitude of a target's colour. */
export const TARGET_NOISE = 15;

/**
 * Fills the pixels of `shape` (see raster.ts for coverage) in frame order. Each channel is
 * class colour + gradient offset (same for all channels) + uniform noise in [-15, 15], clamped.
 */
export function paintTarget(frame: Uint8Array, width: number, height: number, shape: ShapeParams, look: TargetLook, seed: number): void {
  const [cx, cy] = shape.center;
  const [rx, ry] = shape.radii;
  const { dx, dy, amplitude } = look.gradient;
  const reach = rx * Math.abs(dx) + ry * Math.abs(dy) || 1;
  const gain = amplitude / reach;
  const [cr, cg, cb] = look.rgb;
  let s = seed | 0 || 1;
  const [y0, y1] = rowRange(shape);
  for (let y = Math.max(y0, 0); y < Math.min(y1, height); y++) {
    const [a, b] = rowSpan(shape, y);
    const gy = (y + 0.5 - cy) * dy;
    for (let x = Math.max(a, 0); x < Math.min(b, width); x++) {
      const shade = Math.round(((x + 0.5 - cx) * dx + gy) * gain);
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const r = cr + shade + ((((s & 0xff) * 31) >> 8) - TARGET_NOISE);
      const g = cg + shade + (((((s >>> 8) & 0xff) * 31) >> 8) - TARGET_NOISE);
      const bl = cb + shade + (((((s >>> 16) & 0xff) * 31) >> 8) - TARGET_NOISE);
      const i = (y * width + x) * 3;
      frame[i] = r < 0 ? 0 : r > 255 ? 255 : r;
      frame[i + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
      frame[i + 2] = bl < 0 ? 0 : bl > 255 ? 255 : bl;
    }
  }
}
