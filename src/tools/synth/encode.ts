/**
 * Pipes raw RGB frames into ffmpeg's H.264 encoder; the output appears only once ffmpeg succeeded.
 * Spawns directly because ingest's FfmpegProcess has no stdin pipe.
 */
import { spawn } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { ffmpegPath } from '../../ingest/ffmpeg.js';

export interface H264EncoderOptions {
  out: string;
  width: number;
  height: number;
  fps: number;
  /** Bitrate cap in kbit/s (VBV: -maxrate, 2 s of buffer); default: CRF 18 only. */
  maxKbps?: number;
}

export interface H264Encoder {
  /** Resolves once the pipe took the whole frame, so the caller may reuse the buffer. */
  write(rgb: Uint8Array): Promise<void>;
  /** Closes the input, waits for ffmpeg and moves the finished file to `out`. */
  finish(): Promise<void>;
  /** Kills ffmpeg and removes the partial file. */
  abort(): Promise<void>;
}

export function startH264Encoder(o: H264EncoderOptions): H264Encoder {
  const partial = `${o.out}.${process.pid}.partial`;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-r', String(o.fps), '-i', 'pipe:0',
    // A keyframe every second: an RTSP client that joins mid-stream has a picture within a second.
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'veryfast', '-crf', '18', '-g', String(Math.max(1, Math.round(o.fps))), '-movflags', '+faststart',
    ...(o.maxKbps ? ['-maxrate', `${o.maxKbps}k`, '-bufsize', `${2 * o.maxKbps}k`] : []),
    '-f', 'mp4', partial,
  ];
  const child = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  // Write failures surface through write()'s callback; this only keeps EPIPE from being unhandled.
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const failure = (what: string): Error => new Error(`synth: ffmpeg ${what}${stderr ? `: ${stderr.trim()}` : ''}`);

  return {
    write(rgb) {
      // Waiting for the write callback is the pipe's backpressure and makes buffer reuse safe.
      return new Promise((resolve, reject) => {
        child.stdin.write(rgb, (err) => (err ? reject(failure(`stopped reading frames (${err.message})`)) : resolve()));
      });
    },
    async finish() {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) {
        await rm(partial, { force: true });
        throw failure(`exited with code ${code}`);
      }
      await rename(partial, o.out);
    },
    async abort() {
      child.kill('SIGKILL');
      await exited.catch(() => null);
      await rm(partial, { force: true });
    },
  };
}
