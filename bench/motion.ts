/**
 * Motion gating (docs/motion.md): what the motion estimate costs per frame and what gating saves in
 * recorded-video analysis, baseline and variant in the same run.
 *  - cost: the motion image and the estimate (src/motion) per frame of the 1080p clip letterboxed
 *    to 640, on the decoded frames; against it, the alternative of a second, small grey output
 *    of the same ffmpeg: its extra CPU per frame (ffmpeg's own -benchmark utime + stime, with and
 *    without the grey output, on the same clip);
 *  - analysis: the mostly still scene (motionScene.ts, 640x480, 10 fps, 60 s) through `analyze`'s
 *    pipeline with the YOLOv10n-shaped model without, with, and again without motion gating:
 *    fps ratio (target 1.8), detector runs and skips by reason;
 *  - recall: the same clip with the synthetic-scene detector, every frame and gated, scored
 *    against the ground truth (found in >= 97 % of the frames where visible, detector on <= half);
 *  - regions: a 4K clip of small targets with the synthetic-scene detector on every frame, the
 *    whole frame alone and with windows around motion (motion.regions): recall and fps of each.
 * The live counterpart is the capacity section's still scene (with and without gating).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { analyzeRecording } from '../src/pipeline/analyzeRecording.js';
import { DEFAULT_MOTION, DEFAULT_TRACKER, type MotionConfig } from '../src/config/schema.js';
import { ffmpegPath, letterboxFilter } from '../src/ingest/ffmpeg.js';
import { FrameDecoder } from '../src/ingest/decoder.js';
import { probeSource } from '../src/ingest/probe.js';
import { MotionEstimator } from '../src/motion/estimate.js';
import { MOTION_IMAGE_SIDE, reduceFrame, type MotionImage } from '../src/motion/image.js';
import { readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import type { Box, FrameResult, MotionRunReason, MotionSkipReason } from '../src/types.js';
import type { Clip } from './inputs.js';
import { r3, ratio, summarize, type Summary } from './stats.js';

export interface MotionCost {
  clip: string;
  imgsz: number;
  frames: number;
  /** Building the motion image from the letterboxed frame: wall ms, and CPU ms per frame (this process's user + system time, which other work on the cores does not inflate). */
  imageMs: Summary;
  imageCpuMsPerFrame: number;
  /** The estimate on it (light gain, difference, regions, background), likewise. */
  estimateMs: Summary;
  estimateCpuMsPerFrame: number;
  /** ffmpeg's CPU per frame decoding + letterboxing the clip, and the extra a grey 160 px output adds, ms. */
  ffmpeg: { cpuMsPerFrame: number; greyExtraCpuMsPerFrame: number };
}

export interface GatedRun {
  fps: number;
  frames: number;
  inferred: number;
  ran: Partial<Record<MotionRunReason, number>>;
  skipped: Partial<Record<MotionSkipReason, number>>;
}

export interface MotionAnalysis {
  clip: string;
  model: string;
  /** Every frame, before and after the gated run. */
  everyFrameFps: [number, number];
  gated: GatedRun;
  /** Gated fps / the mean of the every-frame runs. */
  ratio: number;
  target: number;
}

export interface MotionRecall {
  model: string;
  everyFrame: number;
  gated: number;
  /** The object standing still for 20 s, gated. */
  stillObject: number;
  inferredFraction: number;
  target: { recall: number; inferredFraction: number };
}

/** Whole frame alone against windows around motion, on small targets in a 4K frame (detector on every frame both ways). */
export interface MotionRegions {
  clip: string;
  model: string;
  whole: { recall: number; fps: number };
  regions: { recall: number; fps: number };
}

export interface MotionBenchResult {
  cost: MotionCost;
  analysis: MotionAnalysis;
  recall?: MotionRecall;
  regions?: MotionRegions;
}

/** The estimate's time per decoded frame of `clip` at imgsz (every frame, real pixels). */
export async function motionCost(clip: Clip, imgsz: number, maxFrames: number): Promise<Omit<MotionCost, 'ffmpeg'>> {
  const info = await probeSource(clip.path, { timeoutMs: 15_000 });
  const decoder = new FrameDecoder({ streamId: 'bench-motion', url: clip.path, info, dstWidth: imgsz, dstHeight: imgsz });
  const estimator = new MotionEstimator(DEFAULT_MOTION);
  const imageMs: number[] = [];
  const estimateMs: number[] = [];
  let imageCpu = 0;
  let estimateCpu = 0;
  let image: MotionImage | undefined;
  const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
  try {
    for await (const frame of decoder.frames()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      image = reduceFrame(frame.rgb, frame.letterbox, image);
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      estimator.estimate(image, frame.pts);
      const t2 = performance.now();
      const c2 = process.cpuUsage();
      // The first frames warm the JIT up.
      if (frame.index >= 5) {
        imageMs.push(t1 - t0);
        estimateMs.push(t2 - t1);
        imageCpu += cpuMs(c1) - cpuMs(c0);
        estimateCpu += cpuMs(c2) - cpuMs(c1);
      }
      if (frame.index + 1 >= maxFrames) break;
    }
  } finally {
    await decoder.stop();
  }
  const n = Math.max(1, imageMs.length);
  return { clip: clip.name, imgsz, frames: imageMs.length, imageMs: summarize(imageMs), imageCpuMsPerFrame: r3(imageCpu / n), estimateMs: summarize(estimateMs), estimateCpuMsPerFrame: r3(estimateCpu / n) };
}

