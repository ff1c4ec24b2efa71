/**
 * Analytics of one stream: turns tracked detections, frame by frame, into line and zone events and
 * counts. Pure (no I/O); the stage (stage.ts) feeds it the FrameResults in frame order.
 *
 * Per frame (`process`), top to bottom:
 *  1. advance the stream clock (pts; a discontinuity or a pts going back adds nothing);
 *  2. a track id seen for the first time takes over the state of a lost track it replaces (id switch);
 *  3. every tracked detection, in track id order, steps each line rule, then each zone rule;
 *  4. tracks not seen for `lostSeconds` are forgotten, ending their zone visits.
 * Detections without a track id take no part: without an identity nothing can cross or dwell.
 */
import type { AnalyticsCounts, AnalyticsEvent, Box, Detection, FrameResult, LineCrossEvent, ZoneEvent } from '../types.js';
import type { AnalyticsSettings } from '../config/schema.js';
import type { ResolvedAnalytics, ResolvedLine, ResolvedZone } from './config.js';
import { matchesClass, resolveAnalytics } from './config.js';
import { uuidv7 } from './eventId.js';
import { anchorPoint } from '../geometry/plane.js';
import type { LineTrackState } from './lineCrossing.js';
import { clearRun, newLineState, stepLine } from './lineCrossing.js';
import type { ZoneTrackState } from './zoneOccupancy.js';
import { loiterDue, newZoneState, stepZone } from './zoneOccupancy.js';

export interface AnalyticsEngineOptions {
  /** Stream seconds after which a track that is not seen is gone (the tracker's lostTrackSeconds). */
  lostSeconds: number;
  /** Stamp events with the wall clock of the frame's capture (`time`): live streams. */
  wallClock: boolean;
  /** Event id factory (default UUID v7). */
  newId?: () => string;
}

interface TrackRecord {
  id: number;
  cls: number;
  label: string;
  box: Box;
  lastSeen: number;
  /** The engine's frame counter when last seen. */
  seenFrame: number;
  /** Per line and per zone, in config order. */
  lines: LineTrackState[];
  zones: ZoneTrackState[];
}

