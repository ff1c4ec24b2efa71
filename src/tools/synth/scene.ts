/**
 * Scene plan: which targets exist, how they look and how they move. Pure and deterministic from a
 * seed; the renderer and the ground truth read positions from here.
 *
 * Spec (the project's detector depends on it):
 * - classes 0 red (220,40,40), 1 green (40,190,70), 2 blue (40,80,220), 3 yellow (230,200,40);
 *   targets that overlap at some point get different classes where four classes allow it (a colour
 *   detector sees two touching same-colour targets as one blob);
 * - each target is a filled ellipse or axis-aligned rectangle, 16-96 px per side, aspect 0.5-2;
 * - paths are straight or curved (sinusoidal wave along a line, circular arcs); some pairs are built
 *   to cross, some targets are placed so they never touch another, some transit the frame.
 */
import type { Rng } from './prng.js';
import { intRange, mulberry32, pick, range, uniformRng } from './prng.js';
import type { ShapeKind, ShapeParams } from './raster.js';
import { shapesOverlapInFrame } from './raster.js';

export interface SynthClass {
  id: number;
  label: string;
  rgb: [r: number, g: number, b: number];
}

export const SYNTH_CLASSES: readonly SynthClass[] = [
  { id: 0, label: 'red', rgb: [220, 40, 40] },
  { id: 1, label: 'green', rgb: [40, 190, 70] },
  { id: 2, label: 'blue', rgb: [40, 80, 220] },
  { id: 3, label: 'yellow', rgb: [230, 200, 40] },
];

/** Target side lengths are drawn in this range so rasterised extents stay within 16-96 px. */
export const MIN_SIDE = 18;
export const MAX_SIDE = 94;

/**
 * `line`: position = anchor + velocity * (t - tAnchor), plus a sinusoidal offset perpendicular to
 * the velocity when `wave` is set (zero at tAnchor).
 * `arc`: position = center + radius * (cos a, sin a) with a = angle0 + angularSpeed * t.
 * `keyframes`: straight from point to point at the given times (t ascending), standing still before
 * the first and after the last; `jitter` adds a pseudo-random offset of up to `amplitude` px on
 * each axis between `from` and `to` seconds (a person shifting on the spot, a detector's noise).
 */
export type TargetPath =
  | { kind: 'line'; anchor: [number, number]; velocity: [number, number]; tAnchor: number; wave?: { amplitude: number; frequency: number } }
  | { kind: 'arc'; center: [number, number]; radius: number; angle0: number; angularSpeed: number }
  | { kind: 'keyframes'; points: Array<[t: number, x: number, y: number]>; jitter?: { amplitude: number; from: number; to: number; seed: number } };

export type TargetRole = 'crossing-pair' | 'transit' | 'resident' | 'isolated' | 'scripted';

export interface TargetPlan {
  id: number;
  classId: number;
  shape: ShapeKind;
  radii: [number, number];
  /** Paint order: higher z occludes lower z. Fixed for the whole clip. */
  z: number;
  path: TargetPath;
  /** How the planner meant the target to move; `crossing` in the ground truth is what actually happened. */
  role: TargetRole;
  /** Brightness gradient across the target: unit direction and amplitude in grey levels. */
  gradient: { dx: number; dy: number; amplitude: number };
}

export interface ScenePlan {
  width: number;
  height: number;
  fps: number;
  frames: number;
  targets: TargetPlan[];
  /** Ids of targets that overlap another target inside the frame in at least one frame. */
  crossing: Set<number>;
  /** Steps of the light level: from each time (s) on, every painted pixel is scaled by the gain. Default: 1 throughout. */
  light?: ReadonlyArray<[t: number, gain: number]>;
}

export interface SceneOptions {
  width: number;
  height: number;
  fps: number;
  frames: number;
  seed: number;
  targets: number;
}

