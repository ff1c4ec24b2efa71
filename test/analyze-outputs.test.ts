/**
 * `streamlens analyze` outputs people look at, end to end through the built CLI: the rendered
 * video (ffprobe and pixels), the HTML report (in Chromium), many inputs with a broken one, and
 * the COCO export of a segmentation model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { ANALYTICS_SCENE_CONFIG, generateClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { styleFor } from '../src/output/render/annotate.js';
import { classRgb } from '../src/output/render/palette.js';
import { iou } from './helpers/detectionMetrics.js';
import type { Box } from '../src/types.js';
import { colourDistance, decodeFrames, meanDifference, outerEdgePoints, probeVideo, rgbAt } from './helpers/renderedVideo.js';
import { cocoProblems, maskFromCocoRle, type CocoFile } from './helpers/coco.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const artifacts = join(root, 'test/artifacts');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], timeoutMs = 240_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Line {
  frame: number;
  detections: Array<{ box: Box; score: number; class: number; label: string; track_id?: number; mask?: { size: [number, number]; counts: number[] } }>;
}

const readLines = (path: string): Line[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

const dir = mkdtempSync(join(tmpdir(), 'streamlens-outputs-'));
const inside = (b: Box, x: number, y: number): boolean => x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
const grow = (b: Box, m: number): Box => [b[0] - m, b[1] - m, b[2] + m, b[3] + m];
/** Where a detection's tag may be drawn (above its box, inside it at the top border, shifted left at the right one). */
const tagArea = (b: Box): Box => [Math.min(b[0], 640 - 220) - 4, b[1] - 30, Math.max(b[0], 420) + 220, b[1] + 30];

describe('analyze --out --render --report on a synthetic clip', () => {
  let clip: string;
  let gt: GtFrame[];
  let lines: Line[];
  let run: CliRun;
  const video = join(dir, 'scene-rendered.mp4');
  const report = join(dir, 'scene.html');

  beforeAll(async () => {
    const c = await generateClip({ out: join(dir, 'scene.mp4'), seed: 4321, seconds: 4, targets: 8 });
    clip = c.video;
    gt = await readGroundTruth(c.groundTruth);
    await ensureModel('synthetic-det', { imgsz: 640 });
    run = await runCli(['analyze', clip, '--model', 'synthetic-det', '--out', join(dir, 'scene.jsonl'), '--render', video, '--report', report, '--crf', '18']);
    lines = readLines(join(dir, 'scene.jsonl'));
  }, 300_000);

  it('exits 0, every frame in the results', () => {
    expect(run.stderr).toMatch(/analyzed \d+ frames/);
    expect(run.code).toBe(0);
    expect(lines.length).toBe(gt.length);
  });

  it("renders the source's frame count, size and frame rate", () => {
    const src = probeVideo(clip);
    expect(probeVideo(video)).toMatchObject({ width: src.width, height: src.height, rate: src.rate, frames: src.frames, codec: 'h264' });
  });

  it('draws the class colour along the edges of the detected known objects, and nothing away from detections', () => {
    const source = decodeFrames(clip, 640, 480);
    const rendered = decodeFrames(video, 640, 480);
    expect(rendered.length).toBe(source.length);
    const { thickness } = styleFor(640, 480);
    let objects = 0;
    const ratios: number[] = [];
    for (let i = 0; i < rendered.length; i += 5) {
      const dets = lines[i].detections;
      // Known objects: ground-truth targets the detector found (the drawn box is the detector's).
      for (const t of gt[i].targets.filter((x) => x.visible > 0.6)) {
        const d = dets.find((x) => iou(x.box, t.box) >= 0.5);
        if (!d) continue;
        objects++;
        const covered = dets.filter((o) => o !== d).map((o) => grow(o.box, thickness + 2)).concat(dets.map((o) => tagArea(o.box)));
        const colour = classRgb(d.class);
        for (const [x, y] of outerEdgePoints(d.box, thickness, 640, 480)) {
          if (covered.some((b) => inside(b, x, y)) || colourDistance(rgbAt(source[i], 640, x, y), colour) < 60) continue;
          // H.264 4:2:0 shares chroma between neighbouring pixels (a line over an object of another
          // colour bleeds): much nearer the colour than the source was, and twice as near as a rule.
          const ratio = colourDistance(rgbAt(rendered[i], 640, x, y), colour) / colourDistance(rgbAt(source[i], 640, x, y), colour);
          expect(ratio).toBeLessThan(0.8);
          ratios.push(ratio);
        }
      }
      // Away from every box, tag and trail (boxes of the frames before), the picture is the source's.
      const keepOut: Box[] = [];
      for (let k = Math.max(0, i - 30); k <= i; k++) for (const d of lines[k].detections) keepOut.push(grow(d.box, 8), tagArea(d.box));
      for (let y = 0; y + 32 <= 480; y += 32) {
        for (let x = 0; x + 32 <= 640; x += 32) {
          if (keepOut.some((b) => x < b[2] && x + 32 > b[0] && y < b[3] && y + 32 > b[1])) continue;
          expect(meanDifference(rendered[i], source[i], 640, [x, y, x + 32, y + 32])).toBeLessThan(6);
        }
      }
    }
    expect(objects).toBeGreaterThan(20);
    expect(ratios.length).toBeGreaterThan(300);
    expect(ratios.sort((a, b) => a - b)[Math.floor(ratios.length / 2)]).toBeLessThan(0.5);
  });

  it('writes a report that opens in Chromium with the chart, the track table and the video it links into', async () => {
    const tracks = new Set(lines.flatMap((l) => l.detections.flatMap((d) => (d.track_id === undefined ? [] : [d.track_id]))));
    const classes = new Set(lines.flatMap((l) => l.detections.map((d) => d.label)));
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(report).href);
      const series = await page.$$eval('#detections svg polyline.series', (ps) => ps.map((p) => p.getAttribute('data-series')));
      expect(series.sort()).toEqual([...classes].sort());
      const rows = await page.$$eval('table.tracks tbody tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[1]?.textContent));
      expect(rows.sort()).toEqual([...tracks].map((t) => `#${t}`).sort());
      const thumbs = await page.$$eval('table.tracks img.thumb', (imgs) => (imgs as HTMLImageElement[]).map((i) => i.complete && i.naturalWidth > 0));
      expect(thumbs.length).toBe(tracks.size);
      expect(thumbs.every(Boolean)).toBe(true);
      expect(Number(await page.textContent('#fps'))).toBeGreaterThan(0);
      // The rendered video plays in the page, and a track's time seeks it.
      await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).readyState >= 1, undefined, { timeout: 60_000 });
      const link = page.locator('table.tracks a.seek').nth(3);
      const t = Number(await link.getAttribute('data-t'));
      await link.click();
      await page.waitForFunction((want) => Math.abs((document.getElementById('video') as HTMLVideoElement).currentTime - want) < 0.5, t, { timeout: 60_000 });
      expect(errors).toEqual([]);
      mkdirSync(artifacts, { recursive: true });
      await page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).pause());
      await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
      // The README's picture: UPDATE_DOCS_SCREENSHOTS=1 npx vitest run test/analyze-outputs.test.ts
      if (process.env.UPDATE_DOCS_SCREENSHOTS) {
        mkdirSync(join(root, 'docs/images'), { recursive: true });
        await page.screenshot({ path: join(root, 'docs/images/report.png'), fullPage: true });
      }
    } finally {
      await browser.close();
    }
  });
});