/** ffmpeg's user + system CPU seconds (its -benchmark line) for decoding `clip` through `graph`. */
function ffmpegCpuSeconds(clip: string, graph: string, outputs: string[], frames: number): Promise<number> {
  const args = ['-hide_banner', '-nostats', '-benchmark', '-threads', '1', '-i', clip, '-frames:v', String(frames), '-filter_complex', graph];
  for (const out of outputs) args.push('-map', `[${out}]`, '-f', 'null', '-');
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(err);
      if (code !== 0 || !m) reject(new Error(`ffmpeg -benchmark failed (${code}): ${err.trim().slice(-300)}`));
      else resolve(Number(m[1]) + Number(m[2]));
    });
  });
}

/**
 * CPU per frame of ffmpeg decoding and letterboxing `clip` (one thread, like a camera's share), and
 * the extra of a second output: the frame scaled to a 160 px grey image (area averaging), the
 * other way to get a motion image. Without, with, without: the extra is against the mean.
 */
export async function ffmpegGreyCost(clip: Clip, imgsz: number, frames: number): Promise<MotionCost['ffmpeg']> {
  const letterbox = letterboxFilter(imgsz, imgsz);
  const plain = (): Promise<number> => ffmpegCpuSeconds(clip.path, `[0:v]${letterbox}[rgb]`, ['rgb'], frames);
  const grey = `[0:v]split=2[m][g];[m]${letterbox}[rgb];[g]scale=w=${MOTION_IMAGE_SIDE}:h=-2:flags=area,format=gray[grey]`;
  const before = await plain();
  const withGrey = await ffmpegCpuSeconds(clip.path, grey, ['rgb', 'grey'], frames);
  const after = await plain();
  const base = (before + after) / 2;
  return { cpuMsPerFrame: r3((1000 * base) / frames), greyExtraCpuMsPerFrame: r3((1000 * (withGrey - base)) / frames) };
}

/** `analyze`'s pipeline over `clip` (results discarded), with or without gating. */
export async function gatedAnalysis(clip: string, modelPath: string, gated: boolean | MotionConfig, onResult: (r: FrameResult) => void = () => undefined): Promise<GatedRun> {
  const ran: GatedRun['ran'] = {};
  const skipped: GatedRun['skipped'] = {};
  const summary = await analyzeRecording({
    input: clip,
    detector: { path: modelPath, providers: ['cpu'], maxBatch: 4 },
    conf: 0.25,
    batch: 4,
    tracker: DEFAULT_TRACKER,
    motion: gated === true ? { ...DEFAULT_MOTION, enabled: true } : gated || undefined,
    onResult: (r) => {
      const m = r.motion;
      if (m) {
        const counts = (r.inferred === false ? skipped : ran) as Record<string, number>;
        counts[m.reason] = (counts[m.reason] ?? 0) + 1;
      }
      onResult(r);
    },
  });
  return { fps: r3(summary.fps), frames: summary.frames, inferred: summary.inferred, ran, skipped };
}

export async function motionAnalysis(clip: Clip, modelPath: string, model: string): Promise<MotionAnalysis> {
  const before = await gatedAnalysis(clip.path, modelPath, false);
  const gated = await gatedAnalysis(clip.path, modelPath, true);
  const after = await gatedAnalysis(clip.path, modelPath, false);
  return { clip: clip.name, model, everyFrameFps: [before.fps, after.fps], gated, ratio: ratio(gated.fps, (before.fps + after.fps) / 2), target: 1.8 };
}

function iou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** Share of (target, frame) pairs, target at least half visible, with a detection of its class at IoU >= 0.5. */
export function recallOf(gt: readonly GtFrame[], results: readonly FrameResult[], only?: number): number {
  let visible = 0;
  let found = 0;
  gt.forEach((g, f) => {
    for (const t of g.targets) {
      if (t.visible < 0.5 || (only !== undefined && t.id !== only)) continue;
      visible++;
      if (results[f]?.detections.some((d) => d.class === t.class && iou(d.box, t.box) >= 0.5)) found++;
    }
  });
  return visible ? r3(found / visible) : NaN;
}

export async function motionRecall(clip: Clip, groundTruth: string, modelPath: string, stillId: number): Promise<MotionRecall> {
  const gt = await readGroundTruth(groundTruth);
  const every: FrameResult[] = [];
  const gatedResults: FrameResult[] = [];
  await gatedAnalysis(clip.path, modelPath, false, (r) => every.push(r));
  const gated = await gatedAnalysis(clip.path, modelPath, true, (r) => gatedResults.push(r));
  return {
    model: 'synthetic-det',
    everyFrame: recallOf(gt, every),
    gated: recallOf(gt, gatedResults),
    stillObject: recallOf(gt, gatedResults, stillId),
    inferredFraction: r3(gated.inferred / Math.max(1, gated.frames)),
    target: { recall: 0.97, inferredFraction: 0.5 },
  };
}

export async function motionRegions(clip: Clip, groundTruth: string, modelPath: string): Promise<MotionRegions> {
  const gt = await readGroundTruth(groundTruth);
  const run = async (regions: boolean): Promise<{ recall: number; fps: number }> => {
    const results: FrameResult[] = [];
    const r = await gatedAnalysis(clip.path, modelPath, { ...DEFAULT_MOTION, enabled: true, keyframeSeconds: 0, regions }, (x) => results.push(x));
    return { recall: recallOf(gt, results), fps: r.fps };
  };
  const whole = await run(false);
  return { clip: clip.name, model: 'synthetic-det', whole, regions: await run(true) };
}
