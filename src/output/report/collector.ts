/**
 * Gathers what the analysis report shows while the frames go by, in bounded memory: detections
 * per class per second of video, one summary per track (with a small JPEG of its best detection),
 * the analytics events and the last counts, and the processing speed.
 *
 * Thumbnails: a track's best detection (highest score) is cropped from the source frame and shrunk
 * at once (a few KB of raw pixels); once the track has not been seen for `idleSeconds` of video
 * its thumbnail is encoded to JPEG and the raw pixels are dropped, so a long video with many tracks
 * holds only the active tracks' raw crops.
 */
import sharp from 'sharp';
import type { AnalyticsCounts, AnalyticsEvent, Box, FrameResult } from '../../types.js';
import { cropRgb, shrinkImage, type RgbImage, type YuvImage } from '../render/image.js';

export interface TrackSummary {
  id: number;
  /** The class the track had on most of its frames. */
  class: number;
  label: string;
  firstPts: number;
  lastPts: number;
  firstFrame: number;
  lastFrame: number;
  /** Frames the track was reported on. */
  frames: number;
  bestScore: number;
  bestFrame: number;
  bestPts: number;
  bestBox: Box;
  /** JPEG of the best detection's crop, when frames came with pixels. */
  thumbnail?: Uint8Array;
}

export interface ClassSeries {
  class: number;
  label: string;
  total: number;
  /** Most detections of this class on one frame. */
  peak: number;
  /** Per second of video: mean detections of this class per frame in that second. */
  perSecond: number[];
}

export interface ProcessingStats {
  frames: number;
  /** Wall-clock seconds from the first frame to the last. */
  seconds: number;
  fps: number;
  /** Video seconds covered (last pts - first pts + one frame). */
  videoSeconds: number;
  /** Frames per wall second, per wall second. */
  fpsSeries: Array<{ t: number; fps: number }>;
}

export interface CollectedReport {
  processing: ProcessingStats;
  classes: ClassSeries[];
  tracks: TrackSummary[];
  events: AnalyticsEvent[];
  /** Events seen beyond `maxEvents` (counted, not listed). */
  eventsOmitted: number;
  counts?: AnalyticsCounts;
  /** Frames with detections but no tracker ids at all: the report says tracking was off. */
  tracked: boolean;
}

export interface CollectorOptions {
  /** Longer side of a thumbnail, pixels (default 112). */
  thumbnailSize?: number;
  /** Video seconds without a sighting before a track's thumbnail is encoded (default 5). */
  idleSeconds?: number;
  /** Events listed in the report (default 5000); later ones are counted. */
  maxEvents?: number;
}

interface TrackState extends Omit<TrackSummary, 'class' | 'label' | 'thumbnail'> {
  votes: Map<number, { n: number; label: string }>;
  raw?: RgbImage;
  jpeg?: Promise<Uint8Array | undefined>;
}

