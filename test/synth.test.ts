import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backgroundTexture, paintBackground } from '../src/tools/synth/background.js';
import { ffmpegPath, ffprobePath } from '../src/ingest/ffmpeg.js';
import { ensureDemoClip, generateClip } from '../src/tools/synth/generate.js';
import type { GtFrame } from '../src/tools/synth/groundTruth.js';
import { readGroundTruth, visibleMask } from '../src/tools/synth/groundTruth.js';
import { uniformRng } from '../src/tools/synth/prng.js';
import type { PlacedShape } from '../src/tools/synth/raster.js';
import { computeVisibility } from '../src/tools/synth/raster.js';
import { planScene, SYNTH_CLASSES } from '../src/tools/synth/scene.js';

const run = promisify(execFile);

async function probe(file: string): Promise<{ width: number; height: number; frames: number; codec: string }> {
  const { stdout } = await run(ffprobePath(), [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=width,height,nb_read_frames,codec_name', '-of', 'json', file,
  ]);
  const s = (JSON.parse(stdout) as { streams: Array<Record<string, string | number>> }).streams[0]!;
  return { width: Number(s.width), height: Number(s.height), frames: Number(s.nb_read_frames), codec: String(s.codec_name) };
}

async function decodeFrame(file: string, index: number, width: number, height: number): Promise<Buffer> {
  const { stdout } = await run(
    ffmpegPath(),
    ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index})`, '-vframes', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  expect(stdout.length).toBe(width * height * 3);
  return stdout;
}

const rect = (id: number, z: number, cx: number, cy: number, rx: number, ry: number): PlacedShape => ({ id, z, shape: 'rect', center: [cx, cy], radii: [rx, ry] });

describe('visibility (pure)', () => {
  it('counts occluded and out-of-frame pixels exactly', () => {
    // A covers columns/rows 10..29 (400 px); B covers columns 20..39, rows 10..29 and is drawn on top.
    const a = rect(0, 0, 20, 20, 10, 10);
    const b = rect(1, 1, 30, 20, 10, 10);
    const [va, vb] = computeVisibility([a, b], 35, 40);
    expect(va).toEqual({ id: 0, visiblePixels: 200, totalPixels: 400, visible: 0.5, box: [10, 10, 20, 30], fullBox: [10, 10, 30, 30] });
    // B: columns 35..39 fall outside the 35-px-wide frame.
    expect(vb).toEqual({ id: 1, visiblePixels: 300, totalPixels: 400, visible: 0.75, box: [20, 10, 35, 30], fullBox: [20, 10, 40, 30] });
    // Swapping z-order: A now occludes B's columns 20..29.
    const [va2, vb2] = computeVisibility([{ ...a, z: 2 }, b], 35, 40);
    expect(va2!.visible).toBe(1);
    expect(vb2!.visiblePixels).toBe(100);
    expect(vb2!.box).toEqual([30, 10, 35, 30]);
  });

  it('rasterises an ellipse by pixel centres', () => {
    // Radius 5 at an integer centre: rows at |dy| = 0.5, 1.5, 2.5, 3.5, 4.5 hold 10, 10, 8, 8, 4 pixels.
    const [v] = computeVisibility([{ id: 3, z: 0, shape: 'ellipse', center: [50, 50], radii: [5, 5] }], 100, 100);
    expect(v).toMatchObject({ totalPixels: 80, visiblePixels: 80, visible: 1, box: [45, 45, 55, 55], fullBox: [45, 45, 55, 55] });
  });

  it('rebuilds the visible mask from a ground-truth line', () => {
    const line: GtFrame = {
      frame: 0,
      pts: 0,
      targets: [
        { id: 0, class: 0, label: 'red', shape: 'rect', box: [10, 10, 20, 30], fullBox: [10, 10, 30, 30], visible: 0.5, crossing: true, z: 0, center: [20, 20], radii: [10, 10] },
        { id: 1, class: 1, label: 'green', shape: 'rect', box: [20, 10, 35, 30], fullBox: [20, 10, 40, 30], visible: 0.75, crossing: true, z: 1, center: [30, 20], radii: [10, 10] },
      ],
    };
    const mask = visibleMask(line, 0, 35, 40);
    expect(mask.reduce((s, v) => s + v, 0)).toBe(200);
    expect(mask[15 * 35 + 19]).toBe(1);
    expect(mask[15 * 35 + 20]).toBe(0);
    expect(visibleMask(line, 7, 35, 40).every((v) => v === 0)).toBe(true);
  });

  it('plans crossing and never-crossing targets for every seed and size', () => {
    for (const [width, height] of [[640, 480], [1920, 1080]] as const) {
      for (let seed = 1; seed <= 10; seed++) {
        const plan = planScene({ width, height, fps: 15, frames: 180, seed, targets: 10 });
        expect(plan.targets).toHaveLength(10);
        expect(plan.crossing.size).toBeGreaterThanOrEqual(2);
        expect(plan.crossing.size).toBeLessThan(10);
      }
    }
  });

  it('keeps the background low-saturation and within 50-200', () => {
    const texture = backgroundTexture(uniformRng(9), 64, 48);
    const frame = new Uint8Array(texture.length);
    paintBackground(frame, texture, 123);
    let maxDiff = 0;
    for (let i = 0; i < frame.length; i += 3) {
      const [r, g, b] = [frame[i]!, frame[i + 1]!, frame[i + 2]!];
      for (const c of [r, g, b]) expect(c >= 50 && c <= 200).toBe(true);
      maxDiff = Math.max(maxDiff, Math.abs(r - g), Math.abs(g - b), Math.abs(r - b));
    }
    expect(maxDiff).toBeLessThan(30);
  });
});

describe('generated clip', () => {
  let clip: { video: string; groundTruth: string; frames: number };
  let gt: GtFrame[];
  beforeAll(async () => {
    clip = await ensureDemoClip();
    gt = await readGroundTruth(clip.groundTruth);
  });

  it('decodes as H.264 at the requested size, with one ground-truth line per frame', async () => {
    const info = await probe(clip.video);
    expect(info).toEqual({ width: 640, height: 480, frames: 180, codec: 'h264' });
    expect(clip.frames).toBe(180);
    expect(gt.map((f) => f.frame)).toEqual(Array.from({ length: 180 }, (_, i) => i));
    expect(gt[30]!.pts).toBe(2);
  });

  it('has targets of 16-96 px, every class, crossing and non-crossing targets, entering and leaving', () => {
    const ids = new Map<number, { crossing: boolean; frames: number[] }>();
    const classes = new Set<number>();
    for (const f of gt) {
      for (const t of f.targets) {
        const w = t.fullBox[2] - t.fullBox[0];
        const h = t.fullBox[3] - t.fullBox[1];
        expect(w >= 16 && w <= 96 && h >= 16 && h <= 96, `target ${t.id} ${w}x${h}`).toBe(true);
        expect(t.visible > 0 && t.visible <= 1).toBe(true);
        expect(t.label).toBe(SYNTH_CLASSES[t.class]!.label);
        classes.add(t.class);
        const entry = ids.get(t.id) ?? { crossing: t.crossing, frames: [] };
        expect(t.crossing).toBe(entry.crossing);
        entry.frames.push(f.frame);
        ids.set(t.id, entry);
      }
    }
    expect(ids.size).toBe(10);
    expect(classes.size).toBe(4);
    const crossing = [...ids.values()].filter((e) => e.crossing).length;
    expect(crossing).toBeGreaterThanOrEqual(2);
    expect(crossing).toBeLessThan(ids.size);
    expect([...ids.values()].some((e) => e.frames.length === 180)).toBe(true);
    expect([...ids.values()].some((e) => e.frames[0]! > 0 && e.frames.at(-1)! < 179)).toBe(true);
  });

  it('records boxes that match the reconstructed visible masks', () => {
    for (const f of [gt[0]!, gt[60]!, gt[120]!]) {
      for (const t of f.targets) {
        const mask = visibleMask(f, t.id, 640, 480);
        let [x1, y1, x2, y2, n] = [Infinity, Infinity, -1, -1, 0];
        for (let y = 0; y < 480; y++) {
          for (let x = 0; x < 640; x++) {
            if (!mask[y * 640 + x]) continue;
            n++;
            x1 = Math.min(x1, x);
            y1 = Math.min(y1, y);
            x2 = Math.max(x2, x + 1);
            y2 = Math.max(y2, y + 1);
          }
        }
        expect([x1, y1, x2, y2]).toEqual(t.box);
        expect(n).toBeGreaterThan(0);
      }
    }
  });

  it('shows the class colour at the centre of fully visible targets in the decoded video', async () => {
    let checked = 0;
    for (const index of [15, 90, 165]) {
      const rgb = await decodeFrame(clip.video, index, 640, 480);
      for (const t of gt[index]!.targets.filter((t) => t.visible === 1)) {
        const cx = Math.floor((t.box[0] + t.box[2]) / 2);
        const cy = Math.floor((t.box[1] + t.box[3]) / 2);
        const mean = [0, 0, 0];
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) for (let c = 0; c < 3; c++) mean[c]! += rgb[((cy + dy) * 640 + cx + dx) * 3 + c]! / 9;
        const want = SYNTH_CLASSES[t.class]!.rgb;
        for (let c = 0; c < 3; c++) expect(Math.abs(mean[c]! - want[c]!), `target ${t.id} channel ${c}`).toBeLessThan(25);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });
});

describe('generateClip', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synth-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const opts = { width: 320, height: 240, fps: 10, seconds: 2, seed: 42 };
    const a = await generateClip({ ...opts, out: join(dir, 'a.mp4') });
    const b = await generateClip({ ...opts, out: join(dir, 'b.mp4') });
    const c = await generateClip({ ...opts, seed: 43, out: join(dir, 'c.mp4') });
    expect(a).toEqual({ video: join(dir, 'a.mp4'), groundTruth: join(dir, 'a.gt.jsonl'), frames: 20 });
    const gtA = await readFile(a.groundTruth, 'utf8');
    expect(await readFile(b.groundTruth, 'utf8')).toBe(gtA);
    expect(await readFile(c.groundTruth, 'utf8')).not.toBe(gtA);
    expect(gtA.trim().split('\n')).toHaveLength(20);
  });

  it('renders 1080p', async () => {
    const r = await generateClip({ out: join(dir, 'hd.mp4'), width: 1920, height: 1080, fps: 30, seconds: 0.5, seed: 3 });
    expect(await probe(r.video)).toEqual({ width: 1920, height: 1080, frames: 15, codec: 'h264' });
  });

  it('caps the bitrate when asked (a camera budget), keeping every frame', async () => {
    const opts = { width: 640, height: 480, fps: 15, seconds: 2, seed: 5 };
    const free = await generateClip({ ...opts, out: join(dir, 'free.mp4') });
    const capped = await generateClip({ ...opts, out: join(dir, 'capped.mp4'), maxKbps: 600 });
    const kbps = async (f: string): Promise<number> => ((await readFile(f)).length * 8) / 1000 / opts.seconds;
    // The 2 s VBV buffer lets a 2 s clip overshoot the cap somewhat; uncapped it is several times more.
    const [freeKbps, cappedKbps] = [await kbps(free.video), await kbps(capped.video)];
    expect(cappedKbps).toBeLessThan(600 * 1.5);
    expect(freeKbps).toBeGreaterThan(3 * cappedKbps);
    expect((await probe(capped.video)).frames).toBe(30);
  });

  it('leaves no partial file when ffmpeg fails, and rejects bad sizes', async () => {
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = '/bin/false';
    try {
      await expect(generateClip({ out: join(dir, 'fail', 'x.mp4'), width: 320, height: 240, seconds: 1 })).rejects.toThrow(/ffmpeg/);
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
    }
    expect(await readdir(join(dir, 'fail'))).toEqual([]);
    await expect(generateClip({ out: join(dir, 'odd.mp4'), width: 321, height: 240 })).rejects.toThrow(/even/);
  });
});
