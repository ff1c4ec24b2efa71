/**
 * Draws one frame's results into its source-resolution pixels: translucent masks, analytics zones
 * and lines, short track trails, boxes, and a "label score #id" tag per detection, then the zone
 * and line names with their running counts. Sizes follow the frame (a 1080p frame gets thicker
 * lines and larger text than a 480p one), as Ultralytics' annotator does.
 */
import type { AnalyticsCounts, Detection, FrameResult } from '../../types.js';
import { drawText, textHeight, textWidth } from './font.js';
import { blendRle, drawLine, fillRect, polygonSpans, SpanFill, strokeBox, strokePolygon, type Rgb, type YuvImage } from './image.js';
import { classRgb, textRgbOn } from './palette.js';
import { DEFAULT_TRAIL_OPTIONS, TrackTrails, type TrailOptions } from '../../geometry/trails.js';

export type Point = readonly [x: number, y: number];

/** A zone as drawn: its polygon (source pixels) and the count shown beside its name. */
export interface ZoneOverlay {
  name: string;
  polygon: readonly Point[];
  /** Text after the name, e.g. "3 inside, 41 entered". */
  counts: string;
}

/** A counting line as drawn: its two ends (source pixels) and the counts shown beside its name. */
export interface LineOverlay {
  name: string;
  a: Point;
  b: Point;
  /** Text after the name, e.g. "in 12 out 9". */
  counts: string;
}

export interface AnalyticsOverlay {
  zones: readonly ZoneOverlay[];
  lines: readonly LineOverlay[];
}

export interface AnnotatorOptions {
  /** Mask opacity 0..1 (default 0.45). */
  maskOpacity?: number;
  /** Zone fill opacity 0..1 (default 0.15). */
  zoneOpacity?: number;
  trails?: TrailOptions;
}

/** Line thickness and font scale for a frame size. */
export interface DrawStyle {
  thickness: number;
  fontScale: number;
}

export function styleFor(width: number, height: number): DrawStyle {
  const side = (width + height) / 2;
  return { thickness: Math.max(2, Math.round(side * 0.003)), fontScale: Math.max(1, Math.round(side / 350)) };
}

const ZONE_RGB: Rgb = [255, 255, 255];
const LINE_RGB: Rgb = [255, 230, 0];

const alpha256 = (opacity: number): number => Math.round(Math.min(1, Math.max(0, opacity)) * 256);

/** Draws into frames of one stream, in order (trails remember earlier frames). */
export class FrameAnnotator {
  private readonly trails: TrackTrails;
  private readonly maskAlpha: number;
  private readonly zoneAlpha: number;
  /** Zone fills per polygon, for the frame size they were computed at. */
  private readonly zoneFills = new Map<readonly Point[], { width: number; height: number; fill: SpanFill }>();

  constructor(options: AnnotatorOptions = {}) {
    this.trails = new TrackTrails(options.trails ?? DEFAULT_TRAIL_OPTIONS);
    this.maskAlpha = alpha256(options.maskOpacity ?? 0.45);
    this.zoneAlpha = alpha256(options.zoneOpacity ?? 0.15);
  }

  /** Forget the trails (a discontinuity: seek, loop, reconnect). */
  reset(): void {
    this.trails.clear();
  }

