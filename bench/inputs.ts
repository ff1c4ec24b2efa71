/**
 * Reproducible benchmark inputs, built on demand and cached: the YOLOv10n-shaped benchmark model at
 * each input size, a seeded 1080p H.264 synthetic clip, the synthetic demo clip, and
 * ../shared/data/vtest.avi (trimmed to its first frames in quick mode).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUrl, sourceKind } from '../src/ingest/sourceUrl.js';
import { ensureModel, repoRoot } from '../src/tools/modelgen/index.js';
import { ensureDemoClip, generateClip, groundTruthPath, MOTION_SCENE_SECONDS } from '../src/tools/synth/index.js';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';

export const BENCH_MODEL = 'yolov10n-bench';

export interface Clip {
  name: string;
  path: string;
}

export function benchModel(imgsz: number): Promise<string> {
  return ensureModel(BENCH_MODEL, { imgsz, batch: 'dynamic' });
}

/** Cache folder for generated media (git-ignored with the rest of bench/results). */
export function mediaDir(outDir: string): string {
  const dir = join(outDir, 'media');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Bitrate of the 1080p clip: what a 1080p30 H.264 camera or recording is typically given (IP
 * cameras 2-8 Mbit/s). Uncapped, the scene's noise texture at CRF 18 comes out near 24 Mbit/s,
 * twice as costly to decode as camera footage.
 */
export const CLIP_1080_KBPS = 8000;

/** A seeded 1920x1080 30 fps H.264 clip of the synthetic scene, at CLIP_1080_KBPS. */
export async function clip1080(outDir: string, seconds: number): Promise<Clip> {
  const path = join(mediaDir(outDir), `synth-1920x1080-30fps-${seconds}s-seed7-${CLIP_1080_KBPS / 1000}M.mp4`);
  if (!existsSync(path)) await generateClip({ out: path, width: 1920, height: 1080, fps: 30, seconds, seed: 7, targets: 16, maxKbps: CLIP_1080_KBPS });
  return { name: `synthetic 1080p (${seconds} s, ${CLIP_1080_KBPS / 1000} Mbit/s)`, path };
}

/** The mostly still scene of motion gating (motionScene.ts), 640x480 at 10 fps, 60 s, with its ground truth. */
export async function motionClip(outDir: string): Promise<Clip & { groundTruth: string }> {
  const c = await ensureDemoClip({ scene: 'motion', fps: 10, seconds: MOTION_SCENE_SECONDS, dir: mediaDir(outDir) });
  return { name: 'mostly still 640x480 10 fps (60 s)', path: c.video, groundTruth: c.groundTruth };
}

/** The same scene at 1920x1080, 10 fps, at CLIP_1080_KBPS: the capacity search's still camera. */
export async function stillClip1080(outDir: string): Promise<Clip> {
  const path = join(mediaDir(outDir), `synth-motion-1920x1080-10fps-${MOTION_SCENE_SECONDS}s-${CLIP_1080_KBPS / 1000}M.mp4`);
  if (!existsSync(path)) await generateClip({ out: path, width: 1920, height: 1080, fps: 10, seconds: MOTION_SCENE_SECONDS, scene: 'motion', maxKbps: CLIP_1080_KBPS });
  return { name: `mostly still 1080p 10 fps (${MOTION_SCENE_SECONDS} s, ${CLIP_1080_KBPS / 1000} Mbit/s)`, path };
}

/** 4K, 5 fps, 6 s of the random scene: 18-94 px targets, small for the frame (motion regions). */
export async function smallTargets4k(outDir: string): Promise<Clip & { groundTruth: string }> {
  const path = join(mediaDir(outDir), 'synth-small-targets-3840x2160-5fps-6s.mp4');
  if (!existsSync(path)) await generateClip({ out: path, width: 3840, height: 2160, fps: 5, seconds: 6, targets: 8, seed: 3 });
  return { name: 'small targets 4K 5 fps (6 s)', path, groundTruth: groundTruthPath(path) };
}

/** The demo clip the server shows by default (640x480, 15 fps, loops). */
export async function demoClip(): Promise<Clip> {
  const c = await ensureDemoClip();
  return { name: 'demo 640x480', path: c.video };
}

export function sharedDataDir(): string {
  return join(repoRoot(), '..', 'shared', 'data');
}

/** vtest.avi (768x576, 10 fps, 795 frames); the first `frames` only, stream-copied, when given. */
export async function vtest(outDir: string, frames?: number): Promise<Clip | undefined> {
  const src = join(sharedDataDir(), 'vtest.avi');
  if (!existsSync(src)) return undefined;
  if (!frames) return { name: 'vtest.avi', path: src };
  const path = join(mediaDir(outDir), `vtest-first${frames}.avi`);
  if (!existsSync(path)) {
    const partial = path + '.partial.avi';
    await runFfmpeg(['-v', 'error', '-y', '-i', src, '-frames:v', String(frames), '-c', 'copy', partial]);
    renameSync(partial, path);
  }
  return { name: `vtest.avi (first ${frames})`, path };
}

/** The folders of the clips that are files (the server reads files only under its media folders). */
export function mediaFoldersOf(clips: readonly Clip[]): string[] {
  return [...new Set(clips.filter((c) => sourceKind(c.path) === 'file').map((c) => dirname(c.path.startsWith('file:') ? fileURLToPath(c.path) : resolve(c.path))))];
}

/** The user's sources (`--source FILE|URL`) as clips named by their file name or redacted URL. */
export function sourceClips(sources: readonly string[]): Clip[] {
  return sources.map((s) => {
    if (sourceKind(s) !== 'file') return { name: redactUrl(s), path: s };
    const path = s.startsWith('file:') ? fileURLToPath(s) : resolve(s);
    if (!existsSync(path)) throw new Error(`--source ${s}: no such file`);
    return { name: basename(path), path };
  });
}

/** One JPEG of a clip's first frame (request body for the HTTP benchmark). */
export async function firstFrameJpeg(clip: string, out: string): Promise<string> {
  if (!existsSync(out)) await runFfmpeg(['-v', 'error', '-y', '-i', clip, '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '3', '-f', 'image2', out]);
  return out;
}

export function runFfmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')} failed (${code}): ${stderr.trim()}`))));
  });
}
