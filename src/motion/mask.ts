/**
 * The motion mask (pure): the pixels of a motion image whose changes are not motion, those whose
 * centre lies inside one of the mask's polygons (a camera's burnt-in clock, trees, a screen).
 */
import type { Coordinates } from '../config/schema.js';
import { pointInPolygon, type Point } from '../geometry/plane.js';
import type { MotionImage } from './image.js';

export type MaskPolygon = readonly Point[];

/**
 * 1 for each pixel of `image` (row-major) that the polygons cover, 0 elsewhere; undefined when no
 * pixel is covered. Polygons are in source pixels, or in fractions of the source's width and
 * height when `coordinates` is `normalized`.
 */
export function maskedPixels(polygons: readonly MaskPolygon[], coordinates: Coordinates, image: Pick<MotionImage, 'width' | 'height' | 'sourcePerPixel' | 'sourceWidth' | 'sourceHeight'>): Uint8Array | undefined {
  if (polygons.length === 0) return undefined;
  const { width, height, sourcePerPixel: s } = image;
  const toSource = (p: Point): Point => (coordinates === 'normalized' ? [p[0] * image.sourceWidth, p[1] * image.sourceHeight] : p);
  const out = new Uint8Array(width * height);
  let any = false;
  for (const polygon of polygons) {
    const ring = polygon.map(toSource);
    // Only the pixels whose centres fall within the polygon's bounds are tested.
    const xs = ring.map((p) => p[0]);
    const ys = ring.map((p) => p[1]);
    const x0 = Math.max(0, Math.floor(Math.min(...xs) / s - 0.5));
    const x1 = Math.min(width - 1, Math.ceil(Math.max(...xs) / s - 0.5));
    const y0 = Math.max(0, Math.floor(Math.min(...ys) / s - 0.5));
    const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys) / s - 0.5));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const i = y * width + x;
        if (out[i] === 0 && pointInPolygon(ring, [(x + 0.5) * s, (y + 0.5) * s])) {
          out[i] = 1;
          any = true;
        }
      }
    }
  }
  return any ? out : undefined;
}
