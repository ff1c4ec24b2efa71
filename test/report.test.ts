/** The analysis report: what the collector gathers, and the HTML it becomes (checked as text and in Chromium). */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { ReportCollector, thumbnailOf } from '../src/output/report/collector.js';
import { downsample, formatTime, renderReport, type ReportMeta } from '../src/output/report/html.js';
import { niceMax } from '../src/output/report/chart.js';
import { createImage, fillRect, type Rgb } from '../src/output/render/image.js';
import type { AnalyticsEvent, Detection, FrameResult } from '../src/types.js';

const W = 320;
const H = 240;
const FPS = 10;
const GREEN: Rgb = [30, 200, 60];
const BLUE: Rgb = [40, 60, 220];
const artifacts = join(process.cwd(), 'test/artifacts');

function result(index: number, detections: Detection[], extra: Partial<FrameResult> = {}): FrameResult {
  return { streamId: 'a', seq: index, index, pts: index / FPS, width: W, height: H, detections, timing: { captureTs: 0, stages: {} }, ...extra };
}

/** 4 s of video: a green object (track 1) all along, a blue one (track 2) from 1 s to 3 s, an untracked one at 2 s. */
function scene(): Array<{ r: FrameResult; img: ReturnType<typeof createImage> }> {
  const out = [];
  for (let i = 0; i < 4 * FPS; i++) {
    const img = createImage(W, H, [90, 90, 90]);
    const dets: Detection[] = [];
    const gx = 10 + i * 4;
    fillRect(img, gx, 50, gx + 40, 110, GREEN);
    // The best score is at frame 25; frame 3 has the class voted down (majority stays 'person').
    dets.push({ box: [gx, 50, gx + 40, 110], score: i === 25 ? 0.97 : 0.6 + (i % 5) * 0.02, class: i === 3 ? 7 : 0, label: i === 3 ? 'truck' : 'person', trackId: 1 });
    if (i >= 10 && i < 30) {
      fillRect(img, 200, 150, 260, 200, BLUE);
      dets.push({ box: [200, 150, 260, 200], score: 0.8, class: 2, label: 'car', trackId: 2 });
    }
    if (i === 20) dets.push({ box: [5, 5, 15, 15], score: 0.3, class: 2, label: 'car' });
    const events: AnalyticsEvent[] | undefined =
      i === 15
        ? [{ id: 'e1', type: 'line_cross', stream: 'a', line: 'door', direction: 'in', track_id: 1, class: 0, label: 'person', score: 0.6, box: [70, 50, 110, 110], frame: i, pts: i / FPS }]
        : i === 22
          ? [{ id: 'e2', type: 'zone_enter', stream: 'a', zone: 'bay', track_id: 2, class: 2, label: 'car', box: [200, 150, 260, 200], frame: i, pts: i / FPS }]
          : undefined;
    const counts = i === 15 ? { lines: { door: { in: { person: 1 }, out: { person: 0 } } }, zones: { bay: { car: 0 } } } : i === 22 ? { lines: { door: { in: { person: 1 }, out: { person: 0 } } }, zones: { bay: { car: 1 } } } : undefined;
    out.push({ r: result(i, dets, { events, counts }), img });
  }
  return out;
}

async function collect(): Promise<Awaited<ReturnType<ReportCollector['finish']>>> {
  const c = new ReportCollector({ idleSeconds: 0.5 });
  // Wall clock: 20 frames per second of processing.
  scene().forEach(({ r, img }, i) => c.add(r, img, i * 50));
  return c.finish();
}

async function pixelOfJpeg(jpeg: Uint8Array): Promise<[number, number, number]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const p = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return [data[p], data[p + 1], data[p + 2]];
}

const near = (a: readonly number[], b: readonly number[], tol = 12): boolean => a.every((v, i) => Math.abs(v - b[i]) <= tol);

