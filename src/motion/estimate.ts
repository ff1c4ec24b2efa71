/**
 * The per-frame motion estimate (pure, no I/O): the motion image (image.ts) against a slowly
 * updated background, light-compensated, thresholded, dilated, split into connected regions.
 *
 *  1. light: for each channel, the median over the pixels of current / background is the frame's
 *     light gain (a cloud, lights switching on, the camera's exposure scale every pixel alike);
 *     the background is compared at that gain, so a global change of light is not motion. Pixels
 *     near black or white (no reliable ratio) do not vote. An object covering less than half
 *     the frame cannot move the median.
 *  2. difference: a pixel changed when one of its channels differs from the gained background by
 *     more than `threshold` levels. Sensor noise stays far below it: the motion image's block
 *     averaging has already divided it by the block side.
 *  3. regions: the changed pixels, dilated by one pixel (to join an object's broken outline), in
 *     8-connected regions; a region whose changed pixels cover at least `minArea` (a fraction of
 *     the frame) is motion. Noise that gets through makes single pixels, below any useful minArea.
 *  Pixels under the mask (mask.ts: a camera's clock, trees, a screen) take part in none of this:
 *  they neither vote for the light nor count as changed, and `changed` is a fraction of the rest.
 *  4. background: an exponential moving average of the frames with time constant
 *     `backgroundSeconds` of stream time (the same at any frame rate), so an object that stops
 *     becomes background after a few time constants and one that leaves reveals the change.
 *     When most of the frame changed beyond what a gain explains (lights switching on in part
 *     of the room, an infrared switch, the camera moved) the background is re-learned from that
 *     frame at once, so the estimate settles on the next frame instead of reporting motion for
 *     seconds.
 */
import type { Coordinates } from '../config/schema.js';
import type { Box } from '../types.js';
import type { MotionImage } from './image.js';
import { maskedPixels, type MaskPolygon } from './mask.js';
import { connectedRegions, dilate3x3 } from './regions.js';

export interface MotionSettings {
  /** Levels (0..255) a channel must differ from the light-compensated background by. */
  threshold: number;
  /** Smallest changed region that is motion, as a fraction of the frame's area. */
  minArea: number;
  /** Time constant of the background's moving average, seconds of stream time. */
  backgroundSeconds: number;
  /** Polygons whose changes are not motion (mask.ts), in `coordinates` (default pixels). */
  mask?: readonly MaskPolygon[];
  coordinates?: Coordinates;
}

/**
 * `start`: the first frame (no background yet); `motion`: a changed region of at least minArea
 * (or most of the frame changed: the background was re-learned); `small`: changed regions, all
 * smaller; `light`: the frame differs from the background only by a change of light; `still`.
 */
export type MotionKind = 'start' | 'motion' | 'small' | 'light' | 'still';

export interface MotionEstimate {
  kind: MotionKind;
  /** Fraction of the frame outside the mask that changed (after light compensation), 0..1. */
  changed: number;
  /** Regions of at least minArea, source pixels. */
  regions: Box[];
  /** Per-channel light gain of this frame against the background (1 = unchanged). */
  gain: [number, number, number];
}

/** More than this fraction changed after light compensation: the scene itself changed; re-learn it. */
export const SCENE_CHANGE = 0.5;

/** Channel values outside this range do not vote for the light gain (clipped or too dark to divide). */
const GAIN_MIN_LEVEL = 12;
const GAIN_MAX_LEVEL = 243;
/** log2(gain) histogram: 1/128 per bin over [-2, 2] (gains 0.25..4). */
const GAIN_BINS_PER_OCTAVE = 128;
const GAIN_OCTAVES = 2;
const GAIN_BINS = 2 * GAIN_OCTAVES * GAIN_BINS_PER_OCTAVE + 1;
/** Fewer voting pixels than this fraction: the gain is taken as 1. */
const GAIN_MIN_VOTERS = 0.25;
/** log2 of channel values in steps of 1/16 level (a table: a log per pixel and channel is most of the estimate's cost). */
const LOG_STEPS = 16;
const LOG2 = Float32Array.from({ length: 256 * LOG_STEPS + 1 }, (_, i) => Math.log2(Math.max(i, 1) / LOG_STEPS));

