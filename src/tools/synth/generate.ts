/**
 * Synthetic clip generator: renders the scene planned in scene.ts frame by frame, encodes it to
 * H.264 MP4 with ffmpeg and writes `<clip>.gt.jsonl` next to it (format in groundTruth.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { backgroundTexture, paintBackground } from './background.js';
import { startH264Encoder } from './encode.js';
import type { GtFrame, GtTarget } from './groundTruth.js';
import { mulberry32, uniformRng } from './prng.js';
import type { PlacedShape } from './raster.js';
import { computeVisibility } from './raster.js';
import { paintTarget } from './render.js';
import { ANALYTICS_SCENE_SIZE, analyticsScenePlan } from './analyticsScene.js';
import { MOTION_SCENE_SECONDS, motionScenePlan } from './motionScene.js';
import type { ScenePlan } from './scene.js';
import { planScene, SYNTH_CLASSES, shapeAt } from './scene.js';
import { repoRoot } from '../repoRoot.js';

/** Bump when the rendering or planning changes so cached clips are rebuilt. */
export const SYNTH_VERSION = 3;

export interface GenerateClipOptions {
  /** Output .mp4 path; the ground truth goes to the same path with `.gt.jsonl` instead of `.mp4`. */
  out: string;
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
  seed?: number;
  /** Number of targets over the whole clip (at least 3). */
  targets?: number;
  /** Cap the H.264 bitrate, kbit/s (a camera's budget); default: constant quality only. */
  maxKbps?: number;
  /**
   * `random` (default): targets planned from the seed. `analytics`: the scripted 640x480 scene of
   * analyticsScene.ts with known line and zone events (`targets` is ignored; at least 10 s).
   * `motion`: the scripted, mostly still scene of motionScene.ts (any size; `targets` is ignored; at
   * least 60 s).
   */
  scene?: 'random' | 'analytics' | 'motion';
}

export interface GeneratedClip {
  video: string;
  groundTruth: string;
  frames: number;
}

const DEFAULTS = { width: 640, height: 480, fps: 15, seconds: 12, seed: 1, targets: 10 };

export function groundTruthPath(video: string): string {
  return video.replace(/\.mp4$/i, '') + '.gt.jsonl';
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

export async function generateClip(opts: GenerateClipOptions): Promise<GeneratedClip> {
  const o = { ...DEFAULTS, ...withoutUndefined(opts) };
  const { width, height, fps, seed } = o;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 64 || height < 64 || width % 2 || height % 2) {
    throw new Error(`synth: width and height must be even integers >= 64 (got ${width}x${height})`);
  }
  if (!(fps > 0) || !(o.seconds > 0)) throw new Error(`synth: fps and seconds must be positive (got ${fps}, ${o.seconds})`);
  const frames = Math.max(1, Math.round(o.seconds * fps));
  const plan =
    o.scene === 'analytics'
      ? scriptedPlan(width, height, fps, frames)
      : o.scene === 'motion'
        ? motionPlan(width, height, fps, frames)
        : planScene({ width, height, fps, frames, seed, targets: o.targets });
  const byZ = plan.targets.slice().sort((a, b) => a.z - b.z);
  const texture = backgroundTexture(uniformRng(seed ^ 0x5bd1e995), width, height);
  const noiseSeeds = mulberry32(seed ^ 0x27d4eb2f);
  const frame = new Uint8Array(width * height * 3);
  const owner = new Int32Array(width * height);
  const lines: string[] = [];

  const video = opts.out;
  const groundTruth = groundTruthPath(video);
  await mkdir(dirname(video), { recursive: true });
  const partialGt = `${groundTruth}.${process.pid}.partial`;
  const encoder = startH264Encoder({ out: video, width, height, fps, maxKbps: opts.maxKbps });
  try {
    for (let f = 0; f < frames; f++) {
      const t = f / fps;
      const shapes: PlacedShape[] = plan.targets.map((p) => ({ ...shapeAt(p, t), id: p.id, z: p.z }));
      const visibility = computeVisibility(shapes, width, height, owner);
      paintBackground(frame, texture, noiseSeeds());
      for (const p of byZ) {
        const cls = SYNTH_CLASSES[p.classId]!;
        paintTarget(frame, width, height, shapes[p.id]!, { rgb: cls.rgb, gradient: p.gradient }, noiseSeeds());
      }
      scaleLight(frame, lightAt(plan, t));
      const targets: GtTarget[] = [];
      for (const p of plan.targets) {
        const v = visibility[p.id]!;
        if (!v.box || !v.fullBox) continue;
        const s = shapes[p.id]!;
        targets.push({
          id: p.id,
          class: p.classId,
          label: SYNTH_CLASSES[p.classId]!.label,
          shape: p.shape,
          box: v.box,
          fullBox: v.fullBox,
          visible: round(v.visible, 6),
          crossing: plan.crossing.has(p.id),
          z: p.z,
          center: s.center,
          radii: s.radii,
        });
      }
      const line: GtFrame = { frame: f, pts: round(t, 6), targets };
      lines.push(JSON.stringify(line));
      await encoder.write(frame);
    }
    // The ground truth lands first: a finished video always has its ground truth next to it.
    await writeFile(partialGt, lines.join('\n') + '\n');
    await rename(partialGt, groundTruth);
    await encoder.finish();
  } catch (err) {
    await encoder.abort();
    await rm(partialGt, { force: true });
    await rm(groundTruth, { force: true });
    throw err;
  }
  return { video, groundTruth, frames };
}