  draw(img: YuvImage, result: FrameResult, analytics?: AnalyticsOverlay): void {
    const style = styleFor(img.width, img.height);
    const { thickness: t } = style;
    const detections = inImageSpace(result, img);
    this.trails.update(result.index, detections, (d) => d.trackId);

    for (const d of detections) if (d.mask) blendRle(img, d.mask, classRgb(d.class), this.maskAlpha);

    if (analytics) {
      for (const z of analytics.zones) {
        this.fillOf(z.polygon, img).blend(img, ZONE_RGB, this.zoneAlpha);
        strokePolygon(img, z.polygon, t, ZONE_RGB);
      }
      for (const l of analytics.lines) drawLine(img, l.a[0], l.a[1], l.b[0], l.b[1], t, LINE_RGB);
    }

    const trailWidth = Math.max(1, t - 1);
    for (const d of detections) {
      if (d.trackId === undefined) continue;
      const points = this.trails.trail(d.trackId);
      const c = classRgb(d.class);
      for (let i = 1; i < points.length; i++) drawLine(img, points[i - 1][0], points[i - 1][1], points[i][0], points[i][1], trailWidth, c);
    }

    for (const d of detections) strokeBox(img, d.box, t, classRgb(d.class));
    // Tags after every box, so no box is drawn across another's text.
    for (const d of detections) {
      const tag = `${d.label} ${d.score.toFixed(2)}${d.trackId !== undefined ? ` #${d.trackId}` : ''}`;
      drawTag(img, tag, d.box[0] - Math.floor(t / 2), d.box[1] - Math.floor(t / 2), classRgb(d.class), style, 'above');
    }

    if (analytics) {
      for (const z of analytics.zones) {
        const top = z.polygon.reduce((best, p) => (p[1] < best[1] || (p[1] === best[1] && p[0] < best[0]) ? p : best), z.polygon[0]);
        if (top) drawTag(img, `${z.name}: ${z.counts}`, top[0], top[1], ZONE_RGB, style, 'below');
      }
      for (const l of analytics.lines) {
        drawTag(img, `${l.name}: ${l.counts}`, (l.a[0] + l.b[0]) / 2, (l.a[1] + l.b[1]) / 2, LINE_RGB, style, 'below');
      }
    }
  }

  private fillOf(polygon: readonly Point[], img: YuvImage): SpanFill {
    const cached = this.zoneFills.get(polygon);
    if (cached && cached.width === img.width && cached.height === img.height) return cached.fill;
    const fill = new SpanFill(polygonSpans(polygon, img.width, img.height));
    this.zoneFills.set(polygon, { width: img.width, height: img.height, fill });
    return fill;
  }
}

/**
 * The detections in the image's pixels: results of a source that changed resolution refer to the
 * new size while the images keep the first one (decoder `source` output), so boxes are scaled;
 * masks of the other size are left out.
 */
function inImageSpace(result: FrameResult, img: YuvImage): readonly Detection[] {
  if (result.width === img.width && result.height === img.height) return result.detections;
  const sx = img.width / result.width;
  const sy = img.height / result.height;
  return result.detections.map(({ mask: _mask, ...d }) => ({ ...d, box: [d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy] }));
}

/** Zones and lines in source pixels, as the analytics settings resolve them for a frame size. */
export interface AnalyticsGeometry {
  zones: ReadonlyArray<{ name: string; polygon: readonly Point[] }>;
  lines: ReadonlyArray<{ name: string; from: Point; to: Point }>;
}

const sum = (counts: Record<string, number> | undefined): number => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);

/** What to draw for the zones and lines with the stream's latest counts (totals over labels). */
export function analyticsOverlay(geometry: AnalyticsGeometry, counts: AnalyticsCounts | undefined): AnalyticsOverlay {
  return {
    zones: geometry.zones.map((z) => ({ name: z.name, polygon: z.polygon, counts: `${sum(counts?.zones[z.name])} inside` })),
    lines: geometry.lines.map((l) => {
      const c = counts?.lines[l.name];
      return { name: l.name, a: l.from, b: l.to, counts: `in ${sum(c?.in)} out ${sum(c?.out)}` };
    }),
  };
}

/**
 * A filled tag with text, anchored at (x, y): 'above' puts its bottom-left there (or inside, below
 * the anchor, when there is no room above), 'below' its top-left. Kept inside the frame.
 */
export function drawTag(img: YuvImage, text: string, x: number, y: number, background: Rgb, style: DrawStyle, place: 'above' | 'below'): void {
  const s = style.fontScale;
  const pad = s;
  const w = textWidth(text, s) + 2 * pad;
  const h = textHeight(s) + 2 * pad;
  let ty = place === 'above' ? Math.round(y) - h : Math.round(y);
  if (ty < 0) ty = place === 'above' ? Math.max(0, Math.round(y)) : 0;
  ty = Math.max(0, Math.min(ty, img.height - h));
  const tx = Math.max(0, Math.min(Math.round(x), img.width - w));
  // The text starts at even coordinates, so at an even font scale its squares are whole chroma
  // blocks; the background grows by the pixel this moves it, keeping its place.
  const ex = tx & ~1;
  const ey = ty & ~1;
  fillRect(img, ex, ey, tx + w, ty + h, background);
  drawText(img, ex + pad, ey + pad, text, s, textRgbOn(background));
}
