/**
 * A stream's analytics settings (src/config/schema.ts: AnalyticsSchema, validated with its defaults
 * filled in by parseAnalytics) resolved to pixel geometry for a frame size.
 */
import type { AnalyticsSettings, Anchor, Coordinates, LineSettings, ZoneSettings } from '../config/schema.js';
import type { Point } from '../geometry/plane.js';

export type ClassFilter = Array<number | string>;

/** A class filter as sets; `undefined` matches everything. */
export interface ClassMatcher {
  ids: ReadonlySet<number>;
  labels: ReadonlySet<string>;
}

export function classMatcher(classes: ClassFilter | undefined): ClassMatcher | undefined {
  if (!classes || classes.length === 0) return undefined;
  return {
    ids: new Set(classes.filter((c): c is number => typeof c === 'number')),
    labels: new Set(classes.filter((c): c is string => typeof c === 'string')),
  };
}

export function matchesClass(m: ClassMatcher | undefined, cls: number, label: string): boolean {
  return !m || m.ids.has(cls) || m.labels.has(label);
}

interface ResolvedRule {
  name: string;
  classes: ClassMatcher | undefined;
  anchor: Anchor;
  minFrames: number;
  hysteresis: number;
}

export interface ResolvedLine extends ResolvedRule {
  from: Point;
  to: Point;
}

export interface ResolvedZone extends ResolvedRule {
  polygon: Point[];
  /** Bounding box of the polygon [x1, y1, x2, y2], for a quick reject. */
  bounds: [number, number, number, number];
  loiterSeconds: number | undefined;
}

export interface ResolvedAnalytics {
  width: number;
  height: number;
  lines: ResolvedLine[];
  zones: ResolvedZone[];
}

function rule(r: ZoneSettings | LineSettings): ResolvedRule {
  return { name: r.name, classes: classMatcher(r.classes), anchor: r.anchor, minFrames: r.minFrames, hysteresis: r.hysteresis };
}

/** The config's zones and lines in source pixels of a `width` x `height` frame. */
export function resolveAnalytics(config: AnalyticsSettings, width: number, height: number): ResolvedAnalytics {
  const scaler = (c: Coordinates | undefined) => {
    const normalized = (c ?? config.coordinates) === 'normalized';
    return (p: readonly [number, number]): Point => (normalized ? [p[0] * width, p[1] * height] : [p[0], p[1]]);
  };
  const lines = config.lines.map((l): ResolvedLine => {
    const px = scaler(l.coordinates);
    return { ...rule(l), from: px(l.from), to: px(l.to) };
  });
  const zones = config.zones.map((z): ResolvedZone => {
    const px = scaler(z.coordinates);
    const polygon = z.polygon.map(px);
    const xs = polygon.map((p) => p[0]);
    const ys = polygon.map((p) => p[1]);
    return {
      ...rule(z),
      polygon,
      bounds: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
      loiterSeconds: z.loiterSeconds,
    };
  });
  return { width, height, lines, zones };
}