function scriptedPlan(width: number, height: number, fps: number, frames: number): ScenePlan {
  const size = ANALYTICS_SCENE_SIZE;
  if (width !== size.width || height !== size.height) throw new Error(`synth: the analytics scene is ${size.width}x${size.height} (got ${width}x${height})`);
  if (frames / fps < 10) throw new Error(`synth: the analytics scene needs at least 10 s (got ${frames / fps} s)`);
  return analyticsScenePlan(fps, frames);
}

function motionPlan(width: number, height: number, fps: number, frames: number): ScenePlan {
  if (frames / fps < MOTION_SCENE_SECONDS) throw new Error(`synth: the motion scene needs at least ${MOTION_SCENE_SECONDS} s (got ${frames / fps} s)`);
  return motionScenePlan(width, height, fps, frames);
}

/** The light gain at time `t`: the last step at or before it. */
function lightAt(plan: ScenePlan, t: number): number {
  let gain = 1;
  for (const [from, g] of plan.light ?? []) if (t >= from) gain = g;
  return gain;
}

function scaleLight(frame: Uint8Array, gain: number): void {
  if (gain === 1) return;
  for (let i = 0; i < frame.length; i++) frame[i] = Math.min(255, Math.round(frame[i]! * gain));
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export { repoRoot };

export type DemoClipOptions = Omit<GenerateClipOptions, 'out'> & {
  /** Cache directory; default `<repo>/streams/media`. */
  dir?: string;
};

const building = new Map<string, Promise<GeneratedClip>>();

/** File name of the default demo clip under the cache directory, stable across SYNTH_VERSION bumps. */
export const DEMO_CLIP_NAME = 'demo.mp4';

/** `<repo>/streams/media/demo.mp4`: what `streams/demo.json` and `streams/file.json` point at. */
export function demoClipPath(dir = join(repoRoot(), 'streams', 'media')): string {
  return join(dir, DEMO_CLIP_NAME);
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return (sa.ino === sb.ino && sa.dev === sb.dev) || (sa.size === sb.size && sa.mtimeMs >= sb.mtimeMs);
  } catch {
    return false;
  }
}

/** Points `to` at `from` atomically: a hard link (a copy across devices) under a temporary name, renamed over `to`. */
async function replaceWithLink(from: string, to: string): Promise<void> {
  if (sameFile(to, from)) return;
  const tmp = `${to}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  try {
    await link(from, tmp).catch(() => copyFile(from, tmp));
    await rename(tmp, to);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Keeps `demo.mp4` and `demo.gt.jsonl` next to the versioned default clip (ground truth first). */
async function linkDemo(clip: GeneratedClip, dir: string): Promise<GeneratedClip> {
  const video = demoClipPath(dir);
  await replaceWithLink(clip.groundTruth, groundTruthPath(video));
  await replaceWithLink(clip.video, video);
  return clip;
}

/**
 * Builds the clip once into the cache directory (name derived from the options and SYNTH_VERSION)
 * and reuses it afterwards. With the default clip options it also maintains `demo.mp4` and
 * `demo.gt.jsonl` in that directory (hard links to the current version's files, replaced
 * atomically), the stable name the example configs use.
 */
export function ensureDemoClip(opts: DemoClipOptions = {}): Promise<GeneratedClip> {
  const o = { ...DEFAULTS, ...withoutUndefined(opts) };
  const dir = opts.dir ?? join(repoRoot(), 'streams', 'media');
  const planned = o.scene === 'analytics' || o.scene === 'motion' ? o.scene : `n${o.targets}`;
  const name = `synth-v${SYNTH_VERSION}-${o.width}x${o.height}-${o.fps}fps-${o.seconds}s-seed${o.seed}-${planned}`;
  const video = join(dir, `${name}.mp4`);
  const groundTruth = groundTruthPath(video);
  const isDefault = (o.scene ?? 'random') === 'random' && (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).every((k) => o[k] === DEFAULTS[k]);
  const finish = (clip: GeneratedClip): Promise<GeneratedClip> => (isDefault ? linkDemo(clip, dir) : Promise.resolve(clip));
  if (existsSync(video) && existsSync(groundTruth)) {
    const frames = readFileSync(groundTruth, 'utf8').split('\n').filter(Boolean).length;
    return finish({ video, groundTruth, frames });
  }
  let pending = building.get(video);
  if (!pending) {
    pending = generateClip({ ...o, out: video }).finally(() => building.delete(video));
    building.set(video, pending);
  }
  return pending.then(finish);
}
