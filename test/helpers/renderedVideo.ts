/** Looking at a rendered video from outside: ffprobe's view of it, and its frames' pixels. */
import { execFileSync } from 'node:child_process';
import { ffmpegPath, ffprobePath } from '../../src/ingest/ffmpeg.js';
import type { Box } from '../../src/types.js';

export interface VideoFacts {
  width: number;
  height: number;
  /** r_frame_rate as ffprobe prints it, e.g. "15/1". */
  rate: string;
  /** Frames counted by decoding (-count_frames). */
  frames: number;
  codec: string;
  audioCodec?: string;
  duration: number;
}

export function probeVideo(path: string): VideoFacts {
  const out = execFileSync(ffprobePath(), ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', path], { encoding: 'utf8' });
  const json = JSON.parse(out) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const v = json.streams.find((s) => s.codec_type === 'video')!;
  const a = json.streams.find((s) => s.codec_type === 'audio');
  return {
    width: Number(v.width),
    height: Number(v.height),
    rate: String(v.r_frame_rate),
    frames: Number(v.nb_read_frames),
    codec: String(v.codec_name),
    audioCodec: a ? String(a.codec_name) : undefined,
    duration: Number(json.format.duration),
  };
}

/** Every frame of a video as rgb24 (whole file in memory: for short test clips). */
export function decodeFrames(path: string, width: number, height: number): Uint8Array[] {
  const raw = execFileSync(ffmpegPath(), ['-v', 'error', '-i', path, '-vf', 'scale=flags=bilinear,format=rgb24', '-vsync', '0', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 30 });
  const size = width * height * 3;
  const frames: Uint8Array[] = [];
  for (let off = 0; off + size <= raw.length; off += size) frames.push(raw.subarray(off, off + size));
  return frames;
}

export function rgbAt(frame: Uint8Array, width: number, x: number, y: number): [number, number, number] {
  const p = (y * width + x) * 3;
  return [frame[p], frame[p + 1], frame[p + 2]];
}

export const colourDistance = (a: readonly number[], b: readonly number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

/**
 * Points just outside each edge of a box's outline, on the line a centred stroke of `thickness`
 * covers (the pixel row/column right before the box edge): background in the source frame, the
 * box colour in the rendered one. Corners and points off the frame are left out.
 */
export function outerEdgePoints(box: Box, thickness: number, width: number, height: number, step = 3): Array<[number, number]> {
  const before = Math.floor(thickness / 2);
  const after = thickness - 1 - before;
  const [x1, y1, x2, y2] = box.map(Math.round);
  const pts: Array<[number, number]> = [];
  for (let x = x1 + thickness; x < x2 - thickness; x += step) pts.push([x, y1 - before], [x, y2 + after]);
  for (let y = y1 + thickness; y < y2 - thickness; y += step) pts.push([x1 - before, y], [x2 + after, y]);
  return pts.filter(([x, y]) => x >= 0 && y >= 0 && x < width && y < height);
}

/** Mean absolute difference per channel over a rectangle [x0, x1) x [y0, y1) of two frames. */
export function meanDifference(a: Uint8Array, b: Uint8Array, width: number, rect: [number, number, number, number]): number {
  let sum = 0;
  let n = 0;
  for (let y = rect[1]; y < rect[3]; y++) {
    for (let x = rect[0]; x < rect[2]; x++) {
      const p = (y * width + x) * 3;
      sum += Math.abs(a[p] - b[p]) + Math.abs(a[p + 1] - b[p + 1]) + Math.abs(a[p + 2] - b[p + 2]);
      n += 3;
    }
  }
  return n ? sum / n : 0;
}
