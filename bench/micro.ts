/**
 * Micro-benchmarks for the per-frame targets: preprocessing (HWC RGB uint8 -> CHW float32 tensor,
 * the inference worker's own `fillChw`) of a 640x640 frame, and postprocessing (the YOLOv10
 * adapter's decode of output0 [1,300,6]) plus tracking (ByteTracker.update) with 100 objects.
 */
import { performance } from 'node:perf_hooks';
import { createAdapter } from '../src/infer/adapters/select.js';
import type { OutputTensor } from '../src/infer/adapters/types.js';
import { fillChw } from '../src/infer/preprocess.js';
import { computeLetterbox } from '../src/ingest/letterbox.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { ByteTracker } from '../src/track/byteTracker.js';
import { summarize, type Summary } from './stats.js';

export interface MicroResult {
  preprocess640: Summary;
  postprocess100: Summary;
  tracking100: Summary;
  postTrack100: Summary;
}

export function preprocessTimes(size: number, iterations: number): number[] {
  const pixels = size * size;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 2654435761) >>> 24;
  const dst = new Float32Array(pixels * 3);
  for (let i = 0; i < 5; i++) fillChw(rgb, dst, 0, pixels);
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fillChw(rgb, dst, 0, pixels);
    times.push(performance.now() - t0);
  }
  return times;
}

/**
 * `objects` targets moving on a 1920x1080 source, written as the model would (score-sorted rows
 * in 640x640 letterboxed pixels, the remaining rows below threshold), decoded and tracked per frame.
 */
export function postTrackTimes(objects: number, frames: number): { post: number[]; track: number[]; both: number[] } {
  const lb = computeLetterbox(1920, 1080, 640, 640);
  const adapter = createAdapter('yolov10', { 0: 'object' });
  const tracker = new ByteTracker(DEFAULT_TRACKER);
  const data = new Float32Array(300 * 6);
  const out: OutputTensor = { data, dims: [1, 300, 6] };
  const cols = Math.ceil(Math.sqrt(objects));
  const post: number[] = [];
  const track: number[] = [];
  const both: number[] = [];
  for (let f = 0; f < frames; f++) {
    data.fill(0);
    for (let k = 0; k < objects; k++) {
      // A grid of 24x30 boxes inside the letterboxed picture (rows 140..500), drifting right, far enough apart not to overlap.
      const x = 20 + (k % cols) * 60 + ((f * 0.7) % 20);
      const y = 150 + Math.floor(k / cols) * 34;
      const o = k * 6;
      data[o] = x;
      data[o + 1] = y;
      data[o + 2] = x + 24;
      data[o + 3] = y + 30;
      data[o + 4] = 0.9 - k * 0.003;
      data[o + 5] = k % 3;
    }
    const t0 = performance.now();
    const dets = adapter.decode([out], 0, lb, { conf: 0.25 });
    const t1 = performance.now();
    tracker.annotate(dets, f / 30);
    const t2 = performance.now();
    if (f >= 10) {
      post.push(t1 - t0);
      track.push(t2 - t1);
      both.push(t2 - t0);
    }
  }
  return { post, track, both };
}

export function microBench(opts: { iterations: number; frames: number }): MicroResult {
  const pre = preprocessTimes(640, opts.iterations);
  const pt = postTrackTimes(100, opts.frames + 10);
  return { preprocess640: summarize(pre), postprocess100: summarize(pt.post), tracking100: summarize(pt.track), postTrack100: summarize(pt.both) };
}
