/**
 * Splits an MJPEG byte stream (ffmpeg `-f mjpeg`) into whole JPEGs. Walks the marker segments and
 * the entropy-coded data instead of searching for FF D9, which can occur inside a table segment.
 * Also reads a JPEG's size from its frame header.
 */

/** Index just past the EOI of the JPEG at the start of `buf`, or -1 when it is not complete yet. */
export function jpegEnd(buf: Uint8Array): number {
  if (buf.length < 2) return -1;
  if (buf[0] !== 0xff || buf[1] !== 0xd8) throw new Error('mjpeg stream out of sync: no SOI marker');
  let p = 2;
  for (;;) {
    if (p + 2 > buf.length) return -1;
    if (buf[p] !== 0xff) throw new Error(`mjpeg stream out of sync: expected a marker at byte ${p}`);
    const marker = buf[p + 1];
    if (marker === 0xff) {
      p += 1; // fill byte
      continue;
    }
    if (marker === 0xd9) return p + 2;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // markers without a length
      continue;
    }
    if (p + 4 > buf.length) return -1;
    p += 2 + ((buf[p + 2] << 8) | buf[p + 3]);
    if (marker !== 0xda) continue;
    // Entropy-coded data after SOS: ends at the first FF not followed by 00 (stuffing) or RSTn.
    for (;;) {
      const ff = buf.indexOf(0xff, p);
      if (ff < 0 || ff + 1 >= buf.length) return -1;
      const next = buf[ff + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        p = ff + 2;
        continue;
      }
      p = ff;
      break;
    }
  }
}

/** Feeds pipe chunks in, gets whole JPEGs out; each JPEG owns its memory. */
export class JpegSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      const end = jpegEnd(this.pending);
      if (end < 0) break;
      const jpeg = Buffer.allocUnsafeSlow(end);
      this.pending.copy(jpeg, 0, 0, end);
      out.push(jpeg);
      this.pending = this.pending.subarray(end);
    }
    return out;
  }

  /** Bytes of an incomplete JPEG waiting for more data. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}

/** Width and height from a JPEG's frame header (SOFn), or undefined when it has none before its scan. */
export function jpegSize(buf: Uint8Array): { width: number; height: number } | undefined {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return undefined;
  let p = 2;
  while (p + 4 <= buf.length) {
    if (buf[p] !== 0xff) return undefined;
    const marker = buf[p + 1];
    if (marker === 0xff) {
      p += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): [len][precision][height][width].
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (p + 9 > buf.length) return undefined;
      return { height: (buf[p + 5] << 8) | buf[p + 6], width: (buf[p + 7] << 8) | buf[p + 8] };
    }
    p += 2 + ((buf[p + 2] << 8) | buf[p + 3]);
  }
  return undefined;
}
