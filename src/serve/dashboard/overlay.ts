/**
 * Draws one frame's results over its image: translucent masks, track trails, boxes and a
 * "label score #id" tag. Coordinates arrive in source pixels and are scaled to the canvas.
 */
import { classRgb, textRgbOn } from '../../output/render/palette.js';
import { paintRle } from './rle.js';
import type { TrackTrails } from './trails.js';
import type { WireObject } from './wire.js';

function css([r, g, b]: readonly [number, number, number], alpha = 1): string {
  return `rgba(${r},${g},${b},${alpha})`;
}

/** All masks of a frame composed at source size in one ImageData, then scaled onto the canvas at once. */
export class MaskLayer {
  private canvas: OffscreenCanvas | undefined;
  private image: ImageData | undefined;

  draw(ctx: CanvasRenderingContext2D, objects: readonly WireObject[], alpha = 0.45): void {
    const withMask = objects.filter((o) => o.mask);
    if (withMask.length === 0) return;
    const [h, w] = withMask[0].mask!.size;
    if (!this.canvas || !this.image || this.image.width !== w || this.image.height !== h) {
      this.canvas = new OffscreenCanvas(w, h);
      this.image = new ImageData(w, h);
    }
    const pixels = new Uint32Array(this.image.data.buffer);
    pixels.fill(0);
    const a = Math.round(alpha * 255);
    for (const o of withMask) {
      const m = o.mask!;
      if (m.size[0] !== h || m.size[1] !== w) continue;
      const [r, g, b] = classRgb(o.class);
      // ImageData is RGBA in memory; a little-endian uint32 reads it as ABGR.
      paintRle(m, pixels, ((a << 24) | (b << 16) | (g << 8) | r) >>> 0);
    }
    this.canvas.getContext('2d')!.putImageData(this.image, 0, 0);
    ctx.drawImage(this.canvas, 0, 0, ctx.canvas.width, ctx.canvas.height);
  }
}

export interface OverlayInput {
  objects: readonly WireObject[];
  /** Source frame size the boxes refer to. */
  sourceWidth: number;
  sourceHeight: number;
  trails: TrackTrails;
  masks: MaskLayer;
  /** Canvas pixels per CSS pixel, so lines and text keep their on-screen size. */
  pixelRatio: number;
}

export function drawOverlay(ctx: CanvasRenderingContext2D, input: OverlayInput): void {
  const { objects, trails, pixelRatio: pr } = input;
  const sx = ctx.canvas.width / input.sourceWidth;
  const sy = ctx.canvas.height / input.sourceHeight;
  input.masks.draw(ctx, objects);

  ctx.lineJoin = 'round';
  for (const o of objects) {
    if (o.track_id === null) continue;
    const points = trails.trail(o.track_id);
    if (points.length < 2) continue;
    ctx.strokeStyle = css(classRgb(o.class), 0.8);
    ctx.lineWidth = 2 * pr;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x * sx, y * sy) : ctx.lineTo(x * sx, y * sy)));
    ctx.stroke();
  }

  const fontPx = Math.round(12 * pr);
  ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const o of objects) {
    const colour = classRgb(o.class);
    const [x1, y1, x2, y2] = [o.box[0] * sx, o.box[1] * sy, o.box[2] * sx, o.box[3] * sy];
    ctx.strokeStyle = css(colour);
    ctx.lineWidth = 2 * pr;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);

    const tag = `${o.label} ${o.score.toFixed(2)}${o.track_id !== null ? ` #${o.track_id}` : ''}`;
    const tw = ctx.measureText(tag).width + 6 * pr;
    const th = fontPx + 4 * pr;
    const ty = y1 - th >= 0 ? y1 - th : y1;
    const tx = Math.max(0, Math.min(x1, ctx.canvas.width - tw)); // keep the tag on the canvas
    ctx.fillStyle = css(colour, 0.85);
    ctx.fillRect(tx, ty, tw, th);
    ctx.fillStyle = css(textRgbOn(colour));
    ctx.fillText(tag, tx + 3 * pr, ty + 2 * pr);
  }
}
