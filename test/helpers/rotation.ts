/**
 * Phone videos for tests: an MP4 stored turned and carrying the display matrix that turns it back,
 * as a phone writes one (what `-metadata:s:v:0 rotate=N` does on the way in).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Writes the display matrix of an MP4's (only) track header: what players and ffmpeg turn the
 * stored picture by. `cw` is the clockwise turn for display. QuickTime matrix [a b u; c d v; x y w]
 * in 16.16 fixed point, stored row by row in the tkhd box.
 */
export function withDisplayRotation(mp4: Buffer, cw: 90 | 270): Buffer {
  const out = Buffer.from(mp4);
  const tkhd = out.indexOf('tkhd', 0, 'latin1');
  if (tkhd <= 0) throw new Error('no tkhd box: not an MP4 with one track');
  const version = out[tkhd + 4];
  const matrix = tkhd + 4 + 4 + (version === 1 ? 32 : 20) + 16;
  const one = 0x10000;
  const [a, b, c, d] = cw === 90 ? [0, one, -one, 0] : [0, -one, one, 0];
  for (const [i, v] of [a, b, c, d].entries()) out.writeInt32BE(v, matrix + 4 * (i < 2 ? i : i + 1));
  return out;
}

/**
 * `clip` stored turned the other way (H.264, keyframe every 15 frames) with the display matrix
 * that brings it back: players, and streamlens, show `clip` as it was.
 */
export function rotatedCopy(clip: string, cw: 90 | 270, out: string, ffmpeg = '/usr/bin/ffmpeg'): string {
  const stored = `${out}.stored.mp4`;
  execFileSync(ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', clip, '-vf', cw === 90 ? 'transpose=cclock' : 'transpose=clock', '-c:v', 'libx264', '-crf', '16', '-g', '15', '-preset', 'veryfast', stored], { timeout: 120_000 });
  writeFileSync(out, withDisplayRotation(readFileSync(stored), cw));
  return out;
}
