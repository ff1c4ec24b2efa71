/**
 * The picture of an event: the JPEG of the frame it happened on, with the object's box and a
 * caption (`person #12 in door`) drawn (sharp: an SVG overlay, as the stream snapshot).
 */
import sharp from 'sharp';
import type { AnalyticsEvent } from '../../types.js';

const COLOURS: Record<AnalyticsEvent['type'], string> = {
  line_cross: '#ffb21d',
  zone_enter: '#48f90a',
  zone_exit: '#00c2ff',
  zone_loiter: '#ff3838',
};

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

export function eventCaption(e: AnalyticsEvent): string {
  const what = e.type === 'line_cross' ? `${e.direction} ${e.line}` : `${e.type.slice(5)} ${e.zone}`;
  return `${e.label} #${e.track_id} ${what}`;
}

/** SVG of the event's box and caption at `width` x `height` (boxes are in source pixels `srcWidth` x `srcHeight`). */
export function eventOverlaySvg(e: AnalyticsEvent, srcWidth: number, srcHeight: number, width: number, height: number): string {
  const sx = width / srcWidth;
  const sy = height / srcHeight;
  const [x1, y1, x2, y2] = [e.box[0] * sx, e.box[1] * sy, e.box[2] * sx, e.box[3] * sy];
  const colour = COLOURS[e.type];
  const font = Math.max(12, Math.round(height / 30));
  const stroke = Math.max(3, Math.round(height / 160));
  const ty = y1 > font + 6 ? y1 - 6 : Math.min(height - 4, y2 + font + 4);
  const caption = eventCaption(e);
  // Bold sans-serif runs about 0.62 em per character: a caption that would leave the picture on the
  // right ends at the box's right edge (or the picture's) instead.
  const textWidth = caption.length * font * 0.62;
  const fromRight = x1 + textWidth > width - 2;
  const tx = fromRight ? Math.min(width - 2, Math.max(x2, textWidth + 2)) : Math.max(2, x1);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>` +
    `<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="${fromRight ? 'end' : 'start'}" font-family="sans-serif" font-weight="bold" font-size="${font}" fill="${colour}" stroke="black" stroke-width="0.7">${escapeXml(caption)}</text>` +
    `</svg>`
  );
}

/** The frame's JPEG (possibly scaled down from the source) with the event drawn. */
export async function renderEventSnapshot(jpeg: Uint8Array, srcWidth: number, srcHeight: number, event: AnalyticsEvent): Promise<Buffer> {
  const image = sharp(jpeg);
  const { width = srcWidth, height = srcHeight } = await image.metadata();
  return image
    .composite([{ input: Buffer.from(eventOverlaySvg(event, srcWidth, srcHeight, width, height)), top: 0, left: 0 }])
    .jpeg({ quality: 80 })
    .toBuffer();
}
