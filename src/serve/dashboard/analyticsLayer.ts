/**
 * Draws a stream's zones and lines over its frame with their live counts (docs/analytics.md):
 * zones as translucent polygons tagged "name: occupancy", lines with an arrow to their "in" side
 * tagged "name in N · out M". A shape being drawn with the mouse is drawn dashed.
 */
import type { AnalyticsCounts, WireAnalyticsConfig } from './wire.js';

export type Pt = [number, number];

/** What the editor is drawing, in source pixels. */
export interface DraftShape {
  kind: 'zone' | 'line';
  points: Pt[];
  /** The mouse, for the segment still to be placed. */
  cursor?: Pt;
}

const ZONE_RGB = '0,194,255';
const LINE_RGB = '255,178,29';
const DRAFT_RGB = '255,255,255';

/** Config coordinates to source pixels (normalised ones scale with the frame). */
export function toSourcePixels(config: WireAnalyticsConfig, own: 'pixels' | 'normalized' | undefined, p: readonly number[], width: number, height: number): Pt {
  return (own ?? config.coordinates ?? 'pixels') === 'normalized' ? [p[0] * width, p[1] * height] : [p[0], p[1]];
}

const total = (m: Record<string, number> | undefined): number => Object.values(m ?? {}).reduce((a, b) => a + b, 0);

function tag(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, rgb: string, pr: number): void {
  const fontPx = Math.round(12 * pr);
  ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  const w = ctx.measureText(text).width + 8 * pr;
  const h = fontPx + 6 * pr;
  const tx = Math.max(0, Math.min(x, ctx.canvas.width - w));
  const ty = Math.max(0, Math.min(y, ctx.canvas.height - h));
  ctx.fillStyle = `rgba(${rgb},0.9)`;
  ctx.fillRect(tx, ty, w, h);
  ctx.fillStyle = '#000';
  ctx.fillText(text, tx + 4 * pr, ty + 3 * pr);
}

export interface AnalyticsLayerInput {
  config: WireAnalyticsConfig | undefined;
  counts: AnalyticsCounts | undefined;
  draft: DraftShape | undefined;
  sourceWidth: number;
  sourceHeight: number;
  /** Canvas pixels per CSS pixel. */
  pixelRatio: number;
}

export function drawAnalytics(ctx: CanvasRenderingContext2D, input: AnalyticsLayerInput): void {
  const { config, counts, draft, sourceWidth: W, sourceHeight: H, pixelRatio: pr } = input;
  const sx = ctx.canvas.width / W;
  const sy = ctx.canvas.height / H;
  const toCanvas = ([x, y]: Pt): Pt => [x * sx, y * sy];
  ctx.save();
  ctx.lineJoin = 'round';
  for (const z of config?.zones ?? []) {
    const pts = z.polygon.map((p) => toCanvas(toSourcePixels(config!, z.coordinates, p, W, H)));
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.closePath();
    ctx.fillStyle = `rgba(${ZONE_RGB},0.12)`;
    ctx.fill();
    ctx.strokeStyle = `rgba(${ZONE_RGB},0.9)`;
    ctx.lineWidth = 2 * pr;
    ctx.stroke();
    const top = pts.reduce((a, b) => (b[1] < a[1] || (b[1] === a[1] && b[0] < a[0]) ? b : a));
    tag(ctx, `${z.name}: ${total(counts?.zones[z.name])}`, top[0], top[1] + 2 * pr, ZONE_RGB, pr);
  }
  for (const l of config?.lines ?? []) {
    const a = toCanvas(toSourcePixels(config!, l.coordinates, l.from, W, H));
    const b = toCanvas(toSourcePixels(config!, l.coordinates, l.to, W, H));
    ctx.strokeStyle = `rgba(${LINE_RGB},0.95)`;
    ctx.lineWidth = 3 * pr;
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    // The "in" side is where cross(to - from, p - from) > 0: along the normal (-dy, dx).
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    const [nx, ny] = [-dy / len, dx / len];
    const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const s = 14 * pr;
    ctx.beginPath();
    ctx.moveTo(mx - nx * s, my - ny * s);
    ctx.lineTo(mx + nx * s, my + ny * s);
    ctx.moveTo(mx + nx * s + (-nx + ny) * s * 0.4, my + ny * s + (-ny - nx) * s * 0.4);
    ctx.lineTo(mx + nx * s, my + ny * s);
    ctx.lineTo(mx + nx * s + (-nx - ny) * s * 0.4, my + ny * s + (-ny + nx) * s * 0.4);
    ctx.lineWidth = 2 * pr;
    ctx.stroke();
    const c = counts?.lines[l.name];
    tag(ctx, `${l.name} in ${total(c?.in)} · out ${total(c?.out)}`, Math.min(a[0], b[0]), Math.min(a[1], b[1]) - 22 * pr, LINE_RGB, pr);
  }
  if (draft && draft.points.length > 0) {
    const pts = [...draft.points, ...(draft.cursor ? [draft.cursor] : [])].map(toCanvas);
    ctx.setLineDash([6 * pr, 4 * pr]);
    ctx.strokeStyle = `rgba(${DRAFT_RGB},0.95)`;
    ctx.lineWidth = 2 * pr;
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    if (draft.kind === 'zone' && pts.length > 2) ctx.closePath();
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = `rgba(${DRAFT_RGB},0.95)`;
    for (const [x, y] of draft.points.map(toCanvas)) ctx.fillRect(x - 3 * pr, y - 3 * pr, 6 * pr, 6 * pr);
  }
  ctx.restore();
}