export class MotionEstimator {
  private background: Float32Array | undefined;
  private width = 0;
  private height = 0;
  private lastPts = 0;
  private changedMask = new Uint8Array(0);
  private rawMask = new Uint8Array(0);
  private dilated = new Uint8Array(0);
  private stack = new Int32Array(0);
  private readonly histogram = new Uint32Array(GAIN_BINS);
  private readonly gain: [number, number, number] = [1, 1, 1];
  /**
   * The mask rasterised for the image geometry it was made for (undefined: no mask yet, or new
   * settings): its pixels (undefined when it covers none) and how many it covers.
   */
  private masked: { of: Pick<MotionImage, 'width' | 'height' | 'sourcePerPixel' | 'sourceWidth' | 'sourceHeight'>; pixels: Uint8Array | undefined; count: number } | undefined;

  constructor(private settings: MotionSettings) {}

  /** New settings from the next frame on; the background is kept. */
  configure(settings: MotionSettings): void {
    this.settings = settings;
    this.masked = undefined;
  }

  /** Forgets the background: the next frame starts again. */
  reset(): void {
    this.background = undefined;
  }

  /** The estimate of the frame shown by `image` at presentation time `pts` (seconds). */
  estimate(image: MotionImage, pts: number): MotionEstimate {
    const { width, height, data } = image;
    const pixels = width * height;
    if (!this.background || this.width !== width || this.height !== height) {
      this.start(image, pts);
      return { kind: 'start', changed: 0, regions: [], gain: [1, 1, 1] };
    }
    const bg = this.background;
    const { pixels: masked, count } = this.maskOf(image);
    const watched = pixels - count;
    for (let c = 0; c < 3; c++) this.gain[c] = this.channelGain(data, bg, c, watched, masked);
    const [gr, gg, gb] = this.gain;
    const threshold = this.settings.threshold;
    const mask = this.changedMask;
    const raw = this.rawMask;
    let changed = 0;
    let rawChanged = 0;
    for (let p = 0, i = 0; p < pixels; p++, i += 3) {
      if (masked && masked[p] === 1) {
        mask[p] = 0;
        raw[p] = 0;
        continue;
      }
      const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
      const br = bg[i]!, bgg = bg[i + 1]!, bb = bg[i + 2]!;
      const d = Math.max(Math.abs(r - Math.min(255, gr * br)), Math.abs(g - Math.min(255, gg * bgg)), Math.abs(b - Math.min(255, gb * bb)));
      const rawD = Math.max(Math.abs(r - br), Math.abs(g - bgg), Math.abs(b - bb));
      const m = d > threshold ? 1 : 0;
      mask[p] = m;
      changed += m;
      const rm = rawD > threshold ? 1 : 0;
      raw[p] = rm;
      rawChanged += rm;
    }
    const fraction = watched > 0 ? changed / watched : 0;
    const minPixels = this.settings.minArea * pixels;
    const gain: [number, number, number] = [gr, gg, gb];
    if (fraction > SCENE_CHANGE) {
      this.start(image, pts);
      return { kind: 'motion', changed: fraction, regions: [[0, 0, width * image.sourcePerPixel, height * image.sourcePerPixel]], gain };
    }
    const regions: Box[] = [];
    let small = false;
    if (changed > 0) {
      const s = image.sourcePerPixel;
      for (const r of connectedRegions(dilate3x3(mask, width, height, this.dilated), width, height, this.stack, mask)) {
        if (r.area >= minPixels) regions.push([r.x1 * s, r.y1 * s, r.x2 * s, r.y2 * s]);
        else small = true;
      }
    }
    let kind: MotionKind = regions.length > 0 ? 'motion' : small ? 'small' : 'still';
    if (kind !== 'motion' && rawChanged > 0 && this.hasRegion(raw, width, height, minPixels)) kind = 'light';
    this.learn(data, pts);
    return { kind, changed: fraction, regions, gain };
  }