export async function encodeJpeg(img: RgbImage, quality = 82): Promise<Uint8Array> {
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

export class ReportCollector {
  private readonly thumbSize: number;
  private readonly idleSeconds: number;
  private readonly maxEvents: number;
  private readonly tracks = new Map<number, TrackState>();
  private readonly classes = new Map<number, { label: string; total: number; peak: number; perSecond: number[] }>();
  /** Frames per second of video, the denominators of the per-class means. */
  private readonly framesPerSecond: number[] = [];
  private readonly wallFrames: number[] = [];
  private readonly events: AnalyticsEvent[] = [];
  private eventsOmitted = 0;
  private counts: AnalyticsCounts | undefined;
  private frames = 0;
  private firstPts = 0;
  private lastPts = 0;
  private startedMs = 0;
  private lastMs = 0;
  private tracked = false;
  private lastIdleCheck = 0;

  constructor(options: CollectorOptions = {}) {
    this.thumbSize = options.thumbnailSize ?? 112;
    this.idleSeconds = options.idleSeconds ?? 5;
    this.maxEvents = options.maxEvents ?? 5000;
  }

  /** One frame's results, in order; `image` is the source frame (for thumbnails), when available. */
  add(r: FrameResult, image?: YuvImage, nowMs = performance.now()): void {
    if (this.frames === 0) {
      this.startedMs = nowMs;
      this.firstPts = r.pts;
    }
    this.frames++;
    this.lastMs = nowMs;
    this.lastPts = Math.max(this.lastPts, r.pts);
    const wallSecond = Math.floor((nowMs - this.startedMs) / 1000);
    this.wallFrames[wallSecond] = (this.wallFrames[wallSecond] ?? 0) + 1;
    const second = Math.max(0, Math.floor(r.pts - this.firstPts));
    this.framesPerSecond[second] = (this.framesPerSecond[second] ?? 0) + 1;

    const perClass = new Map<number, number>();
    for (const d of r.detections) {
      perClass.set(d.class, (perClass.get(d.class) ?? 0) + 1);
      let c = this.classes.get(d.class);
      if (!c) this.classes.set(d.class, (c = { label: d.label, total: 0, peak: 0, perSecond: [] }));
      c.total++;
      c.perSecond[second] = (c.perSecond[second] ?? 0) + 1;
      if (d.trackId === undefined) continue;
      this.tracked = true;
      this.addToTrack(d.trackId, r, d.class, d.label, d.score, d.box, image);
    }
    for (const [cls, n] of perClass) {
      const c = this.classes.get(cls)!;
      c.peak = Math.max(c.peak, n);
    }
    for (const e of r.events ?? []) {
      if (this.events.length < this.maxEvents) this.events.push(e);
      else this.eventsOmitted++;
    }
    if (r.counts) this.counts = r.counts;
    if (r.pts - this.lastIdleCheck >= 1) {
      this.lastIdleCheck = r.pts;
      this.encodeIdle(r.pts);
    }
  }

  private addToTrack(id: number, r: FrameResult, cls: number, label: string, score: number, box: Box, image: YuvImage | undefined): void {
    let t = this.tracks.get(id);
    if (!t) {
      t = { id, firstPts: r.pts, lastPts: r.pts, firstFrame: r.index, lastFrame: r.index, frames: 0, bestScore: -1, bestFrame: r.index, bestPts: r.pts, bestBox: box, votes: new Map() };
      this.tracks.set(id, t);
    }
    t.frames++;
    t.lastPts = r.pts;
    t.lastFrame = r.index;
    const v = t.votes.get(cls);
    if (v) v.n++;
    else t.votes.set(cls, { n: 1, label });
    // A new crop only for a clearly better detection: crops cost in proportion to the box.
    if (score > t.bestScore + 0.005) {
      t.bestScore = score;
      t.bestFrame = r.index;
      t.bestPts = r.pts;
      t.bestBox = box;
      if (image) t.raw = thumbnailOf(image, box, this.thumbSize);
    }
  }

  /** Encodes (in the background) the thumbnails of tracks not seen for idleSeconds. */
  private encodeIdle(pts: number): void {
    for (const t of this.tracks.values()) {
      if (!t.raw || pts - t.lastPts < this.idleSeconds) continue;
      t.jpeg = encodeJpeg(t.raw).catch(() => undefined);
      t.raw = undefined;
    }
  }

  async finish(): Promise<CollectedReport> {
    const tracks: TrackSummary[] = [];
    for (const t of this.tracks.values()) {
      if (t.raw) {
        t.jpeg = encodeJpeg(t.raw).catch(() => undefined);
        t.raw = undefined;
      }
      let best: { cls: number; n: number; label: string } | undefined;
      for (const [cls, v] of t.votes) if (!best || v.n > best.n) best = { cls, ...v };
      const { votes: _votes, raw: _raw, jpeg, ...rest } = t;
      tracks.push({ ...rest, class: best!.cls, label: best!.label, thumbnail: jpeg ? await jpeg : undefined });
    }
    tracks.sort((a, b) => a.firstPts - b.firstPts || a.id - b.id);
    const classes: ClassSeries[] = [...this.classes.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([cls, c]) => ({
        class: cls,
        label: c.label,
        total: c.total,
        peak: c.peak,
        perSecond: Array.from(this.framesPerSecond, (n, s) => (n ? (c.perSecond[s] ?? 0) / n : 0)),
      }));
    const seconds = (this.lastMs - this.startedMs) / 1000;
    const fpsSeries = Array.from(this.wallFrames, (n, t) => ({ t, fps: n ?? 0 }));
    const frameGap = this.frames > 1 ? (this.lastPts - this.firstPts) / (this.frames - 1) : 0;
    return {
      processing: {
        frames: this.frames,
        seconds,
        fps: seconds > 0 ? (this.frames - 1) / seconds : 0,
        videoSeconds: this.frames > 0 ? this.lastPts - this.firstPts + frameGap : 0,
        fpsSeries,
      },
      classes,
      tracks,
      events: this.events,
      eventsOmitted: this.eventsOmitted,
      counts: this.counts,
      tracked: this.tracked,
    };
  }
}

/** The box with a margin of 10 % on each side, cropped and shrunk to at most `size` pixels. */
export function thumbnailOf(image: YuvImage, box: Box, size: number): RgbImage | undefined {
  const mx = (box[2] - box[0]) * 0.1;
  const my = (box[3] - box[1]) * 0.1;
  const crop = cropRgb(image, box[0] - mx, box[1] - my, box[2] + mx, box[3] + my);
  return crop ? shrinkImage(crop, size) : undefined;
}
