/**
 * Ground truth of a synthetic clip: `<clip>.gt.jsonl`, one line per decoded frame (0-based, in order).
 *
 * Each target line records the boxes plus the shape parameters it was painted with (`shape`,
 * `center`, `radii`, `z`), so `visibleMask` can rebuild the exact per-pixel visible mask of any
 * target from the frame's line alone: a target that occludes another always has visible pixels
 * itself, so every occluder is present in the line.
 */
import { readFile } from 'node:fs/promises';
import type { Box } from '../../types.js';
import type { PlacedShape, ShapeKind } from './raster.js';
import { visibleMaskOf } from './raster.js';

export interface GtTarget {
  id: number;
  /**
   * Colour class. Targets that overlap at some point in the clip get different classes where the four
   * classes allow it (scene.ts): a colour detector cannot separate two touching targets of one colour.
   */
  class: number;
  label: string;
  shape: ShapeKind;
  /** Visible extent: pixels showing the target, clipped to the frame, x2/y2 exclusive. */
  box: Box;
  /** Extent of the whole target, unclipped and unoccluded. */
  fullBox: Box;
  /** Fraction of the target's own pixels that are in-frame and not occluded, rounded to 1e-6. */
  visible: number;
  /** True when the target overlaps another target inside the frame at some point in the clip. */
  crossing: boolean;
  /** Paint order (higher occludes lower), fixed per target. */
  z: number;
  center: [number, number];
  radii: [number, number];
}

export interface GtFrame {
  frame: number;
  /** Seconds: frame / fps. */
  pts: number;
  /** Targets with at least one visible pixel, in id order. */
  targets: GtTarget[];
}

/** Per-pixel visible mask (1 = this target's visible pixel), row-major width * height. */
export function visibleMask(gtFrame: GtFrame, id: number, width: number, height: number): Uint8Array {
  const shapes: PlacedShape[] = gtFrame.targets.map((t) => ({ id: t.id, z: t.z, shape: t.shape, center: t.center, radii: t.radii }));
  return visibleMaskOf(shapes, id, width, height);
}

export function parseGroundTruth(text: string): GtFrame[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as GtFrame);
}

export async function readGroundTruth(path: string): Promise<GtFrame[]> {
  return parseGroundTruth(await readFile(path, 'utf8'));
}
