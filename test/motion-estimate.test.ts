/**
 * The motion estimate (src/motion) on generated frames: a textured background with fresh sensor
 * noise in every frame, steps and ramps of the light, small moving objects, an object that stops.
 * Frames are 640x480 letterboxed into 640x640 like a model's input, at 15 fps.
 */
import { describe, expect, it } from 'vitest';
import { computeLetterbox } from '../src/ingest/letterbox.js';
import { MotionEstimator, SCENE_CHANGE, type MotionEstimate, type MotionSettings } from '../src/motion/estimate.js';
import { blockSide, MOTION_IMAGE_SIDE, reduceFrame, type MotionImage } from '../src/motion/image.js';
import { maskedPixels } from '../src/motion/mask.js';
import { connectedRegions, dilate3x3 } from '../src/motion/regions.js';
import type { Box } from '../src/types.js';

const W = 640;
const H = 480;
const FPS = 15;
const LB = computeLetterbox(W, H, 640, 640);
const SETTINGS: MotionSettings = { threshold: 20, minArea: 0.0002, backgroundSeconds: 1 };

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A smooth grey-brown texture in 40..200 per channel (blocks of 8 px with a fine grain). */
function texture(seed: number): Float32Array {
  const r = rng(seed);
  const coarse = Array.from({ length: (W / 8) * (H / 8) }, () => 60 + 120 * r());
  const t = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = coarse[(y >> 3) * (W / 8) + (x >> 3)]! + 20 * r() - 10;
      const i = (y * W + x) * 3;
      t[i] = v + 8;
      t[i + 1] = v;
      t[i + 2] = v - 8;
    }
  }
  return t;
}

interface Thing {
  box: Box;
  rgb: [number, number, number];
}

interface Shot {
  /** Multiplies every pixel (a light level), or per pixel. */
  gain?: number | ((x: number, y: number) => number);
  things?: Thing[];
  /** Uniform noise amplitude per channel, levels. */
  noise?: number;
}

/** Uniform noise in [-1, 1): a frame takes its own window of it (fresh noise, cheap to make). */
const NOISE = (() => {
  const r = rng(99);
  return Float32Array.from({ length: W * H * 3 + 65_536 }, () => 2 * r() - 1);
})();

/** A letterboxed model-input frame (pad 114) of the background with `shot` applied. */
function frame(bg: Float32Array, shot: Shot, seed: number): Uint8Array {
  const window = (Math.imul(seed, 2654435761) >>> 0) % 65_536;
  const out = new Uint8Array(640 * 640 * 3).fill(114);
  const noise = shot.noise ?? 12;
  const gainAt = typeof shot.gain === 'function' ? shot.gain : () => (shot.gain as number | undefined) ?? 1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      let px: [number, number, number] = [bg[i]!, bg[i + 1]!, bg[i + 2]!];
      for (const t of shot.things ?? []) if (x >= t.box[0] && x < t.box[2] && y >= t.box[1] && y < t.box[3]) px = t.rgb;
      const g = gainAt(x, y);
      const o = ((y + LB.padY) * 640 + x + LB.padX) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.max(0, Math.min(255, Math.round(px[c]! * g + NOISE[window + i + c]! * noise)));
    }
  }
  return out;
}

/** Runs the estimator over `shots` (one per frame, at 15 fps) and returns every estimate. */
function run(shots: Shot[], settings: MotionSettings = SETTINGS, seed = 1): MotionEstimate[] {
  const bg = texture(seed);
  const est = new MotionEstimator(settings);
  let image: MotionImage | undefined;
  return shots.map((shot, f) => {
    image = reduceFrame(frame(bg, shot, seed * 1000 + f), LB, image);
    return est.estimate(image, f / FPS);
  });
}

const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const kinds = (es: MotionEstimate[]): string[] => es.map((e) => e.kind);
const covers = (outer: Box, inner: Box, slack: number): boolean =>
  outer[0] <= inner[0] + slack && outer[1] <= inner[1] + slack && outer[2] >= inner[2] - slack && outer[3] >= inner[3] - slack;

