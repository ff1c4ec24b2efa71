/**
 * Section 3, the peer: the common way to do this in Node, measured on the same model and clip.
 * ffmpeg emits JPEG frames (`-f image2pipe -c:v mjpeg`), sharp decodes and letterboxes each one to
 * raw RGB, a loop builds the CHW float tensor, and onnxruntime-node's `session.run` runs on the
 * main thread, one frame at a time; boxes above the threshold are read from output0.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';
import type { Clip } from './inputs.js';
import { rateSeries, r3 } from './stats.js';

export interface PeerRun {
  clip: string;
  imgsz: number;
  frames: number;
  seconds: number;
  fps: number;
  detections: number;
  series: { t: number; fps: number }[];
}

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);

/** Splits ffmpeg's image2pipe MJPEG byte stream into whole JPEGs (ffmpeg's encoder writes no embedded thumbnails). */
async function* jpegFrames(clip: string): AsyncGenerator<Buffer> {
  const child = spawn(ffmpegPath(), ['-v', 'error', '-i', clip, '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '3', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const start = pending.indexOf(SOI);
        const end = start < 0 ? -1 : pending.indexOf(EOI, start + 2);
        if (end < 0) break;
        yield pending.subarray(start, end + 2);
        pending = pending.subarray(end + 2);
      }
    }
    const code = await exited;
    if (code !== 0) throw new Error(`peer: ffmpeg exited with ${code}: ${stderr.trim()}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export async function peerRun(clip: Clip, modelPath: string, imgsz: number, intraOpThreads?: number): Promise<PeerRun> {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
  });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const pixels = imgsz * imgsz;
  const stamps: number[] = [];
  let detections = 0;
  const t0 = performance.now();
  try {
    for await (const jpeg of jpegFrames(clip.path)) {
      const rgb = await sharp(jpeg)
        .resize(imgsz, imgsz, { fit: 'contain', background: { r: 114, g: 114, b: 114 } })
        .removeAlpha()
        .raw()
        .toBuffer();
      const data = new Float32Array(3 * pixels);
      for (let i = 0; i < pixels; i++) {
        data[i] = rgb[3 * i] / 255;
        data[pixels + i] = rgb[3 * i + 1] / 255;
        data[2 * pixels + i] = rgb[3 * i + 2] / 255;
      }
      const out = await session.run({ [inputName]: new ort.Tensor('float32', data, [1, 3, imgsz, imgsz]) });
      const rows = out[outputName].data as Float32Array;
      for (let r = 4; r < rows.length; r += 6) if (rows[r] > 0.25) detections++;
      stamps.push(performance.now());
    }
  } finally {
    await session.release();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { clip: clip.name, imgsz, frames: stamps.length, seconds: r3(seconds), fps: r3(stamps.length / seconds), detections, series: rateSeries(stamps, 1000, t0) };
}