  private start(image: MotionImage, pts: number): void {
    const { width, height } = image;
    const pixels = width * height;
    if (this.width !== width || this.height !== height || !this.background) {
      this.width = width;
      this.height = height;
      this.changedMask = new Uint8Array(pixels);
      this.rawMask = new Uint8Array(pixels);
      this.dilated = new Uint8Array(pixels);
      this.stack = new Int32Array(pixels);
    }
    this.background = Float32Array.from(image.data);
    this.lastPts = pts;
  }

  /** The mask's pixels for this image's geometry and how many, rasterised once per geometry and settings. */
  private maskOf(image: MotionImage): { pixels: Uint8Array | undefined; count: number } {
    const m = this.masked;
    if (m && m.of.width === image.width && m.of.height === image.height && m.of.sourcePerPixel === image.sourcePerPixel && m.of.sourceWidth === image.sourceWidth && m.of.sourceHeight === image.sourceHeight) return m;
    const { width, height, sourcePerPixel, sourceWidth, sourceHeight } = image;
    const pixels = maskedPixels(this.settings.mask ?? [], this.settings.coordinates ?? 'pixels', image);
    this.masked = { of: { width, height, sourcePerPixel, sourceWidth, sourceHeight }, pixels, count: pixels ? pixels.reduce((n, v) => n + v, 0) : 0 };
    return this.masked;
  }

  /** Median of current / background over the pixels able to vote (outside the mask), or 1 when too few can. */
  private channelGain(data: Float32Array, bg: Float32Array, c: number, pixels: number, masked: Uint8Array | undefined): number {
    const h = this.histogram;
    h.fill(0);
    let voters = 0;
    for (let i = c, p = 0; i < data.length; i += 3, p++) {
      if (masked && masked[p] === 1) continue;
      const v = data[i]!;
      const b = bg[i]!;
      if (v < GAIN_MIN_LEVEL || v > GAIN_MAX_LEVEL || b < GAIN_MIN_LEVEL || b > GAIN_MAX_LEVEL) continue;
      const bin = Math.round((LOG2[(v * LOG_STEPS) | 0]! - LOG2[(b * LOG_STEPS) | 0]! + GAIN_OCTAVES) * GAIN_BINS_PER_OCTAVE);
      h[bin < 0 ? 0 : bin >= GAIN_BINS ? GAIN_BINS - 1 : bin]!++;
      voters++;
    }
    if (voters === 0 || voters < GAIN_MIN_VOTERS * pixels) return 1;
    const half = voters / 2;
    let seen = 0;
    for (let bin = 0; bin < GAIN_BINS; bin++) {
      seen += h[bin]!;
      if (seen >= half) return 2 ** (bin / GAIN_BINS_PER_OCTAVE - GAIN_OCTAVES);
    }
    return 1;
  }

  /** Whether the uncompensated change has a region of at least `minPixels` (the light explained it). */
  private hasRegion(raw: Uint8Array, width: number, height: number, minPixels: number): boolean {
    return connectedRegions(dilate3x3(raw, width, height, this.dilated), width, height, this.stack, raw).some((r) => r.area >= minPixels);
  }

  /** Moves the background toward this frame by the fraction its time step calls for. */
  private learn(data: Float32Array, pts: number): void {
    const dt = Math.max(0, pts - this.lastPts);
    this.lastPts = pts;
    const alpha = 1 - Math.exp(-dt / this.settings.backgroundSeconds);
    if (alpha <= 0) return;
    const bg = this.background!;
    for (let i = 0; i < bg.length; i++) bg[i]! += alpha * (data[i]! - bg[i]!);
  }
}
