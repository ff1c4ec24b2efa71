/**
 * The analytics settings of one stream (`"analytics"` in a stream's config, `--analytics FILE` for
 * `analyze`) and their resolution to pixel geometry for a frame size. docs/analytics.md is the
 * contract; the defaults live here.
 */
import type { Anchor, Point } from './geometry.js';
import { doubleArea } from './geometry.js';

/** `normalized`: x and y are fractions (0..1) of the frame's width and height, so a config survives a resolution change. */
export type Coordinates = 'pixels' | 'normalized';

/** Class ids (numbers) or labels (strings); absent or empty = every class. */
export type ClassFilter = Array<number | string>;

/** Settings a zone and a line share. */
export interface RuleSettings {
  classes?: ClassFilter;
  anchor?: Anchor;
  /** Consecutive frames a track must show the new state before it counts (enter, exit, side of a line). */
  minFrames?: number;
  /** Dead band around a line or outside a zone's edge, as a fraction of the object's box size ((w + h) / 2). */
  hysteresis?: number;
  coordinates?: Coordinates;
}

export interface ZoneConfig extends RuleSettings {
  name: string;
  polygon: Array<[number, number]>;
  /** Dwell (seconds of stream time) after which one zone_loiter is emitted per visit; absent = never. */
  loiterSeconds?: number;
}

export interface LineConfig extends RuleSettings {
  name: string;
  from: [number, number];
  to: [number, number];
}

export interface AnalyticsConfig {
  /** Default for the zones and lines that do not say. */
  coordinates?: Coordinates;
  zones?: ZoneConfig[];
  lines?: LineConfig[];
}

export const ANALYTICS_DEFAULTS = {
  anchor: 'bottom-center' as Anchor,
  minFrames: 2,
  hysteresis: 0.1,
  coordinates: 'pixels' as Coordinates,
};

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

function rule(r: RuleSettings & { name: string }): ResolvedRule {
  return {
    name: r.name,
    classes: classMatcher(r.classes),
    anchor: r.anchor ?? ANALYTICS_DEFAULTS.anchor,
    minFrames: r.minFrames ?? ANALYTICS_DEFAULTS.minFrames,
    hysteresis: r.hysteresis ?? ANALYTICS_DEFAULTS.hysteresis,
  };
}

/** The config's zones and lines in source pixels of a `width` x `height` frame. */
export function resolveAnalytics(config: AnalyticsConfig, width: number, height: number): ResolvedAnalytics {
  const scaler = (c: Coordinates | undefined) => {
    const normalized = (c ?? config.coordinates ?? ANALYTICS_DEFAULTS.coordinates) === 'normalized';
    return (p: readonly [number, number]): Point => (normalized ? [p[0] * width, p[1] * height] : [p[0], p[1]]);
  };
  const lines = (config.lines ?? []).map((l): ResolvedLine => {
    const px = scaler(l.coordinates);
    return { ...rule(l), from: px(l.from), to: px(l.to) };
  });
  const zones = (config.zones ?? []).map((z): ResolvedZone => {
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

/** A problem with a config the schema cannot see, named by its path (e.g. `zones[1].polygon`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

/**
 * Checks what a structural schema does not: unique names, lines of non-zero length, polygons with an
 * area, normalised coordinates within 0..1.
 */
export function analyticsProblems(config: AnalyticsConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const unique = (kind: 'zones' | 'lines', names: string[]): void => {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (seen.has(n)) problems.push({ path: `${kind}[${i}].name`, message: `duplicate ${kind === 'zones' ? 'zone' : 'line'} name "${n}"` });
      seen.add(n);
    });
  };
  const normalized = (c: Coordinates | undefined): boolean => (c ?? config.coordinates) === 'normalized';
  const outsideUnitSquare = (p: [number, number]): boolean => p.some((v) => v < 0 || v > 1);
  const UNIT = 'normalized coordinates must be within 0..1';
  const zones = config.zones ?? [];
  const lines = config.lines ?? [];
  unique('zones', zones.map((z) => z.name));
  unique('lines', lines.map((l) => l.name));
  zones.forEach((z, i) => {
    const bad = normalized(z.coordinates) ? z.polygon.findIndex(outsideUnitSquare) : -1;
    if (bad >= 0) problems.push({ path: `zones[${i}].polygon[${bad}]`, message: UNIT });
    if (doubleArea(z.polygon) === 0) problems.push({ path: `zones[${i}].polygon`, message: 'polygon has no area (its points are on one line)' });
  });
  lines.forEach((l, i) => {
    for (const end of ['from', 'to'] as const) {
      if (normalized(l.coordinates) && outsideUnitSquare(l[end])) problems.push({ path: `lines[${i}].${end}`, message: UNIT });
    }
    if (l.from[0] === l.to[0] && l.from[1] === l.to[1]) problems.push({ path: `lines[${i}].to`, message: 'line has zero length (to equals from)' });
  });
  return problems;
}
