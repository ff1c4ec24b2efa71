/**
 * Rendering cost (`analyze --render`): drawing one 1080p frame's results (20 tracked objects with
 * trails and tags, a zone and a counting line; and the same with masks), measured alone in this
 * process. The end-to-end cost (source frames, drawing and H.264 encoding together) is the analysis
 * fps with --render against without on the 1080p clip, measured in the same run: without, with,
 * without again, the ratio against the mean of the two runs without (renderRatio).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeInto, type OutputChoice } from '../src/cli/analyzeJobs.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { log } from '../src/log.js';
import type { Clip } from './inputs.js';
import { FrameAnnotator, type AnalyticsOverlay } from '../src/output/render/annotate.js';
import { createImage } from '../src/output/render/image.js';
import { encodeRleRegion } from '../src/infer/adapters/rle.js';
import type { Detection, FrameResult } from '../src/types.js';
import { ratio, r3, summarize, type Summary } from './stats.js';

export interface DrawTimes {
  /** Wall-clock ms per frame (inflated when other work shares the cores). */
  wall: Summary;
  /** CPU ms per frame of this process (user + system over the whole loop / frames): what drawing costs the machine. */
  cpuMsPerFrame: number;
}

export interface DrawCost {
  width: number;
  height: number;
  objects: number;
  /** Boxes, tags, trails, a zone and a line. */
  boxes: DrawTimes;
  /** The same plus a mask per object. */
  masks: DrawTimes;
}

const W = 1920;
const H = 1080;

/** `objects` tracked objects moving across a 1080p frame, frame `i`; each with a mask when asked. */
function scene(i: number, objects: number, masks: boolean): Detection[] {
  return Array.from({ length: objects }, (_, k) => {
    const x = (60 + k * 93 + i * 4) % (W - 200);
    const y = 120 + (k % 5) * 170;
    const box: [number, number, number, number] = [x, y, x + 120, y + 260];
    const d: Detection = { box, score: 0.5 + (k % 10) / 20, class: k % 8, label: `class${k % 8}`, trackId: k + 1 };
    if (masks) {
      const region = new Uint8Array(120 * 260);
      for (let r = 0; r < 260; r++) for (let c = 0; c < 120; c++) region[r * 120 + c] = ((c - 60) / 60) ** 2 + ((r - 130) / 130) ** 2 <= 1 ? 1 : 0;
      d.mask = encodeRleRegion(region, x, y, 120, 260, W, H);
    }
    return d;
  });
}

const OVERLAY: AnalyticsOverlay = {
  zones: [{ name: 'loading bay', polygon: [[100, 620], [900, 560], [1000, 1000], [80, 1050]], counts: '3 inside' }],
  lines: [{ name: 'door', a: [0, 500], b: [1900, 520], counts: 'in 12 out 9' }],
};

function timeDrawing(objects: number, masks: boolean, frames: number): DrawTimes {
  const img = createImage(W, H, [90, 100, 90]);
  const annotator = new FrameAnnotator();
  // Scenes are built outside the timed loop (masks come encoded from the model).
  const scenes = Array.from({ length: 30 }, (_, i) => scene(i, objects, masks));
  const result = (i: number): FrameResult => ({ streamId: 'bench', seq: i, index: i, pts: i / 30, width: W, height: H, detections: scenes[i % 30], timing: { captureTs: 0, stages: {} } });
  for (let i = 0; i < 30; i++) annotator.draw(img, result(i), OVERLAY);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 30; i < 30 + frames; i++) {
    const t0 = performance.now();
    annotator.draw(img, result(i), OVERLAY);
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: summarize(times), cpuMsPerFrame: r3((cpu.user + cpu.system) / 1000 / frames) };
}

export function drawCost(opts: { objects?: number; frames: number }): DrawCost {
  const objects = opts.objects ?? 20;
  return { width: W, height: H, objects, boxes: timeDrawing(objects, false, opts.frames), masks: timeDrawing(objects, true, opts.frames) };
}

export interface RenderRatio {
  clip: string;
  imgsz: number;
  frames: number;
  /** Analysis fps without --render, right before and right after the run with it. */
  withoutFps: [number, number];
  withFps: number;
  /** withFps / mean(withoutFps). */
  ratio: number;
  /** Size of the rendered video, MB (x264 veryfast, CRF 23). */
  videoMB: number;
}

/** One analysis of `clip` into a JSONL file, and into a rendered video too when `render`. */
async function analysisFps(clip: Clip, modelPath: string, batch: number, render: boolean, dir: string): Promise<{ fps: number; frames: number; videoMB: number }> {
  const outputs: OutputChoice[] = [{ kind: 'jsonl', path: join(dir, 'results.jsonl') }];
  if (render) outputs.push({ kind: 'render', path: join(dir, 'rendered.mp4') });
  const summary = await analyzeInto(clip.path, outputs, {
    detector: { path: modelPath, providers: ['cpu'], maxBatch: batch },
    conf: 0.25,
    batch,
    tracker: DEFAULT_TRACKER,
    render: { crf: 23, preset: 'veryfast', nice: 19 },
    settings: {},
    log,
  });
  const videoMB = render ? statSync(join(dir, 'rendered.mp4')).size / 1e6 : 0;
  return { fps: summary.fps, frames: summary.frames, videoMB: r3(videoMB) };
}

export async function renderRatio(opts: { clip: Clip; modelPath: string; imgsz: number; batch: number }): Promise<RenderRatio> {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-render-'));
  try {
    const before = await analysisFps(opts.clip, opts.modelPath, opts.batch, false, dir);
    const withRender = await analysisFps(opts.clip, opts.modelPath, opts.batch, true, dir);
    const after = await analysisFps(opts.clip, opts.modelPath, opts.batch, false, dir);
    return {
      clip: opts.clip.name,
      imgsz: opts.imgsz,
      frames: withRender.frames,
      withoutFps: [r3(before.fps), r3(after.fps)],
      withFps: r3(withRender.fps),
      ratio: ratio(withRender.fps, (before.fps + after.fps) / 2),
      videoMB: withRender.videoMB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
