/** The latest frame of a stream as a JPEG with its boxes and labels drawn (sharp + SVG overlay). */
import sharp from 'sharp';
import type { FrameResult } from '../types.js';

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

export async function renderSnapshot(result: FrameResult & { jpeg: Uint8Array }): Promise<Buffer> {
  const image = sharp(result.jpeg);
  const { width = result.width, height = result.height } = await image.metadata();
  return image
    .composite([{ input: Buffer.from(overlaySvg(result, width, height)), top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toBuffer();
}
