/**
 * Motion gating live: a stream of the mostly-still scene with `"motion": {"enabled": true}` served
 * in real time. WebSocket `detections` carry `"inferred": false` and the carried-forward objects on
 * skipped frames and `motion` on every frame; skips are counted by reason (not as drops) in the
 * stream's stats, the `stats` message and /metrics; the dashboard tile shows a motion meter, and a
 * click on it draws the frames' motion regions over the video.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../src/serve/dashboard/build.mjs';
import { MOTION_RGB } from '../src/serve/dashboard/overlay.js';
import { ensureDemoClip, MOTION_SCENE_SECONDS } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import type { RunningServer } from '../src/serve/server.js';
import { TestClient, api, startTestServer, until, type Json } from './helpers/serveHarness.js';

let server: RunningServer;
let client: TestClient;
/** The scene's clip, looped by the streams. */
let video: string;

beforeAll(async () => {
  await buildDashboard();
  const [clip, model] = await Promise.all([ensureDemoClip({ scene: 'motion', fps: 10, seconds: MOTION_SCENE_SECONDS }), ensureModel('synthetic-det')]);
  video = clip.video;
  server = await startTestServer(
    {
      models: { [model]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dirname(clip.video)] },
      streams: [{ id: 'yard', url: clip.video, loop: true, video: false, motion: { enabled: true } }],
    },
    process.cwd(),
  );
  client = await TestClient.connect(server);
  await client.subscribe(['yard']);
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

const skipped = (d: Json): boolean => d.inferred === false;

describe('motion gating on a live stream', () => {
  it('sends every frame, the skipped ones marked and carrying the previous objects', async () => {
    // The scene starts still (skips) and objects cross from 4 s on (runs on motion).
    await until(() => client.detections.some(skipped) && client.detections.some((d) => d.motion?.reason === 'motion' && d.objects.length > 0), 120_000, 'skipped and motion frames');
    const ds = client.detections;
    expect(ds.every((d) => typeof d.motion?.changed === 'number' && typeof d.motion?.reason === 'string')).toBe(true);
    expect(ds.every((d) => d.inferred === undefined || d.inferred === false)).toBe(true);
    for (const d of ds.filter(skipped)) {
      expect(['still', 'small', 'light']).toContain(d.motion.reason);
      // No inference on it.
      expect(d.latency.inference_ms).toBeNull();
      expect(d.latency.batch).toBeNull();
    }
    for (const d of ds.filter((x) => !skipped(x))) expect(['start', 'motion', 'moving', 'lost', 'keyframe']).toContain(d.motion.reason);
    // Consecutive frames: a skipped one shows what the one before it showed.
    const pairs = ds.slice(1).map((d, i) => [ds[i]!, d] as const).filter(([a, b]) => b.seq === a.seq + 1 && skipped(b));
    expect(pairs.length).toBeGreaterThan(0);
    for (const [a, b] of pairs) expect(b.objects).toEqual(a.objects);
  });

  it('counts skips by reason in the stream stats, the stats message and /metrics, not as drops', async () => {
    await until(() => client.stats.some((m) => m.streams.some((s: Json) => s.id === 'yard' && s.motion?.skipped.still > 0)), 60_000, 'stats with motion');
    const s = (await api(server, 'GET', '/api/streams/yard')).json;
    const ran = Object.values(s.motion.ran as Record<string, number>).reduce((a, b) => a + b, 0);
    const skips = Object.values(s.motion.skipped as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(Object.keys(s.motion.skipped).sort()).toEqual(['light', 'small', 'still']);
    expect(Object.keys(s.motion.ran).sort()).toEqual(['keyframe', 'lost', 'motion', 'moving', 'start']);
    expect(ran).toBe(s.framesInferred);
    expect(s.motion.ran.start).toBe(1);
    expect(skips).toBeGreaterThan(0);
    expect(s.framesSent).toBeGreaterThanOrEqual(ran + skips - 1);
    expect(s.framesInferred).toBeLessThan(s.framesSent);
    expect(s.drops).toEqual({ policy: expect.any(Number), staleness: 0, client: 0 });
    expect(s.motion.changed).toBeGreaterThanOrEqual(0);
    const text = (await api(server, 'GET', '/metrics')).bytes.toString('utf8');
    expect(text).toContain('# TYPE streamlens_stream_frames_skipped_total counter');
    expect(text).toMatch(/streamlens_stream_frames_skipped_total\{stream="yard",reason="still"\} [1-9]/);
    expect(text).toMatch(/streamlens_stream_motion_runs_total\{stream="yard",reason="start"\} 1\b/);
    expect(text).toMatch(/streamlens_stream_motion_changed_ratio\{stream="yard"\} [\d.e-]+/);
  });
});

describe('a motion mask on a live stream', () => {
  it('is checked when the stream is added, and what it covers is never motion', async () => {
    const bad = await api(server, 'POST', '/api/streams', { id: 'masked', url: video, motion: { mask: [[[0, 0], [1, 1]]] } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues).toEqual([{ path: 'motion.mask[0]', message: expect.stringMatching(/^expected a polygon: at least 3 points/) }]);
    // The whole frame masked: the scene's crossing objects are no motion; the detector runs at the
    // start, at keyframes and while the objects those found move.
    const added = await api(server, 'POST', '/api/streams', { id: 'masked', url: video, loop: true, video: false, motion: { coordinates: 'normalized', mask: [[[0, 0], [1, 0], [1, 1], [0, 1]]] } });
    expect(added.status, JSON.stringify(added.json)).toBeLessThan(300);
    const watcher = await TestClient.connect(server);
    try {
      await watcher.subscribe(['masked']);
      // 20 s of the scene at 10 fps: objects cross from 4 s on.
      await until(() => watcher.detections.length >= 200, 120_000, '200 frames of the masked stream');
      const frames = watcher.detections.slice(0, 200);
      expect(frames.filter((d) => d.motion.reason === 'motion')).toEqual([]);
      expect(frames.every((d) => d.motion.changed === 0)).toBe(true);
      expect(frames.filter((d) => d.motion.reason === 'keyframe').length).toBeGreaterThan(0);
      expect(frames.some((d) => d.inferred === false)).toBe(true);
    } finally {
      watcher.close();
      await api(server, 'DELETE', '/api/streams/masked');
    }
  });
});

describe('the dashboard tile of a gated stream', () => {
  const tile = 'article.tile[data-stream="yard"]';
  let profile: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'streamlens-motion-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 900, height: 700 },
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows a motion meter: the changed share, dim on skipped frames, lit when the detector ran', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/`);
      // The scene loops: frames the detector skips and frames it runs on both come within a loop.
      // The meter is read in the same moment as the frame's flag (the next frame may change both).
      const seen = async (inferred: string): Promise<{ title: string; skipped: boolean; visible: boolean }> =>
        (await page.waitForFunction(
          ([sel, want]) => {
            const t = document.querySelector<HTMLElement>(sel!);
            const m = t?.querySelector<HTMLElement>('.motion-meter');
            return t?.dataset.inferred === want && m ? { title: m.title, skipped: m.classList.contains('skipped'), visible: !m.hidden } : false;
          },
          [tile, inferred],
          { timeout: 120_000, polling: 50 },
        )).jsonValue() as Promise<{ title: string; skipped: boolean; visible: boolean }>;
      const skipped = await seen('false');
      expect(skipped.visible).toBe(true);
      expect(skipped.skipped).toBe(true);
      expect(skipped.title).toMatch(/^motion: [\d.]+ % of the frame changed · detector skipped \((still|small|light)\) · click to show or hide the motion regions$/);
      const ran = await seen('true');
      expect(ran.skipped).toBe(false);
      expect(ran.title).toMatch(/detector ran \((start|motion|moving|lost|keyframe)\) · /);
      expect(Number(await page.getAttribute(tile, 'data-motion'))).toBeGreaterThanOrEqual(0);
      mkdirSync('test/artifacts', { recursive: true });
      await page.locator(tile).screenshot({ path: 'test/artifacts/motion-tile.png' });
    } finally {
      await page.close();
    }
  });

  it("draws the frames' motion regions as dashed boxes while its meter is pressed, and hides them on the next click", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/`);
      const meter = `${tile} .motion-meter`;
      await page.locator(meter).waitFor({ state: 'visible', timeout: 120_000 });
      expect(await page.getAttribute(meter, 'aria-pressed')).toBe('false');
      expect(await page.getAttribute(tile, 'data-motion-boxes')).toBeNull();
      /** The tile's drawn frame: its seq, the motion boxes it says it drew and the canvas pixels in the motion colour. */
      const drawn = async (want: 'boxes' | 'none'): Promise<{ seq: number; boxes: number | null; pixels: number }> =>
        (await page.waitForFunction(
          ([sel, rgb, w]) => {
            const t = document.querySelector<HTMLElement>(sel as string)!;
            const boxes = t.dataset.motionBoxes === undefined ? null : Number(t.dataset.motionBoxes);
            if (w === 'boxes' ? !boxes : boxes !== null) return false;
            const canvas = t.querySelector('canvas')!;
            const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
            const [r, g, b] = rgb as readonly number[];
            let pixels = 0;
            for (let i = 0; i < px.length; i += 4) if (px[i] === r && px[i + 1] === g && px[i + 2] === b) pixels++;
            if (w === 'none' && pixels > 0) return false;
            return { seq: Number(t.dataset.seq), boxes, pixels };
          },
          [tile, MOTION_RGB, want],
          { timeout: 120_000, polling: 100 },
        )).jsonValue() as Promise<{ seq: number; boxes: number | null; pixels: number }>;

      await page.click(meter);
      expect(await page.getAttribute(meter, 'aria-pressed')).toBe('true');
      // The meter's click is not the tile's: the tile stays in the grid.
      expect(await page.evaluate(() => location.hash)).toBe('');
      expect(await page.getAttribute(tile, 'class')).not.toContain('expanded');
      // The scene's crossing objects move: a frame with motion regions, drawn in the motion colour,
      // as many boxes as the frame's message carries.
      const on = await drawn('boxes');
      expect(on.pixels).toBeGreaterThan(0);
      await page.locator(tile).screenshot({ path: 'test/artifacts/motion-regions-tile.png' });
      await until(() => client.detections.some((d) => d.seq === on.seq), 60_000, `frame ${on.seq} at the test's client`);
      const message = client.detections.find((d) => d.seq === on.seq)!;
      expect(on.boxes).toBe(message.motion.regions.length);

      await page.click(meter);
      expect(await page.getAttribute(meter, 'aria-pressed')).toBe('false');
      // Drawn again without them: no box count, not one pixel of the motion colour.
      const off = await drawn('none');
      expect(off.boxes).toBeNull();
      expect(off.pixels).toBe(0);
    } finally {
      await page.close();
    }
  });
});