describe('ReportCollector', () => {
  it('summarises each track: majority label, first and last seen, frames, best detection', async () => {
    const data = await collect();
    expect(data.tracked).toBe(true);
    expect(data.tracks.map((t) => t.id)).toEqual([1, 2]);
    const [a, b] = data.tracks;
    expect(a).toMatchObject({ class: 0, label: 'person', firstFrame: 0, lastFrame: 39, frames: 40, bestScore: 0.97, bestFrame: 25 });
    expect(a.lastPts - a.firstPts).toBeCloseTo(3.9, 9);
    expect(b).toMatchObject({ class: 2, label: 'car', firstFrame: 10, lastFrame: 29, frames: 20, bestFrame: 10 });
  });

  it('keeps a JPEG crop of the best detection (the object is at its centre)', async () => {
    const data = await collect();
    const [a, b] = data.tracks;
    expect(near(await pixelOfJpeg(a.thumbnail!), GREEN)).toBe(true);
    expect(near(await pixelOfJpeg(b.thumbnail!), BLUE)).toBe(true);
    const meta = await sharp(a.thumbnail!).metadata();
    // 40x60 box + 10 % margins = 48x72, under the 112 px limit: not shrunk.
    expect([meta.width, meta.height]).toEqual([48, 72]);
    const big = thumbnailOf(createImage(2000, 1000), [0, 0, 1000, 500], 112)!;
    expect(Math.max(big.width, big.height)).toBe(112);
  });

  it('counts detections per class per second of video, as means per frame', async () => {
    const data = await collect();
    const car = data.classes.find((c) => c.class === 2)!;
    const person = data.classes.find((c) => c.class === 0)!;
    expect(car.total).toBe(21);
    expect(car.peak).toBe(2);
    // Second 0: no car; second 1: one per frame; second 2: one per frame plus the untracked one on frame 20.
    expect(car.perSecond).toEqual([0, 1, 1.1, 0]);
    expect(person.perSecond).toEqual([0.9, 1, 1, 1]);
    expect(data.classes.find((c) => c.class === 7)!.total).toBe(1);
  });

  it('keeps the events and the last counts, and measures the processing speed', async () => {
    const data = await collect();
    expect(data.events.map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(data.counts?.zones.bay.car).toBe(1);
    expect(data.processing.frames).toBe(40);
    expect(data.processing.seconds).toBeCloseTo(1.95, 9);
    expect(data.processing.fps).toBeCloseTo(20, 9);
    expect(data.processing.videoSeconds).toBeCloseTo(4, 9);
    expect(data.processing.fpsSeries.map((s) => s.fps)).toEqual([20, 20]);
  });

  it('lists at most maxEvents events and counts the rest', async () => {
    const c = new ReportCollector({ maxEvents: 3 });
    const ev = (k: number): AnalyticsEvent => ({ id: `e${k}`, type: 'zone_enter', stream: 'a', zone: 'z', track_id: 1, class: 0, label: 'p', box: [0, 0, 1, 1], frame: k, pts: k });
    for (let k = 0; k < 5; k++) c.add(result(k, [], { events: [ev(k)] }));
    const data = await c.finish();
    expect(data.events).toHaveLength(3);
    expect(data.eventsOmitted).toBe(2);
    expect(data.tracked).toBe(false);
  });
});

describe('report helpers', () => {
  it('formats times and axis maxima, and averages long series into bins', () => {
    expect(formatTime(0)).toBe('00:00.0');
    expect(formatTime(75.25)).toBe('01:15.3');
    expect(formatTime(3725)).toBe('1:02:05.0');
    expect(niceMax(7)).toBe(10);
    expect(niceMax(2)).toBe(2);
    expect(niceMax(0.3)).toBe(0.5);
    expect(downsample([1, 2, 3, 4, 5], 2)).toEqual([{ x: 1.5, y: 2 }, { x: 4, y: 4.5 }]);
    expect(downsample([1, 2], 5)).toEqual([{ x: 0.5, y: 1 }, { x: 1.5, y: 2 }]);
  });
});

describe('report HTML', () => {
  const meta: ReportMeta = {
    input: { source: 'clips/<gate>.mp4', width: W, height: H, fps: FPS, codec: 'h264', duration: 4, frameCount: 40 },
    model: 'synthetic-det',
    settings: { confidence: 0.25, tracker: true },
    startedAt: '2026-01-01T00:00:00.000Z',
  };

  it('is one file with nothing loaded from elsewhere, and escapes what it quotes', async () => {
    const html = renderReport(meta, await collect());
    expect(html).not.toMatch(/<(link|script)[^>]+(src|href)=/);
    expect(html).not.toMatch(/<img[^>]+src="(?!data:)/);
    expect(html).toContain('clips/&lt;gate&gt;.mp4');
    expect(html).not.toContain('<gate>');
    // Without a rendered video, times are plain text.
    expect(html).not.toContain('class="seek"');
  });

  it('opens in Chromium with the chart, the track table with thumbnails, counts and events, and seeks the video from an event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport({ ...meta, video: 'gate.mp4' }, await collect()));
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);
      // One polyline per class in the detections chart, coloured per class.
      const series = await page.$$eval('#detections svg polyline.series', (ps) => ps.map((p) => p.getAttribute('data-series')));
      expect(series.sort()).toEqual(['car', 'person', 'truck']);
      const rows = await page.$$eval('table.tracks tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())));
      expect(rows).toHaveLength(2);
      expect(rows[0].slice(1, 7)).toEqual(['#1', 'person', '00:00.0', '00:03.9', '3.9 s', '40']);
      expect(rows[1].slice(1, 7)).toEqual(['#2', 'car', '00:01.0', '00:02.9', '1.9 s', '20']);
      const thumbs = await page.$$eval('table.tracks img.thumb', (imgs) => (imgs as HTMLImageElement[]).map((i) => i.complete && i.naturalWidth > 0));
      expect(thumbs).toEqual([true, true]);
      expect(await page.textContent('table.counts')).toContain('door');
      const events = await page.$$eval('table.events tbody tr', (trs) => trs.map((tr) => tr.textContent));
      expect(events).toHaveLength(2);
      // An event's time seeks the embedded player (the video file does not exist: the attribute is what counts).
      await page.click('table.events a.seek[data-t="1.5"]');
      expect(await page.$eval('#video', (v) => (v as HTMLVideoElement).getAttribute('src'))).toBe('gate.mp4');
      expect(await page.$eval('table.events a.seek', (a) => a.getAttribute('href'))).toBe('gate.mp4#t=1.5');
      expect(errors).toEqual([]);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'report-synthetic.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
