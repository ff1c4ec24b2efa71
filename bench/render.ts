/**
 * Rendering cost (`analyze --render`):
 *  - drawing one 1080p frame's results (20 tracked objects with trails and tags, a zone and a
 *    counting line; and the same with masks) into its yuv420p planes, measured alone in this process;
 *  - the CPU split of the rest of the path per 1080p frame, each part a difference of two ffmpeg runs
 *    over the same clip (renderStages): the decoder's extra source-frame output, and the H.264
 *    encoder per preset, for the frames as yuv420p (what --render uses) and as rgb24 (the RGB path it
 *    replaced: the decoder converts to RGB, the encoder back to YUV), with the encoded size and
 *    PSNR against the clip;
 *  - end to end: the analysis fps and CPU with --render against without on the 1080p clip, in the
 *    same run: without, with, without again, the ratio against the mean of the two runs without
 *    (renderRatio).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeInto, type OutputChoice } from '../src/cli/analyzeJobs.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { DEFAULT_CRF, DEFAULT_PRESET } from '../src/output/render/videoRenderer.js';
import { log } from '../src/log.js';
import type { Clip } from './inputs.js';
import { FrameAnnotator, type AnalyticsOverlay } from '../src/output/render/annotate.js';
import { createImage } from '../src/output/render/image.js';
import { decodeArgs, encodeArgs, ffmpegPath } from '../src/ingest/ffmpeg.js';
import { endedChildrenCpuSeconds, ProcessCpuClock } from './processCpu.js';
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
  const img = createImage(W, H, [90, 100, 90], 'bt709');
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
  /** CPU ms per frame (this process and its ffmpeg children) without (before, after) and with --render. */
  withoutCpuMs: [number, number];
  withCpuMs: number;
  /** What --render adds: withCpuMs - mean(withoutCpuMs). */
  renderCpuMs: number;
  /** Size of the rendered video, MB (default preset and CRF). */
  videoMB: number;
}