describe('analyze IN... --out-dir', () => {
  it('analyses every input into DIR/<name>.<ext>, reports the broken one and exits 1 naming it', async () => {
    const inputs = join(dir, 'many');
    mkdirSync(inputs, { recursive: true });
    await generateClip({ out: join(inputs, 'cam-a.mp4'), seed: 11, seconds: 2, targets: 4 });
    await generateClip({ out: join(inputs, 'cam-b.mp4'), seed: 12, seconds: 2, targets: 4 });
    writeFileSync(join(inputs, 'broken.mp4'), 'this is not a video\n');
    const out = join(dir, 'many-out');
    const r = await runCli(['analyze', inputs, join(dir, 'absent.mp4'), '--out-dir', out, '--format', 'jsonl,coco', '--report', '--model', 'synthetic-det', '--jobs', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 of 4 inputs failed/);
    expect(r.stderr).toMatch(/broken\.mp4 \(not a video/);
    expect(r.stderr).toMatch(/absent\.mp4 \(not found\)/);
    expect(r.stderr).toMatch(/^overall \[#+\] 4\/4 files, 2 failed/m);
    for (const name of ['cam-a', 'cam-b']) {
      expect(r.stderr).toMatch(new RegExp(`\\] .*${name}\\.mp4  done: 30 frames`));
      expect(readLines(join(out, `${name}.jsonl`))).toHaveLength(30);
      expect(cocoProblems(JSON.parse(readFileSync(join(out, `${name}.coco.json`), 'utf8')))).toEqual([]);
      expect(readFileSync(join(out, `${name}.html`), 'utf8')).toContain('<table class="tracks">');
    }
    expect(existsSync(join(out, 'broken.jsonl'))).toBe(false);
  }, 300_000);

  it('refuses several inputs without --out-dir, and a file name for --render with it', async () => {
    const a = await runCli(['analyze', 'a.mp4', 'b.mp4', '--model', 'synthetic-det', '--out', 'x.jsonl']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/several inputs need --out-dir/);
    const b = await runCli(['analyze', 'a.mp4', '--model', 'synthetic-det', '--out-dir', join(dir, 'x'), '--render=v.mp4']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--render and --report take no file name/);
  });
});

describe('analyze --format coco with a segmentation model', () => {
  it('validates against the format and carries the same masks as the JSONL results', async () => {
    const c = await generateClip({ out: join(dir, 'seg.mp4'), seed: 77, seconds: 2, targets: 5 });
    await ensureModel('synthetic-seg', { imgsz: 640 });
    const out = join(dir, 'seg-out');
    const input = join(dir, 'seg-in.mp4');
    copyFileSync(c.video, input);
    const r = await runCli(['analyze', input, '--out-dir', out, '--format', 'jsonl,coco', '--model', 'synthetic-seg']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(out, 'seg-in.coco.json'), 'utf8')) as CocoFile;
    expect(cocoProblems(doc)).toEqual([]);
    const results = readLines(join(out, 'seg-in.jsonl'));
    const dets = results.flatMap((l) => l.detections.map((d) => ({ frame: l.frame, d })));
    expect(doc.annotations).toHaveLength(dets.length);
    expect(dets.filter((x) => x.d.mask).length).toBeGreaterThan(20);
    doc.annotations.forEach((a, k) => {
      const { frame, d } = dets[k];
      expect(a.image_id).toBe(frame + 1);
      expect(a.category_id).toBe(d.class + 1);
      const s = a.segmentation as { size: [number, number]; counts: number[] };
      // Buffer comparison: a deep equality over 300k elements is slow.
      expect(Buffer.from(maskFromCocoRle(s.size, s.counts)).equals(Buffer.from(maskFromCocoRle(d.mask!.size, d.mask!.counts)))).toBe(true);
    });
    expect(doc.images).toHaveLength(results.length);
  }, 300_000);
});

describe('analyze --analytics with --render and --report', () => {
  it('draws the line and the zone with their running counts on every frame, and the report lists the counts and the events', async () => {
    const c = await generateClip({ out: join(dir, 'analytics.mp4'), scene: 'analytics' });
    const config = join(dir, 'analytics.json');
    writeFileSync(config, JSON.stringify(ANALYTICS_SCENE_CONFIG));
    const video = join(dir, 'analytics-rendered.mp4');
    const report = join(dir, 'analytics.html');
    const events = join(dir, 'analytics-events.jsonl');
    const r = await runCli(['analyze', c.video, '--model', 'synthetic-det', '--analytics', config, '--events', events, '--render', video, '--report', report, '--crf', '18']);
    expect(r.code, r.stderr).toBe(0);
    const source = decodeFrames(c.video, 640, 480);
    const rendered = decodeFrames(video, 640, 480);
    expect(rendered.length).toBe(source.length);
    // The line (y = 240 from x = 40 to 600) and the zone's outline (white, left edge x = 420) in
    // their colours: much nearer them than the source pixel (H.264 4:2:0 blurs a 2-pixel line's
    // chroma), at points most squares and tags leave alone.
    const line = ANALYTICS_SCENE_CONFIG.lines![0];
    const nearer = (i: number, x: number, y: number, colour: number[]): boolean =>
      colourDistance(rgbAt(rendered[i], 640, x, y), colour) < 0.8 * colourDistance(rgbAt(source[i], 640, x, y), colour);
    for (const i of [0, Math.floor(rendered.length / 2), rendered.length - 1]) {
      expect([60, 100, 140, 560].filter((x) => nearer(i, x, line.from[1], [255, 230, 0])).length, `frame ${i}`).toBeGreaterThanOrEqual(3);
      expect([380, 400, 440, 460].filter((y) => nearer(i, 420, y, [255, 255, 255])).length, `frame ${i}`).toBeGreaterThanOrEqual(3);
    }
    // The counts tag changes once objects have crossed: the first and last frames differ around the tag.
    const tagRegion: [number, number, number, number] = [250, 240, 640, 270];
    expect(meanDifference(rendered[0], rendered[rendered.length - 1], 640, tagRegion)).toBeGreaterThan(2);
    const got = readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; pts: number; direction?: string });
    expect(got.length).toBeGreaterThan(3);
    const html = readFileSync(report, 'utf8');
    const crossings = got.filter((e) => e.type === 'line_cross');
    const ins = crossings.filter((e) => e.direction === 'in').length;
    const outs = crossings.length - ins;
    expect(html).toContain(`<table class="counts"><thead><tr><th>line</th><th>in</th><th>out</th><th>in by label</th><th>out by label</th></tr></thead><tbody><tr><td>gate</td><td>${ins}</td><td>${outs}</td>`);
    expect(html.match(/<a class="seek"[^>]*>/g)!.length).toBeGreaterThanOrEqual(got.length);
    expect(html).toContain(`<h3>Events (${got.length})</h3>`);
  }, 300_000);
});