describe('the motion image', () => {
  it('averages blocks of the content, padding left out, in source pixels per motion pixel', () => {
    const lb = computeLetterbox(1920, 1080, 640, 640);
    expect(blockSide(lb.resizedWidth, lb.resizedHeight)).toBe(4);
    const rgb = new Uint8Array(640 * 640 * 3).fill(114);
    // Content rows padY..padY+360: left half 40, right half 200 (in R), a 4x4 block of 255 at (8, 4).
    for (let y = 0; y < lb.resizedHeight; y++) {
      for (let x = 0; x < 640; x++) rgb[((y + lb.padY) * 640 + x) * 3] = x < 320 ? 40 : 200;
    }
    for (let y = 4; y < 8; y++) for (let x = 8; x < 12; x++) rgb[((y + lb.padY) * 640 + x) * 3 + 1] = 255;
    const image = reduceFrame(rgb, lb);
    expect([image.width, image.height]).toEqual([MOTION_IMAGE_SIDE, 90]);
    expect(image.sourcePerPixel).toBe(12);
    expect(image.data[0]).toBe(40);
    expect(image.data[(image.width - 1) * 3]).toBe(200);
    // Block (2, 1): its 16 pixels all have G 255; its neighbour none.
    expect(image.data[(1 * image.width + 2) * 3 + 1]).toBe(255);
    expect(image.data[(1 * image.width + 3) * 3 + 1]).toBe(114);
    // No padding (114) anywhere: the first and last rows are content.
    expect(image.data[(89 * image.width) * 3]).toBe(40);
  });
});

describe('dilation and regions', () => {
  it('joins pixels one apart, keeps regions two apart separate, and reports extents and areas', () => {
    const w = 8;
    const h = 6;
    const mask = new Uint8Array(w * h);
    mask[1 * w + 1] = 1;
    mask[1 * w + 3] = 1; // one pixel gap from (1,1): joined by dilation
    mask[4 * w + 7] = 1; // far away
    const dilated = () => dilate3x3(mask, w, h, new Uint8Array(w * h));
    expect(connectedRegions(dilated(), w, h, new Int32Array(w * h))).toEqual([
      { x1: 0, y1: 0, x2: 5, y2: 3, area: 15 },
      { x1: 6, y1: 3, x2: 8, y2: 6, area: 6 },
    ]);
    // Areas of what was set before dilation.
    expect(connectedRegions(dilated(), w, h, new Int32Array(w * h), mask).map((r) => r.area)).toEqual([2, 1]);
  });

  it('dilates pixels at the borders without wrapping to another row', () => {
    // 5 x 5: the top-left and bottom-right corners.
    const mask = new Uint8Array(25);
    mask[0] = 1;
    mask[24] = 1;
    // prettier-ignore
    expect(Array.from(dilate3x3(mask, 5, 5, new Uint8Array(25)))).toEqual([
      1, 1, 0, 0, 0,
      1, 1, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, 1, 1,
      0, 0, 0, 1, 1,
    ]);
  });

  it('connects diagonal neighbours (8-connectivity)', () => {
    const mask = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(connectedRegions(mask, 3, 3, new Int32Array(9))).toEqual([{ x1: 0, y1: 0, x2: 3, y2: 3, area: 3 }]);
  });
});