/** Counts as mutable maps: line name → label → n, zone name → label → n. */
interface CountMaps {
  lineIn: Map<string, Map<string, number>>;
  lineOut: Map<string, Map<string, number>>;
  zones: Map<string, Map<string, number>>;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
const round3 = (v: number): number => Math.round(v * 1000) / 1000;
const round4 = (v: number): number => Math.round(v * 10000) / 10000;
const roundBox = (b: Box): Box => [round2(b[0]), round2(b[1]), round2(b[2]), round2(b[3])];

function boxSize(b: Box): number {
  return (b[2] - b[0] + (b[3] - b[1])) / 2;
}

function center(b: Box): [number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

function add(m: Map<string, number>, label: string, n: number): void {
  m.set(label, (m.get(label) ?? 0) + n);
}

export class AnalyticsEngine {
  private config: AnalyticsSettings;
  private readonly options: AnalyticsEngineOptions;
  private readonly newId: () => string;
  private geometry: ResolvedAnalytics | undefined;
  private tracks = new Map<number, TrackRecord>();
  private counts: CountMaps = { lineIn: new Map(), lineOut: new Map(), zones: new Map() };
  private frameNo = 0;
  /** Stream clock: pts plus an offset that keeps it from going back across discontinuities. */
  private clock = 0;
  private clockOffset = 0;
  private continuous = false;
  private changed = true;

  constructor(config: AnalyticsSettings, options: AnalyticsEngineOptions) {
    this.config = config;
    this.options = { ...options };
    this.newId = options.newId ?? uuidv7;
    this.initCounts();
  }

  /** Events of this frame, in the order they happened. */
  process(result: FrameResult): AnalyticsEvent[] {
    const t = this.advanceClock(result.pts);
    const g = this.geometryFor(result.width, result.height);
    const frame = ++this.frameNo;
    const events: AnalyticsEvent[] = [];
    const tracked = result.detections.filter((d): d is Detection & { trackId: number } => d.trackId !== undefined);
    tracked.sort((a, b) => a.trackId - b.trackId);

    for (const d of tracked) {
      const known = this.tracks.get(d.trackId);
      if (known) known.seenFrame = frame;
    }
    for (const d of tracked) {
      if (!this.tracks.has(d.trackId)) this.tracks.set(d.trackId, this.successorOf(d, t, frame, g));
    }

    for (const d of tracked) {
      const rec = this.tracks.get(d.trackId)!;
      rec.cls = d.class;
      rec.label = d.label;
      rec.box = d.box;
      rec.lastSeen = t;
      const size = boxSize(d.box);
      g.lines.forEach((line, i) => {
        if (!matchesClass(line.classes, d.class, d.label)) return;
        const direction = stepLine(rec.lines[i]!, line, anchorPoint(d.box, line.anchor), line.hysteresis * size);
        if (!direction) return;
        add((direction === 'in' ? this.counts.lineIn : this.counts.lineOut).get(line.name)!, d.label, 1);
        this.changed = true;
        events.push(this.lineEvent(result, line, direction, d));
      });
      g.zones.forEach((zone, i) => {
        if (!matchesClass(zone.classes, d.class, d.label)) return;
        const s = rec.zones[i]!;
        const change = stepZone(s, zone, anchorPoint(d.box, zone.anchor), zone.hysteresis * size, t, d.label);
        if (change === 'enter') {
          add(this.counts.zones.get(zone.name)!, s.label, 1);
          this.changed = true;
          events.push(this.zoneEvent(result, zone, 'zone_enter', rec, undefined));
        } else if (change === 'exit') {
          add(this.counts.zones.get(zone.name)!, s.label, -1);
          this.changed = true;
          events.push(this.zoneEvent(result, zone, 'zone_exit', rec, s.exitedAt - s.enteredAt));
        }
        if (loiterDue(s, zone, t)) events.push(this.zoneEvent(result, zone, 'zone_loiter', rec, t - s.enteredAt));
      });
    }

    for (const rec of this.tracks.values()) {
      if (t - rec.lastSeen <= this.options.lostSeconds) continue;
      // The track is gone: its visits end where it was last seen.
      g.zones.forEach((zone, i) => {
        const s = rec.zones[i]!;
        if (!s.inside) return;
        s.inside = false;
        add(this.counts.zones.get(zone.name)!, s.label, -1);
        this.changed = true;
        events.push(this.zoneEvent(result, zone, 'zone_exit', rec, rec.lastSeen - s.enteredAt));
      });
      this.tracks.delete(rec.id);
    }
    return events;
  }

  /**
   * A discontinuity (reconnect, seek, loop, reset): positions before and after it are not one
   * motion, so every track's side of each line is forgotten (found again without an event) with
   * any frames counted toward a change. Zone visits go on and end as usual.
   */
  flush(): void {
    this.continuous = false;
    for (const rec of this.tracks.values()) {
      for (const s of rec.lines) {
        s.side = 0;
        s.lastClear = undefined;
        clearRun(s);
      }
      for (const s of rec.zones) s.runFrames = 0;
    }
  }

  /** True once after any count changed (and at the start): the caller publishes the counts then. */
  takeCountsChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }

  /** The current counts, as a fresh plain object. */
  snapshotCounts(): AnalyticsCounts {
    const plain = (m: Map<string, number>): Record<string, number> => Object.fromEntries(m);
    const lines: AnalyticsCounts['lines'] = {};
    for (const l of this.config.lines) {
      lines[l.name] = { in: plain(this.counts.lineIn.get(l.name)!), out: plain(this.counts.lineOut.get(l.name)!) };
    }
    const zones: AnalyticsCounts['zones'] = {};
    for (const z of this.config.zones) zones[z.name] = plain(this.counts.zones.get(z.name)!);
    return { lines, zones };
  }

  /**
   * Line counts back to 0 (labels stay, at 0). Zone occupancy is the present, not a tally: a reset
   * does not make anyone leave.
   */
  resetCounts(): void {
    for (const m of [...this.counts.lineIn.values(), ...this.counts.lineOut.values()]) {
      for (const label of m.keys()) m.set(label, 0);
    }
    this.changed = true;
  }

  /**
   * Applies a new config to the running stream. Lines and zones whose definition is unchanged keep
   * their counts and every track's state toward them; the others start from nothing (a removed
   * zone's visits end without events: the zone no longer exists). `lostSeconds` follows the tracker's.
   */
  configure(config: AnalyticsSettings, lostSeconds = this.options.lostSeconds): void {
    this.options.lostSeconds = lostSeconds;
    const same = <T>(before: T[], after: T[]): Array<number | undefined> => {
      const keys = new Map(before.map((item, i) => [JSON.stringify(item), i]));
      return after.map((item) => keys.get(JSON.stringify(item)));
    };
    const lineFrom = same(this.config.lines, config.lines);
    const zoneFrom = same(this.config.zones, config.zones);
    for (const rec of this.tracks.values()) {
      rec.lines = lineFrom.map((i) => (i === undefined ? newLineState() : rec.lines[i]!));
      rec.zones = zoneFrom.map((i) => (i === undefined ? newZoneState() : rec.zones[i]!));
    }
    const kept = (m: Map<string, Map<string, number>>, names: string[], from: Array<number | undefined>) =>
      new Map(names.map((n, i) => [n, from[i] === undefined ? new Map<string, number>() : m.get(n)!]));
    const lineNames = config.lines.map((l) => l.name);
    const zoneNames = config.zones.map((z) => z.name);
    this.counts = {
      lineIn: kept(this.counts.lineIn, lineNames, lineFrom),
      lineOut: kept(this.counts.lineOut, lineNames, lineFrom),
      zones: kept(this.counts.zones, zoneNames, zoneFrom),
    };
    this.config = config;
    this.geometry = undefined;
    this.changed = true;
  }

  private initCounts(): void {
    for (const l of this.config.lines) {
      this.counts.lineIn.set(l.name, new Map());
      this.counts.lineOut.set(l.name, new Map());
    }
    for (const z of this.config.zones) this.counts.zones.set(z.name, new Map());
  }

  private advanceClock(pts: number): number {
    if (!this.continuous || pts + this.clockOffset < this.clock) this.clockOffset = this.clock - pts;
    this.continuous = true;
    this.clock = pts + this.clockOffset;
    return this.clock;
  }

  private geometryFor(width: number, height: number): ResolvedAnalytics {
    if (!this.geometry || this.geometry.width !== width || this.geometry.height !== height) {
      this.geometry = resolveAnalytics(this.config, width, height);
    }
    return this.geometry;
  }

  /**
   * The record of a track id seen for the first time. When a track of the same class was lost (not
   * seen this frame, nor forgotten yet) within one box size ((w + h) / 2 of its last box) of the new
   * box's centre, the tracker most likely switched ids: the nearest such track's state moves to the
   * new id (its visits continue, its sides stand), so the object is not counted twice.
   */
  private successorOf(d: Detection & { trackId: number }, t: number, frame: number, g: ResolvedAnalytics): TrackRecord {
    const [cx, cy] = center(d.box);
    let best: TrackRecord | undefined;
    let bestDistance = Infinity;
    for (const rec of this.tracks.values()) {
      if (rec.seenFrame === frame || rec.cls !== d.class || t - rec.lastSeen > this.options.lostSeconds) continue;
      const [lx, ly] = center(rec.box);
      const distance = Math.hypot(cx - lx, cy - ly);
      if (distance <= boxSize(rec.box) && distance < bestDistance) {
        best = rec;
        bestDistance = distance;
      }
    }
    if (best) {
      this.tracks.delete(best.id);
      for (const s of best.lines) clearRun(s);
      for (const s of best.zones) s.runFrames = 0;
      return { ...best, id: d.trackId, seenFrame: frame };
    }
    return {
      id: d.trackId,
      cls: d.class,
      label: d.label,
      box: d.box,
      lastSeen: t,
      seenFrame: frame,
      lines: g.lines.map(newLineState),
      zones: g.zones.map(newZoneState),
    };
  }

  private lineEvent(result: FrameResult, line: ResolvedLine, direction: 'in' | 'out', d: Detection & { trackId: number }): LineCrossEvent {
    return this.stamped(result, {
      id: this.newId(),
      type: 'line_cross',
      stream: result.streamId,
      line: line.name,
      direction,
      track_id: d.trackId,
      class: d.class,
      label: d.label,
      score: round4(d.score),
      box: roundBox(d.box),
      frame: result.index,
      pts: result.pts,
    });
  }

  private zoneEvent(result: FrameResult, zone: ResolvedZone, type: ZoneEvent['type'], rec: TrackRecord, dwell: number | undefined): ZoneEvent {
    const event = this.stamped<ZoneEvent>(result, {
      id: this.newId(),
      type,
      stream: result.streamId,
      zone: zone.name,
      track_id: rec.id,
      class: rec.cls,
      label: rec.label,
      box: roundBox(rec.box),
      frame: result.index,
      pts: result.pts,
    });
    if (dwell !== undefined) event.dwell = round3(dwell);
    return event;
  }

  private stamped<E extends AnalyticsEvent>(result: FrameResult, event: E): E {
    if (this.options.wallClock) event.time = new Date(result.timing.captureTs).toISOString();
    return event;
  }
}