/** Centres are quantised so the values written to the ground truth reproduce the rendered pixels. */
function quantise(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Uniform in [-1, 1), the same for the same seed and time on every machine. */
function jitterAt(seed: number, t: number, axis: number): number {
  return (mulberry32((seed * 2654435761) ^ (Math.round(t * 1e6) * 2 + axis))() / 4294967296) * 2 - 1;
}

function keyframePosition(path: Extract<TargetPath, { kind: 'keyframes' }>, t: number): [number, number] {
  const pts = path.points;
  let x = pts[pts.length - 1]![1];
  let y = pts[pts.length - 1]![2];
  if (t <= pts[0]![0]) [x, y] = [pts[0]![1], pts[0]![2]];
  for (let i = 1; i < pts.length; i++) {
    const [t0, x0, y0] = pts[i - 1]!;
    const [t1, x1, y1] = pts[i]!;
    if (t < t0 || t > t1) continue;
    const k = t1 > t0 ? (t - t0) / (t1 - t0) : 1;
    x = x0 + k * (x1 - x0);
    y = y0 + k * (y1 - y0);
    break;
  }
  const j = path.jitter;
  if (j && t >= j.from && t <= j.to) {
    x += j.amplitude * jitterAt(j.seed, t, 0);
    y += j.amplitude * jitterAt(j.seed, t, 1);
  }
  return [x, y];
}

export function positionAt(path: TargetPath, t: number): [number, number] {
  if (path.kind === 'keyframes') return keyframePosition(path, t);
  if (path.kind === 'arc') {
    const a = path.angle0 + path.angularSpeed * t;
    return [path.center[0] + path.radius * Math.cos(a), path.center[1] + path.radius * Math.sin(a)];
  }
  const dt = t - path.tAnchor;
  let x = path.anchor[0] + path.velocity[0] * dt;
  let y = path.anchor[1] + path.velocity[1] * dt;
  if (path.wave) {
    const speed = Math.hypot(path.velocity[0], path.velocity[1]) || 1;
    const off = path.wave.amplitude * Math.sin(2 * Math.PI * path.wave.frequency * dt);
    x += (-path.velocity[1] / speed) * off;
    y += (path.velocity[0] / speed) * off;
  }
  return [x, y];
}

export function shapeAt(target: Pick<TargetPlan, 'shape' | 'radii' | 'path'>, t: number): ShapeParams {
  const [x, y] = positionAt(target.path, t);
  return { shape: target.shape, center: [quantise(x), quantise(y)], radii: target.radii };
}

function sampleRadii(rng: Rng): [number, number] {
  for (;;) {
    const w = intRange(rng, MIN_SIDE, MAX_SIDE);
    const h = intRange(rng, MIN_SIDE, MAX_SIDE);
    if (w / h >= 0.5 && w / h <= 2) return [w / 2, h / 2];
  }
}

const MAX_RADIUS = MAX_SIDE / 2;

/** A straight or wavy path from outside one edge to outside another, inside the clip's duration. */
function transitPath(rng: Rng, width: number, height: number, duration: number): TargetPath {
  const out = MAX_RADIUS + 2;
  const edgePoint = (edge: number): [number, number] => {
    switch (edge) {
      case 0: return [-out, range(rng, 0.15, 0.85) * height];
      case 1: return [width + out, range(rng, 0.15, 0.85) * height];
      case 2: return [range(rng, 0.15, 0.85) * width, -out];
      default: return [range(rng, 0.15, 0.85) * width, height + out];
    }
  };
  const entryEdge = intRange(rng, 0, 3);
  const exitEdge = entryEdge ^ 1; // the opposite edge
  const entry = edgePoint(entryEdge);
  const exit = edgePoint(exitEdge);
  const tEnter = range(rng, 0, 0.35) * duration;
  const travel = range(rng, 0.4, 0.6) * duration;
  const velocity: [number, number] = [(exit[0] - entry[0]) / travel, (exit[1] - entry[1]) / travel];
  const wave = rng() < 0.5 ? { amplitude: range(rng, 15, 40), frequency: range(rng, 0.2, 0.5) } : undefined;
  return { kind: 'line', anchor: entry, velocity, tAnchor: tEnter, ...(wave ? { wave } : {}) };
}

/** A path that keeps the whole target inside the frame for the whole clip. */
function residentPath(rng: Rng, width: number, height: number, duration: number, margin: number, scale: number): TargetPath {
  if (rng() < 0.5) {
    const radius = range(rng, 20, 90) * scale;
    const center: [number, number] = [
      range(rng, margin + radius, width - margin - radius),
      range(rng, margin + radius, height - margin - radius),
    ];
    const angularSpeed = (rng() < 0.5 ? -1 : 1) * range(rng, 0.3, 0.9);
    return { kind: 'arc', center, radius, angle0: range(rng, 0, 2 * Math.PI), angularSpeed };
  }
  const amplitude = rng() < 0.5 ? range(rng, 8, 20) : 0;
  const m = margin + amplitude;
  const from: [number, number] = [range(rng, m, width - m), range(rng, m, height - m)];
  const drift = range(rng, 60, 200) * scale;
  const angle = range(rng, 0, 2 * Math.PI);
  const to: [number, number] = [
    Math.min(width - m, Math.max(m, from[0] + drift * Math.cos(angle))),
    Math.min(height - m, Math.max(m, from[1] + drift * Math.sin(angle))),
  ];
  const velocity: [number, number] = [(to[0] - from[0]) / duration, (to[1] - from[1]) / duration];
  const wave = amplitude > 0 ? { amplitude, frequency: range(rng, 0.15, 0.4) } : undefined;
  return { kind: 'line', anchor: from, velocity, tAnchor: 0, ...(wave ? { wave } : {}) };
}

/** Two straight or wavy paths whose centres meet at the same point at the same time. */
function crossingPaths(rng: Rng, width: number, height: number, duration: number, scale: number): [TargetPath, TargetPath] {
  const meet: [number, number] = [range(rng, 0.25, 0.75) * width, range(rng, 0.25, 0.75) * height];
  const tMeet = range(rng, 0.3, 0.7) * duration;
  const a = range(rng, 0, 2 * Math.PI);
  const b = a + range(rng, 0.5, Math.PI - 0.5) * (rng() < 0.5 ? -1 : 1);
  const path = (angle: number): TargetPath => {
    const speed = range(rng, 50, 110) * scale;
    const wave = rng() < 0.4 ? { amplitude: range(rng, 10, 30), frequency: range(rng, 0.2, 0.4) } : undefined;
    return { kind: 'line', anchor: meet, velocity: [speed * Math.cos(angle), speed * Math.sin(angle)], tAnchor: tMeet, ...(wave ? { wave } : {}) };
  };
  return [path(a), path(b)];
}

function shuffled<T>(rng: Rng, items: T[]): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Analytic bounding box of a shape (a superset of its pixels). */
function boundsOf(s: ShapeParams): [number, number, number, number] {
  const [cx, cy] = s.center;
  const [rx, ry] = s.radii;
  return [cx - rx, cy - ry, cx + rx, cy + ry];
}

function boundsTouch(p: readonly number[], q: readonly number[], gap: number): boolean {
  return p[0]! < q[2]! + gap && q[0]! < p[2]! + gap && p[1]! < q[3]! + gap && q[1]! < p[3]! + gap;
}

/** Index pairs [i, j] (i < j) of targets that share a pixel inside the frame in at least one frame. */
export function findOverlaps(targets: readonly TargetPlan[], width: number, height: number, fps: number, frames: number): Array<[number, number]> {
  const found = new Set<number>();
  const pairs: Array<[number, number]> = [];
  const n = targets.length;
  for (let f = 0; f < frames; f++) {
    const shapes = targets.map((t) => shapeAt(t, f / fps));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (found.has(i * n + j)) continue;
        if (!boundsTouch(boundsOf(shapes[i]!), boundsOf(shapes[j]!), 1)) continue;
        if (shapesOverlapInFrame(shapes[i]!, shapes[j]!, width, height)) {
          found.add(i * n + j);
          pairs.push([i, j]);
        }
      }
    }
  }
  return pairs;
}