describe('the motion estimate', () => {
  it('starts on the first frame, then sees nothing in sensor noise alone', () => {
    // Noise up to +-12 levels per channel and pixel: nothing changed at all.
    const es = run(times(45, () => ({ noise: 12 })));
    expect(es[0]!.kind).toBe('start');
    for (const e of es.slice(1)) {
      expect(e.kind).toBe('still');
      expect(e.changed).toBe(0);
    }
    // Up to +-24 (a poor night picture): a stray pixel at most, never motion.
    for (const e of run(times(45, () => ({ noise: 24 }))).slice(1)) {
      expect(e.kind === 'still' || e.kind === 'small').toBe(true);
      expect(e.changed).toBeLessThan(0.001);
    }
  });

  it('ignores a step of the light level, down and up (clipped whites included), and is still at once after it', () => {
    const down = run([...times(15, () => ({})), ...times(30, () => ({ gain: 0.6 }))]);
    expect(down[15]!.kind).toBe('light');
    expect(down[15]!.gain[1]).toBeCloseTo(0.6, 1);
    expect(kinds(down.slice(1))).not.toContain('motion');
    expect(down.slice(16).every((e) => e.changed === 0)).toBe(true);
    const up = run([...times(15, () => ({})), ...times(30, () => ({ gain: 1.45 }))]);
    expect(up[15]!.kind).toBe('light');
    expect(kinds(up.slice(1))).not.toContain('motion');
    // The light is learned into the background: the gain returns to 1 within a few time constants.
    expect(up.at(-1)!.gain[0]).toBeCloseTo(1, 1);
  });

  it('ignores a gradual change of light (a cloud: half the light over 4 s)', () => {
    const es = run(times(75, (f) => ({ gain: 1 - 0.5 * Math.min(1, f / 60) })));
    expect(kinds(es.slice(1))).not.toContain('motion');
    expect(kinds(es.slice(1))).not.toContain('small');
  });

  it('settles after a change of light in part of the frame', () => {
    // Lights switching on over 30 % or 75 % of the room: not one gain, so motion at first (the
    // part that did not follow the majority), then background within a few time constants.
    for (const share of [0.3, 0.75]) {
      const es = run([...times(15, () => ({})), ...times(90, () => ({ gain: (x: number) => (x < share * W ? 1.6 : 1) }))]);
      expect(es[15]!.kind).toBe('motion');
      const settled = es.findIndex((e, f) => f > 15 && e.kind === 'still');
      expect(settled).toBeGreaterThan(15);
      expect((settled - 15) / FPS).toBeLessThanOrEqual(3 * SETTINGS.backgroundSeconds);
      expect(kinds(es.slice(settled))).not.toContain('motion');
    }
  });

  it('re-learns the background at once when most of the frame changed (the camera moved)', () => {
    const est = new MotionEstimator(SETTINGS);
    const before = texture(5);
    const after = texture(6);
    const image = (bg: Float32Array, f: number): MotionImage => reduceFrame(frame(bg, {}, f), LB);
    est.estimate(image(before, 0), 0);
    expect(est.estimate(image(before, 1), 1 / FPS).kind).toBe('still');
    const moved = est.estimate(image(after, 2), 2 / FPS);
    expect(moved.changed).toBeGreaterThan(SCENE_CHANGE);
    expect(moved.kind).toBe('motion');
    for (let f = 3; f < 8; f++) expect(est.estimate(image(after, f), f / FPS).kind).toBe('still');
  });

  it('sees a small moving object in every frame, with a region around it', () => {
    // 12 x 12 px (0.05 % of the frame), 4 px per frame.
    const box = (f: number): Box => [100 + 4 * f, 200, 112 + 4 * f, 212];
    const es = run([...times(5, () => ({})), ...times(40, (f) => ({ things: [{ box: box(f), rgb: [200, 40, 40] as [number, number, number] }] }))]);
    for (let f = 0; f < 40; f++) {
      const e = es[5 + f]!;
      expect(e.kind).toBe('motion');
      expect(e.regions.some((r) => covers(r, box(f), 2))).toBe(true);
      // Its own region, not the frame: the region is at most a few object sizes wide.
      for (const r of e.regions) expect(r[2] - r[0]).toBeLessThan(80);
    }
  });

  it('calls a change smaller than minArea small, and motion when minArea allows it', () => {
    const shots: Shot[] = [...times(5, () => ({})), ...times(10, (f) => ({ things: [{ box: [300 + 5 * f, 100, 304 + 5 * f, 104] as Box, rgb: [255, 255, 0] as [number, number, number] }] }))];
    expect(kinds(run(shots).slice(5))).toEqual(times(10, () => 'small'));
    expect(kinds(run(shots, { ...SETTINGS, minArea: 0 }).slice(5))).toEqual(times(10, () => 'motion'));
  });

  it('sees a change of colour at the same brightness', () => {
    // A green square whose luma (0.299 R + 0.587 G + 0.114 B) matches a grey background of 120.
    const bgGrey: Shot = { things: [{ box: [0, 0, W, H], rgb: [120, 120, 120] }] };
    const green: [number, number, number] = [60, 160, 78];
    expect(Math.abs(0.299 * green[0] + 0.587 * green[1] + 0.114 * green[2] - 120)).toBeLessThan(2);
    const es = run([...times(5, () => bgGrey), ...times(5, (f) => ({ things: [...bgGrey.things!, { box: [200 + 6 * f, 200, 240 + 6 * f, 240] as Box, rgb: green }] }))]);
    expect(kinds(es.slice(5))).toEqual(times(5, () => 'motion'));
  });

  it('lets an object that stops become background, and sees it leave', () => {
    const thing = (box: Box): Shot => ({ things: [{ box, rgb: [40, 80, 220] }] });
    const arrive = (f: number): Box => [-40 + 20 * f, 300, 0 + 20 * f, 360];
    const still: Box = [300, 300, 340, 360];
    const shots: Shot[] = [
      ...times(5, () => ({})),
      ...times(17, (f) => thing(arrive(f))), // reaches x 300 on the last one
      ...times(6 * FPS, () => thing(still)),
      ...times(10, () => ({})), // gone
    ];
    const es = run(shots);
    const stopped = 5 + 17;
    const stillFrom = es.findIndex((e, f) => f > stopped && e.kind === 'still');
    expect((stillFrom - stopped) / FPS).toBeLessThanOrEqual(3 * SETTINGS.backgroundSeconds);
    expect(kinds(es.slice(stillFrom, stopped + 6 * FPS))).not.toContain('motion');
    const left = stopped + 6 * FPS;
    expect(es[left]!.kind).toBe('motion');
    expect(es[left]!.regions.some((r) => covers(r, still, 2))).toBe(true);
  });

  it('keeps the background across new settings and forgets it on reset', () => {
    const bg = texture(3);
    const est = new MotionEstimator(SETTINGS);
    const image = (f: number): MotionImage => reduceFrame(frame(bg, {}, f), LB);
    expect(est.estimate(image(0), 0).kind).toBe('start');
    est.configure({ ...SETTINGS, threshold: 40 });
    expect(est.estimate(image(1), 1 / FPS).kind).toBe('still');
    est.reset();
    expect(est.estimate(image(2), 2 / FPS).kind).toBe('start');
  });
});

