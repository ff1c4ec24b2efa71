/** A video with damaged data in it, as a flaky link or a bad disk leaves one. */
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Writes `out`: the MPEG-TS file `ts` with the payload of every 7th transport packet of its middle
 * half garbled (deterministic bytes). The 4-byte packet headers are kept, so the demuxer still
 * follows the stream and the decoder gets the garbage: it conceals, and logs damaged frames.
 */
export function damagedTs(ts: string, out: string): string {
  const bytes = readFileSync(ts);
  const packets = Math.floor(bytes.length / 188);
  let seed = 7;
  for (let p = Math.floor(packets / 4); p < Math.floor((3 * packets) / 4); p += 7) {
    for (let i = p * 188 + 4; i < (p + 1) * 188; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
  }
  writeFileSync(out, bytes);
  return out;
}
