/**
 * Smaller JPEGs of a stream's video for clients that show it small (subscribe `maxWidth`,
 * docs/protocol.md): a grid of tiles takes small frames, the large view the full ones.
 *
 * - Which: each client's maxWidth is rounded up to a rendition width (renditionWidths.ts). A frame
 *   is encoded at the widths some subscribed client asks for now, below the JPEG's own width, and at
 *   most `limit` of them (the smallest; a client whose width is not among them gets the full JPEG,
 *   never a smaller one than it asked for). Nobody asks: nothing is encoded.
 * - How: sharp (libvips, on its own threads) decodes the JPEG shrunk while decoding (DCT scaling),
 *   resizes it and encodes it at the stream's JPEG quality.
 * - Order: a stream's frames reach the clients in order. A frame waits for its renditions and for
 *   the frames of its stream before it; with nothing to encode and nothing waiting it goes at once.
 *   When `maxWaiting` frames of a stream are already waiting (encoding is slower than the stream),
 *   a frame is not encoded: it goes, in its turn, without the renditions (`skipped`; the clients
 *   that wanted one miss its video, counted as their dropped video).
 */
import sharp from 'sharp';
import type { Logger } from '../log.js';
import { renditionWidth } from './renditionWidths.js';

export interface RenditionPlan {
  /** Widths to encode, smallest first. */
  widths: number[];
  /** What a client asking for `maxWidth` gets: one of `widths`, or undefined for the JPEG as it is. */
  widthFor(maxWidth: number | undefined): number | undefined;
}

/** The renditions of one frame for clients asking `maxWidths` (undefined: the JPEG as it is). */
export function planRenditions(jpegWidth: number, maxWidths: Iterable<number | undefined>, limit: number): RenditionPlan {
  const wanted = new Set<number>();
  for (const m of maxWidths) {
    const w = m === undefined ? undefined : renditionWidth(m);
    if (w !== undefined && w < jpegWidth) wanted.add(w);
  }
  const widths = [...wanted].sort((a, b) => a - b).slice(0, Math.max(0, limit));
  const kept = new Set(widths);
  return {
    widths,
    widthFor: (m) => {
      const w = m === undefined ? undefined : renditionWidth(m);
      return w !== undefined && kept.has(w) ? w : undefined;
    },
  };
}

/** Encodes `jpeg` again at `width` (aspect kept). */
export type JpegResizer = (jpeg: Uint8Array, width: number, quality: number) => Promise<Buffer>;

export const sharpResizer: JpegResizer = (jpeg, width, quality) => sharp(jpeg).resize({ width }).jpeg({ quality }).toBuffer();

/** A frame's renditions by width; a width without a buffer was skipped (the frame went without it). */
export type Renditions = ReadonlyMap<number, Buffer | undefined>;

export interface RenditionCounts {
  /** Renditions encoded. */
  encoded: number;
  /** Renditions that could not be encoded (the clients got the full JPEG instead). */
  failed: number;
  /** Renditions not encoded because the stream's earlier frames were still waiting. */
  skipped: number;
}

export interface VideoRenditionsOptions {
  /** Most frames of one stream waiting for renditions; a frame beyond it goes without them. */
  maxWaiting: number;
  resize?: JpegResizer;
  log: Logger;
}

export class VideoRenditions {
  readonly counts: RenditionCounts = { encoded: 0, failed: 0, skipped: 0 };
  private readonly waiting = new Map<string, { tail: Promise<void>; frames: number }>();
  private readonly resize: JpegResizer;

  constructor(private readonly options: VideoRenditionsOptions) {
    this.resize = options.resize ?? sharpResizer;
  }

  /**
   * Calls `deliver` with the frame's renditions at `widths` once they are encoded and every earlier
   * frame of `stream` was delivered; at once (synchronously) when there is nothing to encode and
   * nothing of the stream waiting.
   */
  prepare(stream: string, jpeg: Uint8Array | undefined, widths: readonly number[], quality: number, deliver: (renditions: Renditions) => void): void {
    const queue = this.waiting.get(stream);
    if (!queue && (widths.length === 0 || !jpeg)) {
      deliver(new Map());
      return;
    }
    let encoded: Promise<Renditions>;
    if (!jpeg || widths.length === 0) encoded = Promise.resolve(new Map());
    else if (queue && queue.frames >= this.options.maxWaiting) {
      this.counts.skipped += widths.length;
      encoded = Promise.resolve(new Map(widths.map((w) => [w, undefined])));
    } else encoded = this.encode(jpeg, widths, quality);
    const q = queue ?? { tail: Promise.resolve(), frames: 0 };
    q.frames++;
    const tail = Promise.all([encoded, q.tail])
      .then(([renditions]) => {
        if (--q.frames === 0) this.waiting.delete(stream);
        deliver(renditions);
      })
      // The next frame waits on this one: a failed delivery must not hold the stream back.
      .catch((err: unknown) => this.options.log.error({ err, stream }, 'video delivery failed'));
    q.tail = tail;
    this.waiting.set(stream, q);
  }

  /** Frames of `stream` waiting for renditions now. */
  framesWaiting(stream: string): number {
    return this.waiting.get(stream)?.frames ?? 0;
  }

  private async encode(jpeg: Uint8Array, widths: readonly number[], quality: number): Promise<Renditions> {
    const out = new Map<number, Buffer | undefined>();
    await Promise.all(
      widths.map(async (w) => {
        try {
          out.set(w, await this.resize(jpeg, w, quality));
          this.counts.encoded++;
        } catch (err) {
          // The full JPEG serves instead: a client asking small still sees the stream.
          out.set(w, Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength));
          const n = ++this.counts.failed;
          // The first failure, then every power of two.
          if ((n & (n - 1)) === 0) this.options.log.warn({ err, width: w, failures: n }, 'a video rendition could not be encoded');
        }
      }),
    );
    return out;
  }
}