describe('the motion mask', () => {
  // A burnt-in clock: a 96 x 16 px box at the top left whose digits change every 8 frames.
  const CLOCK: Box = [8, 8, 104, 24];
  const clock = (f: number): Thing => ({ box: CLOCK, rgb: Math.floor(f / 8) % 2 ? [250, 250, 250] : [20, 20, 20] });
  const clockMask = [[[0, 0], [112, 0], [112, 32], [0, 32]]] as const;
  const shots = (n: number, more: (f: number) => Thing[] = () => []): Shot[] => times(n, (f) => ({ things: [clock(f), ...more(f)] }));

  it('marks the motion pixels whose centres are inside a polygon, in source pixels or fractions of the frame', () => {
    const image = { width: 160, height: 120, sourcePerPixel: 4, sourceWidth: 640, sourceHeight: 480 };
    // The left half (x < 320 in source pixels): pixel centres 2, 6, ..., 318 are inside, 322 is not.
    const half = maskedPixels([[[0, 0], [320, 0], [320, 480], [0, 480]]], 'pixels', image)!;
    const normalized = maskedPixels([[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]], 'normalized', image)!;
    expect(Array.from(normalized)).toEqual(Array.from(half));
    for (const y of [0, 60, 119]) {
      expect(half[y * 160 + 79]).toBe(1);
      expect(half[y * 160 + 80]).toBe(0);
    }
    expect(half.reduce((n, m) => n + m, 0)).toBe(80 * 120);
    // A triangle: only what lies under its diagonal.
    const triangle = maskedPixels([[[0, 0], [640, 480], [0, 480]]], 'pixels', image)!;
    expect(triangle[119 * 160 + 0]).toBe(1);
    expect(triangle[0 * 160 + 159]).toBe(0);
    // Nothing covered: no mask at all; no polygon: none either.
    expect(maskedPixels([[[700, 0], [800, 0], [800, 100]]], 'pixels', image)).toBeUndefined();
    expect(maskedPixels([], 'pixels', image)).toBeUndefined();
  });

  it('marks exactly the pixels whose centres a polygon covers, also for one reaching past the frame', () => {
    // 8 x 6 pixels of 10 source pixels: centres at 5, 15, ..., 75 and 5, ..., 55.
    const image = { width: 8, height: 6, sourcePerPixel: 10, sourceWidth: 80, sourceHeight: 60 };
    const pixels = (polygon: [number, number][]): number[] => Array.from(maskedPixels([polygon], 'pixels', image)!);
    const grid = (covered: (x: number, y: number) => boolean): number[] => times(48, (i) => (covered(i % 8, Math.floor(i / 8)) ? 1 : 0));
    // Centres 25..55 by 15..45 inside.
    expect(pixels([[22, 12], [58, 12], [58, 48], [22, 48]])).toEqual(grid((x, y) => x >= 2 && x <= 5 && y >= 1 && y <= 4));
    // Past the left, top and bottom borders: the first two columns; past the right: the last two.
    expect(pixels([[-30, -30], [24, -30], [24, 65], [-30, 65]])).toEqual(grid((x) => x <= 1));
    expect(pixels([[56, -30], [110, -30], [110, 65], [56, 65]])).toEqual(grid((x) => x >= 6));
  });

  it('takes a changing clock for motion without a mask, and ignores it under one', () => {
    expect(kinds(run(shots(40)).slice(1))).toContain('motion');
    const masked = run(shots(40), { ...SETTINGS, mask: clockMask });
    expect(kinds(masked.slice(1)).filter((k) => k === 'motion')).toEqual([]);
    expect(Math.max(...masked.slice(1).map((e) => e.changed))).toBeLessThan(0.001);
    // The same mask in fractions of the 640 x 480 frame.
    const normalized = run(shots(40), { ...SETTINGS, coordinates: 'normalized', mask: [[[0, 0], [112 / W, 0], [112 / W, 32 / H], [0, 32 / H]]] });
    expect(kinds(normalized.slice(1)).filter((k) => k === 'motion')).toEqual([]);
  });

  it('still sees what moves outside the mask, and only that', () => {
    const mover = (f: number): Box => [200 + 6 * f, 300, 224 + 6 * f, 340];
    const inside = (f: number): Box => [20 + (f % 4) * 4, 10, 40 + (f % 4) * 4, 22];
    // The mover comes in at frame 5, over a background that has not seen it; the thing inside the mask jiggles throughout.
    const es = run(shots(30, (f) => [...(f >= 5 ? [{ box: mover(f), rgb: [200, 40, 40] as [number, number, number] }] : []), { box: inside(f), rgb: [40, 200, 40] }]), { ...SETTINGS, mask: clockMask });
    expect(kinds(es.slice(1, 5))).toEqual(times(4, () => 'still'));
    for (let f = 5; f < 30; f++) {
      expect(es[f]!.kind).toBe('motion');
      expect(es[f]!.regions.some((r) => covers(r, mover(f), 4))).toBe(true);
      // No region reaches into the masked corner beyond the one-pixel dilation.
      for (const r of es[f]!.regions) expect(r[1]).toBeGreaterThan(32);
    }
  });

  it('lets no masked pixel vote for the light: a screen brightening most of the frame is not a change of light', () => {
    // The mask covers the top 60 % of the frame; inside it, everything gets 1.6 x brighter.
    const screen = [[[0, 0], [W, 0], [W, 0.6 * H], [0, 0.6 * H]]] as const;
    const bright: Shot = { gain: (_x, y) => (y < 0.6 * H ? 1.6 : 1) };
    const es = run([{}, {}, ...times(10, () => bright)], { ...SETTINGS, mask: screen });
    for (const e of es.slice(2)) {
      expect(e.kind).toBe('still');
      expect(e.gain.every((g) => Math.abs(g - 1) < 0.03)).toBe(true);
    }
    // Without the mask the brightening is most of the frame, and no gain of the whole frame explains it.
    expect(run([{}, {}, ...times(3, () => bright)]).slice(2).map((e) => e.kind)).toContain('motion');
  });
});