/** One analysis of `clip` into a JSONL file, and into a rendered video too when `render`. */
async function analysisFps(clip: Clip, modelPath: string, batch: number, render: boolean, dir: string): Promise<{ fps: number; frames: number; cpuMs: number; videoMB: number }> {
  const outputs: OutputChoice[] = [{ kind: 'jsonl', path: join(dir, 'results.jsonl') }];
  if (render) outputs.push({ kind: 'render', path: join(dir, 'rendered.mp4') });
  const cpu = new ProcessCpuClock();
  const summary = await analyzeInto(clip.path, outputs, {
    detector: { path: modelPath, providers: ['cpu'], maxBatch: batch },
    conf: 0.25,
    batch,
    tracker: DEFAULT_TRACKER,
    render: { crf: DEFAULT_CRF, preset: DEFAULT_PRESET, nice: 19 },
    settings: {},
    log,
  });
  const cpuMs = (cpu.elapsed() * 1000) / Math.max(1, summary.frames);
  const videoMB = render ? statSync(join(dir, 'rendered.mp4')).size / 1e6 : 0;
  return { fps: summary.fps, frames: summary.frames, cpuMs, videoMB: r3(videoMB) };
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
      withoutCpuMs: [r3(before.cpuMs), r3(after.cpuMs)],
      withCpuMs: r3(withRender.cpuMs),
      renderCpuMs: r3(withRender.cpuMs - (before.cpuMs + after.cpuMs) / 2),
      videoMB: withRender.videoMB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- The CPU split of the render path, per 1080p frame ----

/** The source frames' pixel format on the pipes: yuv420p now, rgb24 in the RGB path it replaced. */
export type FramesFormat = 'yuv420p' | 'rgb24';

export interface EncoderCost {
  format: FramesFormat;
  preset: string;
  /** Encoder CPU ms per frame (with its conversion to yuv420p for rgb24 frames). */
  cpuMs: number;
  /** Encoded size, MB, and PSNR (dB, Y) against the clip's own frames. */
  videoMB: number;
  psnr: number;
}

export interface RenderStages {
  clip: string;
  frames: number;
  /** CPU ms per frame the decoder's source-frame output adds to its model-input output, per format. */
  decoderOutputMs: Record<FramesFormat, number>;
  /** CPU ms per frame of a plain decode of the clip (the part of every analysis), for scale. */
  decodeMs: number;
  encoders: EncoderCost[];
}

/** Runs ffmpeg with stdout (and fd 3) to /dev/null or into `into`; resolves with its CPU seconds (waited-for children). */
function ffmpegCpu(args: string[], opts: { fd3?: boolean; into?: string[] } = {}): Promise<number> {
  const cpu0 = endedChildrenCpuSeconds();
  const nul = openSync('/dev/null', 'w');
  return new Promise<number>((resolve, reject) => {
    const first = spawn(ffmpegPath(), args, { stdio: ['ignore', opts.into ? 'pipe' : nul, 'ignore', ...(opts.fd3 ? [nul] : [])] });
    const second = opts.into ? spawn(ffmpegPath(), opts.into, { stdio: [first.stdout!, 'ignore', 'pipe'] }) : undefined;
    let err = '';
    second?.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const exits = [first, ...(second ? [second] : [])].map((c) => new Promise<number | null>((res) => c.once('exit', (code) => res(code))));
    void Promise.all(exits).then((codes) => {
      closeSync(nul);
      if (codes.some((c) => c !== 0)) reject(new Error(`ffmpeg failed (${codes.join(', ')}): ${err}`));
      else resolve(endedChildrenCpuSeconds() - cpu0);
    });
  });
}

/** The decoder as analyze runs it (320 model input), with the source-frame output in `format`, or none. */
function decoderArgs(clip: string, format: FramesFormat | undefined): string[] {
  const args = decodeArgs({ url: clip, dstWidth: 320, dstHeight: 320, ...(format ? { source: { width: W, height: H } } : {}) }, ffmpegPath());
  if (format !== 'rgb24') return args;
  // The RGB path this replaced: the same output converted to rgb24.
  return args.map((a) => a.replace(/:out_range=tv,format=yuv420p\[src\]/, ',format=rgb24[src]'));
}

const rawFrames = (clip: string, format: FramesFormat): string[] => ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', clip, '-an', '-f', 'rawvideo', '-pix_fmt', format, 'pipe:1'];

async function psnrOf(video: string, clip: string): Promise<number> {
  return new Promise<number>((resolve) => {
    const p = spawn(ffmpegPath(), ['-nostdin', '-hide_banner', '-i', video, '-i', clip, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    p.stderr.on('data', (d: Buffer) => (text += d.toString()));
    p.once('exit', () => resolve(Number(/PSNR y:([\d.]+)/.exec(text)?.[1] ?? NaN)));
  });
}

export async function renderStages(opts: { clip: Clip; frames: number; presets: string[] }): Promise<RenderStages> {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-stages-'));
  const clip = opts.clip.path;
  const n = opts.frames;
  const perFrame = (s: number): number => r3((s * 1000) / n);
  try {
    const plain = await ffmpegCpu(decoderArgs(clip, undefined));
    const decoderOutputMs = {} as Record<FramesFormat, number>;
    for (const f of ['rgb24', 'yuv420p'] as const) decoderOutputMs[f] = perFrame((await ffmpegCpu(decoderArgs(clip, f), { fd3: true })) - plain);
    const decodeOnly = await ffmpegCpu(['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', clip, '-an', '-f', 'null', '-']);
    const encoders: EncoderCost[] = [];
    // The replaced RGB path at its own default preset, then yuv420p frames at each preset.
    const runs: Array<[FramesFormat, string]> = [['rgb24', 'veryfast'], ...opts.presets.map((p): [FramesFormat, string] => ['yuv420p', p])];
    for (const [format, preset] of runs) {
      const out = join(dir, `${format}-${preset}.mp4`);
      const enc = encodeArgs({ out, width: W, height: H, fps: 30, crf: DEFAULT_CRF, preset });
      // The input's -pix_fmt comes first; the output's stays yuv420p.
      if (format === 'rgb24') enc[enc.indexOf('yuv420p')] = 'rgb24';
      const source = await ffmpegCpu(rawFrames(clip, format));
      const both = await ffmpegCpu(rawFrames(clip, format), { into: enc });
      encoders.push({ format, preset, cpuMs: perFrame(both - source), videoMB: r3(statSync(out).size / 1e6), psnr: r3(await psnrOf(out, clip)) });
    }
    return { clip: opts.clip.name, frames: n, decoderOutputMs, decodeMs: perFrame(decodeOnly), encoders };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
