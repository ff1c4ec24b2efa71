/**
 * A scripted 640x480 scene for the analytics (docs/analytics.md): 40 px squares whose paths are
 * chosen so the events of a line and a zone are known in advance.
 *
 *   gate: line from (40,240) to (600,240); "in" is moving down the image.
 *   bay:  zone x 420..600, y 330..470, loiterSeconds 3.
 *
 *   red    A  x=120, down across the gate at 90 px/s                      → gate in
 *   green  B  x=240, up across the gate at 90 px/s                        → gate out
 *   blue   C  x=360, down to the gate, stands on it 4.5 s shifting ±2.5 px,
 *              then on down                                               → gate in (once)
 *   yellow D  x=480, down to 1 px past the gate, turns back               → nothing
 *   red    E  from the right into the bay, stands there 6 s shifting ±3 px,
 *              leaves to the right                                        → enter, loiter, exit
 *
 * The times in ANALYTICS_SCENE_EXPECTED follow from the paths and the default rules (bottom-centre
 * anchor, hysteresis 0.1 × 40 px = 4 px, minFrames 2) at 15 fps, worked out in the comments; a
 * detector's boxes may move them by a frame or two.
 */
import type { AnalyticsInput } from '../../config/schema.js';
import type { AnalyticsEventType } from '../../types.js';
import type { ScenePlan, TargetPlan } from './scene.js';
import { findCrossing } from './scene.js';

export const ANALYTICS_SCENE_SIZE = { width: 640, height: 480 } as const;

/** As written in a config file (`analyze --analytics`, a stream's `analytics`). */
export const ANALYTICS_SCENE_CONFIG: AnalyticsInput = {
  lines: [{ name: 'gate', from: [40, 240], to: [600, 240] }],
  zones: [{ name: 'bay', polygon: [[420, 330], [600, 330], [600, 470], [420, 470]], loiterSeconds: 3 }],
};

export interface ExpectedAnalyticsEvent {
  type: AnalyticsEventType;
  line?: string;
  zone?: string;
  direction?: 'in' | 'out';
  label: string;
  /** Stream seconds of the frame the event is emitted on (15 fps). */
  t: number;
  dwell?: number;
}

/** In the order they happen. */
export const ANALYTICS_SCENE_EXPECTED: readonly ExpectedAnalyticsEvent[] = [
  // E: centre x = 680 - 113.3 (t - 0.5); inside (x <= 600) from frame 19 (t 1.267), confirmed on frame 20.
  { type: 'zone_enter', zone: 'bay', label: 'red', t: 20 / 15 },
  // A: bottom = 90 t - 10; beyond the 4 px band (> 244) from frame 43, confirmed on frame 44.
  { type: 'line_cross', line: 'gate', direction: 'in', label: 'red', t: 44 / 15 },
  // E: 3 s after the visit began on frame 19: frame 64.
  { type: 'zone_loiter', zone: 'bay', label: 'red', t: 64 / 15, dwell: 3 },
  // B: bottom = 530 - 90 (t - 1); below 236 from frame 65, confirmed on frame 66.
  { type: 'line_cross', line: 'gate', direction: 'out', label: 'green', t: 66 / 15 },
  // C: stands with its bottom at 240 ± 2.5 (inside the band) until t 7, then bottom = 240 + 96.7 (t - 7):
  // beyond 244 from frame 106, confirmed on frame 107.
  { type: 'line_cross', line: 'gate', direction: 'in', label: 'blue', t: 107 / 15 },
  // E: centre x = 510 + 113.3 (t - 8); beyond 604 from frame 133 (t 8.867), confirmed on frame 134;
  // dwell 8.867 - 1.267 = 7.6.
  { type: 'zone_exit', zone: 'bay', label: 'red', t: 134 / 15, dwell: 7.6 },
];

const SQUARE: [number, number] = [20, 20];

function square(id: number, classId: number, points: Array<[number, number, number]>, jitter?: { amplitude: number; from: number; to: number }): TargetPlan {
  return {
    id,
    classId,
    shape: 'rect',
    radii: SQUARE,
    z: id,
    path: { kind: 'keyframes', points, ...(jitter ? { jitter: { ...jitter, seed: 1000 + id } } : {}) },
    role: 'scripted',
    gradient: { dx: 1, dy: 0, amplitude: 10 },
  };
}

/** The scene at `fps` for `frames` frames (at least 10 s of it are needed for every event). */
export function analyticsScenePlan(fps: number, frames: number): ScenePlan {
  const { width, height } = ANALYTICS_SCENE_SIZE;
  // Centres; the bottom edge (the anchor) is 20 px lower.
  const targets = [
    square(0, 0, [[0, 120, -30], [6, 120, 510]]),
    square(1, 1, [[1, 240, 510], [7, 240, -30]]),
    square(2, 2, [[0, 360, -30], [2.5, 360, 220], [7, 360, 220], [10, 360, 510]], { amplitude: 2.5, from: 2.5, to: 7 }),
    square(3, 3, [[0.5, 480, -30], [3, 480, 221], [5.5, 480, -30]]),
    square(4, 0, [[0.5, 680, 380], [2, 510, 380], [8, 510, 380], [9.5, 680, 380]], { amplitude: 3, from: 2, to: 8 }),
  ];
  return { width, height, fps, frames, targets, crossing: findCrossing(targets, width, height, fps, frames) };
}
