/**
 * A scripted, mostly still scene for motion gating (docs/motion.md): 60 s of an empty, noisy
 * background that objects cross now and then, one object that arrives, stands still for 20 s and
 * leaves, and two steps of the light level. Laid out at 640x480 and scaled to the clip's size.
 *
 *   0-4 s    nothing moves
 *   4-8.5    red A and green B cross the frame diagonally, crossing each other near 6.2 s
 *   12-14    blue C comes up from the bottom edge and stops in the middle
 *   14-34    C stands still (20 s)
 *   18       the light drops to 0.8 of its level (the whole picture, C included)
 *   22-25    yellow D crosses the top of the frame while C stands
 *   34-36    C leaves through the right edge
 *   44       the light comes back to its level, the scene empty
 *   48-51    a small red E (20 px) crosses the bottom of the frame
 *   51-60    nothing moves
 * About a third of the frames show something moving.
 */
import type { ScenePlan, TargetPlan } from './scene.js';
import { findCrossing } from './scene.js';
import type { ShapeKind } from './raster.js';

export const MOTION_SCENE_SECONDS = 60;

/** Light steps: from each time (s) on, every pixel is scaled by the gain. */
export const MOTION_SCENE_LIGHT: ReadonlyArray<[t: number, gain: number]> = [
  [18, 0.8],
  [44, 1],
];

/** The still object: its id in the ground truth and the seconds it stands still. */
export const MOTION_SCENE_STILL = { id: 2, from: 14, to: 34 } as const;

/** Points at 640x480: [t, x, y] (centres). */
type Script = { classId: number; shape: ShapeKind; size: [number, number]; points: Array<[number, number, number]> };

const SCRIPT: Script[] = [
  { classId: 0, shape: 'ellipse', size: [50, 36], points: [[4, -40, 110], [8, 680, 370]] },
  { classId: 1, shape: 'rect', size: [40, 40], points: [[4.5, 680, 110], [8.5, -40, 370]] },
  { classId: 2, shape: 'rect', size: [44, 60], points: [[12, 320, 520], [14, 320, 280], [34, 320, 280], [36, 700, 280]] },
  { classId: 3, shape: 'ellipse', size: [36, 36], points: [[22, -40, 70], [25, 680, 70]] },
  { classId: 0, shape: 'rect', size: [20, 20], points: [[48, -30, 420], [51, 670, 420]] },
];

/** The scene at `width` x `height` and `fps` for `frames` frames (at least 60 s of it are scripted). */
export function motionScenePlan(width: number, height: number, fps: number, frames: number): ScenePlan {
  const sx = width / 640;
  const sy = height / 480;
  const s = Math.min(sx, sy);
  const targets: TargetPlan[] = SCRIPT.map((o, id) => ({
    id,
    classId: o.classId,
    shape: o.shape,
    radii: [(o.size[0] / 2) * s, (o.size[1] / 2) * s],
    z: id,
    path: { kind: 'keyframes', points: o.points.map(([t, x, y]) => [t, x * sx, y * sy]) },
    role: 'scripted',
    gradient: { dx: 1, dy: 0, amplitude: 10 },
  }));
  return { width, height, fps, frames, targets, crossing: findCrossing(targets, width, height, fps, frames), light: MOTION_SCENE_LIGHT };
}
