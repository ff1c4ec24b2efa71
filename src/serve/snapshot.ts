/**
 * The latest frame of a stream as a JPEG with its masks (translucent fill), boxes and labels drawn
 * (sharp: a raw RGBA mask layer, then an SVG overlay).
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { Detection, FrameResult, MaskRle } from '../types.js';
import type { ResultSink } from '../output/sink.js';

/** The newest result with a JPEG of each stream, for GET /api/streams/:id/snapshot.jpg (newest wins). */
export class LatestFrames implements ResultSink {
  readonly name = 'snapshot';
  readonly backpressure = 'drop';
  private readonly latest = new Map<string, FrameResult & { jpeg: Uint8Array }>();
  /** Per stream, the drawing of its newest frame once someone asked for it. */
  private readonly drawn = new Map<string, { seq: number; jpeg: Promise<Buffer> }>();

  write(result: FrameResult): void {
    if (result.jpeg) this.latest.set(result.streamId, result as FrameResult & { jpeg: Uint8Array });
  }

  get(stream: string): (FrameResult & { jpeg: Uint8Array }) | undefined {
    return this.latest.get(stream);
  }

  /**
   * The newest frame of `stream` drawn by `draw`: drawn once per frame and shared by every request
   * for it (a failed drawing is tried again by the next request). Undefined before the first frame.
   */
  snapshot(stream: string, draw: (result: FrameResult & { jpeg: Uint8Array }) => Promise<Buffer>): { seq: number; jpeg: Promise<Buffer> } | undefined {
    const result = this.latest.get(stream);
    if (!result) return undefined;
    let drawing = this.drawn.get(stream);
    if (drawing?.seq !== result.seq) {
      const jpeg = draw(result);
      const entry = { seq: result.seq, jpeg };
      jpeg.catch(() => this.drawn.get(stream) === entry && this.drawn.delete(stream));
      this.drawn.set(stream, entry);
      drawing = entry;
    }
    return drawing;
  }

  /** The stream was removed. */
  forget(stream: string): void {
    this.latest.delete(stream);
    this.drawn.delete(stream);
  }

  async close(): Promise<void> {
    this.latest.clear();
    this.drawn.clear();
  }
}

/** Memory a snapshot drawing needs at most, bytes: the frame decoded, an RGBA overlay and mask layer at its size. */
export function snapshotDecodeBytes(result: Pick<FrameResult, 'width' | 'height'>): number {
  return result.width * result.height * (3 + 4 + 4);
}

const PALETTE = ['#ff3838', '#ff9d97', '#ff701f', '#ffb21d', '#cfd231', '#48f90a', '#92cc17', '#3ddb86', '#1a9334', '#00d4bb', '#2c99a8', '#00c2ff', '#344593', '#6473ff', '#0018ec', '#8438ff', '#520085', '#cb38ff', '#ff95c8', '#ff37c7'];

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

/** SVG of the result's boxes at `width` x `height` (the JPEG's size; boxes are in source pixels). */
export function overlaySvg(result: FrameResult, width: number, height: number): string {
  const sx = width / result.width;
  const sy = height / result.height;
  const font = Math.max(10, Math.round(height / 40));
  const parts = result.detections.map((d) => {
    const [x1, y1, x2, y2] = [d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy];
    const colour = PALETTE[(d.trackId ?? d.class) % PALETTE.length];
    const text = escapeXml(`${d.label}${d.trackId !== undefined ? ' #' + d.trackId : ''} ${d.score.toFixed(2)}`);
    const ty = y1 > font + 4 ? y1 - 4 : y1 + font + 2;
    return (
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="2"/>` +
      `<text x="${(x1 + 2).toFixed(1)}" y="${ty.toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="${colour}" stroke="black" stroke-width="0.5">${text}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

function colourOf(d: Detection): [number, number, number] {
  const hex = PALETTE[(d.trackId ?? d.class) % PALETTE.length];
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** Alpha of mask fills (0-255). */
export const MASK_ALPHA = 110;

/**
 * Every mask of the result painted into one RGBA layer at the masks' size (the source size),
 * straight from the column-major RLE runs; later detections paint over earlier ones.
 * Undefined when no detection has a mask.
 */
export function maskLayer(detections: readonly Detection[]): { rgba: Buffer; width: number; height: number } | undefined {
  const masks = detections.filter((d): d is Detection & { mask: MaskRle } => d.mask !== undefined);
  if (!masks.length) return undefined;
  const [height, width] = masks[0].mask.size;
  const rgba = Buffer.alloc(width * height * 4);
  for (const d of masks) {
    const [h, w] = d.mask.size;
    if (h !== height || w !== width) continue;
    const [r, g, b] = colourOf(d);
    let i = 0;
    d.mask.counts.forEach((n, k) => {
      if (k % 2 === 1) {
        for (let j = i; j < i + n; j++) {
          const o = ((j % h) * w + Math.floor(j / h)) * 4;
          rgba[o] = r;
          rgba[o + 1] = g;
          rgba[o + 2] = b;
          rgba[o + 3] = MASK_ALPHA;
        }
      }
      i += n;
    });
  }
  return { rgba, width, height };
}

export async function renderSnapshot(result: FrameResult & { jpeg: Uint8Array }): Promise<Buffer> {
  const image = sharp(result.jpeg);
  const { width = result.width, height = result.height } = await image.metadata();
  const layers: OverlayOptions[] = [];
  const masks = maskLayer(result.detections);
  if (masks) {
    // The layer is at source size; the JPEG may have been scaled down (jpegMaxWidth).
    const input = await sharp(masks.rgba, { raw: { width: masks.width, height: masks.height, channels: 4 } })
      .resize(width, height, { fit: 'fill' })
      .png({ compressionLevel: 0 })
      .toBuffer();
    layers.push({ input, top: 0, left: 0 });
  }
  layers.push({ input: Buffer.from(overlaySvg(result, width, height)), top: 0, left: 0 });
  return image.composite(layers).jpeg({ quality: 85 }).toBuffer();
}