/** Ids of targets that share a pixel with another target inside the frame in at least one frame. */
export function findCrossing(targets: readonly TargetPlan[], width: number, height: number, fps: number, frames: number): Set<number> {
  const crossing = new Set<number>();
  for (const [i, j] of findOverlaps(targets, width, height, fps, frames)) {
    crossing.add(targets[i]!.id);
    crossing.add(targets[j]!.id);
  }
  return crossing;
}

/**
 * Gives overlapping targets different classes where the four classes allow it (greedy, in id order;
 * a target keeps its class unless an overlapping target with a lower id has it). Two touching targets
 * of one colour are one blob to a colour detector, so same-class crossings would test the detector's
 * impossible case rather than the tracker. Paths are unchanged.
 */
function separateOverlappingClasses(targets: TargetPlan[], overlaps: ReadonlyArray<[number, number]>, classes: readonly number[]): void {
  for (let j = 0; j < targets.length; j++) {
    const taken = new Set<number>();
    for (const [a, b] of overlaps) if (b === j) taken.add(targets[a]!.classId);
    if (!taken.has(targets[j]!.classId)) continue;
    const free = classes.find((c) => !taken.has(c));
    if (free !== undefined) targets[j]!.classId = free;
  }
}

function attemptPlan(rng: Rng, o: SceneOptions): ScenePlan | null {
  const { width, height, fps, frames } = o;
  const duration = frames / fps;
  const scale = Math.min(width / 640, height / 480);
  const n = Math.max(3, o.targets);
  const pairs = Math.max(1, Math.floor(n / 5));
  const isolated = Math.max(1, Math.round(n * 0.3));
  const free = n - 2 * pairs - isolated;
  const classes = shuffled(rng, [0, 1, 2, 3]);
  const zs = shuffled(rng, Array.from({ length: n }, (_, i) => i));

  const targets: TargetPlan[] = [];
  const add = (path: TargetPath, role: TargetRole, radii: [number, number]): void => {
    const id = targets.length;
    const angle = range(rng, 0, 2 * Math.PI);
    targets.push({
      id,
      classId: classes[id % classes.length]!,
      shape: pick(rng, ['ellipse', 'rect'] as const),
      radii,
      z: zs[id]!,
      path,
      role,
      gradient: { dx: Math.cos(angle), dy: Math.sin(angle), amplitude: 10 },
    });
  };

  for (let p = 0; p < pairs; p++) {
    const [a, b] = crossingPaths(rng, width, height, duration, scale);
    add(a, 'crossing-pair', sampleRadii(rng));
    add(b, 'crossing-pair', sampleRadii(rng));
  }
  for (let i = 0; i < free; i++) {
    const radii = sampleRadii(rng);
    if (i % 2 === 0) add(transitPath(rng, width, height, duration), 'transit', radii);
    else add(residentPath(rng, width, height, duration, Math.max(...radii) + 2, scale), 'resident', radii);
  }
  // Isolated targets are placed last and only where they keep clear of every other target, checked
  // on frames sampled about every 0.1 s with a margin for the motion in between. Later tries move less.
  const sampled: number[] = [];
  for (let f = 0; f < frames; f += Math.max(1, Math.round(fps / 10))) sampled.push(f / fps);
  for (let i = 0; i < isolated; i++) {
    const others = sampled.map((t) => targets.map((p) => boundsOf(shapeAt(p, t))));
    let path: TargetPath | null = null;
    let radii = sampleRadii(rng);
    for (let tries = 0; tries < 300 && !path; tries++) {
      radii = sampleRadii(rng);
      const motion = scale * (tries < 100 ? 0.6 : tries < 200 ? 0.3 : 0.1);
      const candidate = { shape: 'rect' as const, radii, path: residentPath(rng, width, height, duration, Math.max(...radii) + 2, motion) };
      const clear = sampled.every((t, k) => {
        const mine = boundsOf(shapeAt(candidate, t));
        return others[k]!.every((b) => !boundsTouch(mine, b, 24));
      });
      if (clear) path = candidate.path;
    }
    // A crowded frame may leave no room; the target then joins as an ordinary resident.
    add(path ?? residentPath(rng, width, height, duration, Math.max(...radii) + 2, scale), path ? 'isolated' : 'resident', radii);
  }

  const overlaps = findOverlaps(targets, width, height, fps, frames);
  separateOverlappingClasses(targets, overlaps, classes);
  const crossing = new Set(overlaps.flatMap(([i, j]) => [targets[i]!.id, targets[j]!.id]));
  const anyClear = targets.some((t) => !crossing.has(t.id));
  if (crossing.size < 2 || !anyClear) return null;
  return { width, height, fps, frames, targets, crossing };
}

/**
 * Plans a scene. Retries from the same seeded generator until the plan has at least one crossing
 * pair and one target that never touches another, so tracker tests always have both cases.
 */
export function planScene(o: SceneOptions): ScenePlan {
  const rng = uniformRng(o.seed);
  for (let attempt = 0; attempt < 50; attempt++) {
    const plan = attemptPlan(rng, o);
    if (plan) return plan;
  }
  throw new Error(`synth: no scene with both crossing and non-crossing targets for seed ${o.seed} at ${o.width}x${o.height}`);
}
