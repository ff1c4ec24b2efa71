/**
 * Draws one frame's results over its image: translucent masks, track trails, boxes and a
 * "label score #id" tag. Coordinates arrive in source pixels and are scaled to the canvas.
 */
import type { Rgb } from '../../output/render/image.js';
import { classRgb, textRgbOn } from '../../output/render/palette.js';
import { paintRle } from './rle.js';
import { placeTags, type Rect } from './tagLayout.js';
import type { TrackTrails } from '../../geometry/trails.js';
import type { MotionJson, WireObject } from './wire.js';

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

/** The motion regions' colour: a pure yellow that no class has, so a region never passes for a detection. */
export const MOTION_RGB: Rgb = [255, 255, 0];
const MOTION_CSS = css(MOTION_RGB);

/**
 * A frame's motion regions (what the motion estimate saw move, docs/motion.md) as dashed boxes,
 * scaled like the detections. Drawn under them: their tags stay readable.
 */
export class MotionRegionsLayer {
  /** The dash pattern at the pixel ratio it was made for: made again only when that changes, not per frame. */
  private dash: number[] = [];
  private dashRatio = 0;

  /** Returns how many boxes it drew (none where the frame has no `regions`: nothing moved). */
  draw(ctx: CanvasRenderingContext2D, regions: MotionJson['regions'], frame: { sourceWidth: number; sourceHeight: number; pixelRatio: number }): number {
    if (!regions?.length) return 0;
    const pr = frame.pixelRatio;
    if (this.dashRatio !== pr) {
      this.dash = [6 * pr, 4 * pr];
      this.dashRatio = pr;
    }
    const sx = ctx.canvas.width / frame.sourceWidth;
    const sy = ctx.canvas.height / frame.sourceHeight;
    ctx.save();
    ctx.setLineDash(this.dash);
    ctx.strokeStyle = MOTION_CSS;
    ctx.lineWidth = 2 * pr;
    for (const [x1, y1, x2, y2] of regions) ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    ctx.restore();
    return regions.length;
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

/** Videos narrower than this (CSS px) get the smaller tag font. */
const SMALL_VIDEO_PX = 400;

/** A tag as drawn: where, and its colours (for tests that check the contrast on the canvas). */
export interface DrawnTag extends Rect {
  background: Rgb;
  text: Rgb;
}

/**
 * Draws masks, trails, boxes, then tags; highest score last (on top). Tags are opaque in the class
 * colour with black or white text, whichever contrasts more (at least 4.5:1 on any colour), and
 * placed by placeTags: no tag covers another, and objects without room for theirs keep the box.
 */
export function drawOverlay(ctx: CanvasRenderingContext2D, input: OverlayInput): DrawnTag[] {
  const { trails, pixelRatio: pr } = input;
  const sx = ctx.canvas.width / input.sourceWidth;
  const sy = ctx.canvas.height / input.sourceHeight;
  const objects = [...input.objects].sort((a, b) => a.score - b.score);
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

  // Small videos (a phone, a grid of many) get smaller tags, so they cover less of the picture.
  const fontPx = Math.round((ctx.canvas.width / pr < SMALL_VIDEO_PX ? 10 : 12) * pr);
  ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  const boxes = objects.map((o) => ({ x: o.box[0] * sx, y: o.box[1] * sy, w: (o.box[2] - o.box[0]) * sx, h: (o.box[3] - o.box[1]) * sy }));
  const texts = objects.map((o) => `${o.label} ${o.score.toFixed(2)}${o.track_id !== null ? ` #${o.track_id}` : ''}`);
  // Placed best score first: the most certain objects get the best places.
  const order = objects.map((_, i) => i).reverse();
  const places = placeTags(
    order.map((i) => ({ box: boxes[i]!, w: ctx.measureText(texts[i]!).width + 6 * pr, h: fontPx + 4 * pr })),
    ctx.canvas.width,
    ctx.canvas.height,
  );
  const placeOf = new Map(order.map((i, k) => [i, places[k]]));
  for (const [i, o] of objects.entries()) {
    const b = boxes[i]!;
    ctx.strokeStyle = css(classRgb(o.class));
    ctx.lineWidth = 2 * pr;
    ctx.strokeRect(b.x, b.y, b.w, b.h);
  }
  // Tags after every box: no box line runs through a tag.
  const drawn: DrawnTag[] = [];
  for (const [i, o] of objects.entries()) {
    const t = placeOf.get(i);
    if (!t) continue;
    const colour = classRgb(o.class);
    const text = textRgbOn(colour);
    ctx.fillStyle = css(colour);
    ctx.fillRect(t.x, t.y, t.w, t.h);
    ctx.fillStyle = css(text);
    ctx.fillText(texts[i]!, t.x + 3 * pr, t.y + 2 * pr);
    drawn.push({ ...t, background: colour, text });
  }
  return drawn;
}
