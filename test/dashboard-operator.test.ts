/**
 * The dashboard as an operator uses it, in Chromium, against a scripted server (bench/dashboardReplay.ts:
 * the real dashboard files and protocol, with states, stats and frames on cue): tiles that say when a
 * camera went quiet, is starved or failed; a grid that fits 1/4/9/16 streams and a phone without
 * scrolling; readable tags; hidden tiles and a page in a background tab that take no video;
 * acknowledgements that keep frames coming under the server's window. Screenshots go to test/artifacts/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayServer, replayJpegs, replayStats, type ReplayFrame } from '../bench/dashboardReplay.js';
import { buildDashboard } from '../src/serve/dashboard/build.mjs';
import type { WireObject } from '../src/serve/protocol.js';

const artifacts = join(process.cwd(), 'test/artifacts');
const tile = (id: string): string => `article.tile[data-stream="${id}"]`;

let tmp: string;
let dashboardDir: string;
let browser: Browser;
let jpegs: Map<number, Buffer>;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'streamlens-dashboard-operator-'));
  mkdirSync(artifacts, { recursive: true });
  dashboardDir = (await buildDashboard({ outDir: join(tmp, 'dashboard'), typecheck: false })).outDir;
  jpegs = await replayJpegs(640, 360, 1);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const person = (seq: number): WireObject => ({ box: [100 + (seq % 40), 80, 220 + (seq % 40), 300], score: 0.9, class: 0, label: 'person', track_id: 1 });

/** Frames for the streams in `ids` (a live set: change it to stop or start one) at `fps`, and stats every second. */
function pump(server: ReplayServer, ids: Set<string>, opts: { fps?: number; frame?: (id: string, seq: number) => Partial<ReplayFrame> } = {}): { stop(): void; seq(id: string): number } {
  const seqs = new Map<string, number>();
  const frames = setInterval(() => {
    for (const id of ids) {
      const seq = (seqs.get(id) ?? 0) + 1;
      seqs.set(id, seq);
      server.sendFrame({ stream: id, seq, width: 640, height: 360, objects: [person(seq)], jpegs, ...opts.frame?.(id, seq) });
    }
  }, 1000 / (opts.fps ?? 15));
  const stats = setInterval(() => server.sendStats(), 1000);
  return {
    stop: () => {
      clearInterval(frames);
      clearInterval(stats);
    },
    seq: (id) => seqs.get(id) ?? 0,
  };
}

async function openPage(url: string, viewport: { width: number; height: number }, opts: { deviceScaleFactor?: number; isMobile?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport, ...opts });
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

const attr = (page: Page, id: string, name: string): Promise<string | null> => page.getAttribute(tile(id), `data-${name}`);

describe('dashboard tiles an operator can trust', () => {
  it('dims a camera that went quiet with its frame age, and badges starved and failed streams with the reason', async () => {
    const server = await ReplayServer.start({ dashboardDir });
    server.setStats(replayStats('live'));
    server.setStats(replayStats('quiet'));
    server.setStats(replayStats('starved', { fpsOut: 1.2, framesSent: 300, latency: { p50: 950, p95: 1400, p99: 1500, max: 1600 } }));
    server.setStats(replayStats('broken', { state: 'failed', lastError: 'rtsp://admin:***@10.0.0.4/stream: connection refused', fpsIn: 0, fpsOut: 0 }));
    const sending = new Set(['live', 'quiet', 'starved']);
    const frames = pump(server, sending);
    const page = await openPage(server.url, { width: 1400, height: 900 });
    try {
      await page.waitForFunction((ids) => ids.every((id) => Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${id}"]`)?.dataset.frames) >= 3), [...sending], { timeout: 30_000, polling: 100 });
      // Live while its frames come (a starved test process can pause them past the 2 s rule).
      await page.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.condition === 'live', tile('quiet'), { timeout: 30_000, polling: 50 });

      // The camera goes quiet while the server still says "streaming".
      sending.delete('quiet');
      const quietSince = Date.now();
      await page.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.condition === 'no-signal', tile('quiet'), { timeout: 30_000, polling: 50 });
      expect(Date.now() - quietSince).toBeGreaterThanOrEqual(1900);
      // The age keeps counting, the picture is dimmed and carries no boxes.
      await page.waitForFunction((sel) => /^No signal · last frame ([4-9]|[1-9]\d+) s ago/.test(document.querySelector(`${sel} .tile-message`)!.textContent ?? ''), tile('quiet'), { timeout: 60_000, polling: 100 });
      const quiet = await page.$eval(tile('quiet'), (t) => ({
        dim: t.classList.contains('dim'),
        filter: getComputedStyle(t.querySelector('canvas')!).filter,
        objects: (t as HTMLElement).dataset.objects,
        name: t.getAttribute('aria-label'),
        badge: t.querySelector('.badge')!.textContent,
      }));
      expect(quiet).toMatchObject({ dim: true, objects: '0', badge: 'no signal' });
      expect(quiet.filter).toContain('grayscale');
      expect(quiet.name).toMatch(/^quiet: no signal, last frame ([4-9]|[1-9]\d+) s ago$/);

      const starved = await page.$eval(tile('starved'), (t) => ({ condition: (t as HTMLElement).dataset.condition, badge: t.querySelector('.badge')!.textContent, why: t.querySelector('.badge')!.getAttribute('title'), name: t.getAttribute('aria-label') }));
      expect(starved).toEqual({ condition: 'degraded', badge: 'degraded', why: 'output 1.2 of 15.0 fps, latency 950 ms', name: 'starved: degraded: output 1.2 of 15.0 fps, latency 950 ms' });
      const broken = await page.$eval(tile('broken'), (t) => ({ condition: (t as HTMLElement).dataset.condition, message: t.querySelector('.tile-message')!.textContent, stats: t.querySelector('.tile-stats')!.textContent }));
      expect(broken.condition).toBe('failed');
      expect(broken.message).toContain('Failed: rtsp://admin:***@10.0.0.4/stream: connection refused');
      expect(broken.stats).toContain('latency –');
      expect(broken.stats).not.toMatch(/latency 0 ms/);
      await page.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.condition === 'live', tile('live'), { timeout: 30_000, polling: 50 });
      await page.screenshot({ path: join(artifacts, 'dashboard-tile-states.png') });

      // Frames again: live again, not dimmed.
      sending.add('quiet');
      await page.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.condition === 'live', tile('quiet'), { timeout: 30_000, polling: 50 });
      expect(await page.$eval(tile('quiet'), (t) => t.classList.contains('dim'))).toBe(false);
    } finally {
      frames.stop();
      await page.context().close();
      await server.close();
    }
  });
});

describe('a grid that fits the screen', () => {
  const shape: Record<number, [number, number]> = { 1: [1, 1], 4: [2, 2], 9: [3, 3], 16: [4, 4] };
  for (const n of [1, 4, 9, 16]) {
    it(`shows ${n} stream(s) at 1400x900 without scrolling, each tile whole, in a ${shape[n]!.join('x')} grid`, async () => {
      const server = await ReplayServer.start({ dashboardDir });
      const ids = Array.from({ length: n }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`);
      for (const id of ids) server.setStats(replayStats(id));
      const frames = pump(server, new Set(ids), { fps: 5 });
      const page = await openPage(server.url, { width: 1400, height: 900 });
      try {
        await page.waitForFunction((list) => list.every((id) => Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${id}"]`)?.dataset.frames) >= 1), ids, { timeout: 30_000, polling: 100 });
        const m = await page.evaluate(() => {
          const grid = document.getElementById('grid')!;
          const rects = [...document.querySelectorAll('article.tile')].map((t) => t.getBoundingClientRect());
          return {
            scroll: document.documentElement.scrollHeight - innerHeight,
            cols: Number(grid.dataset.cols),
            rows: Number(grid.dataset.rows),
            inside: rects.every((r) => r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5),
            pager: !document.getElementById('pager')!.hidden,
            canvasWidth: Math.min(...[...document.querySelectorAll('article.tile canvas')].map((c) => c.getBoundingClientRect().width)),
          };
        });
        expect(m).toMatchObject({ scroll: 0, cols: shape[n]![0], rows: shape[n]![1], inside: true, pager: false });
        // The videos use the space: one stream fills the screen's width or height, sixteen still show 300+ px each.
        expect(m.canvasWidth).toBeGreaterThan(n === 1 ? 1200 : n === 16 ? 300 : 400);
        await page.screenshot({ path: join(artifacts, `dashboard-grid-${n}.png`) });

        if (n === 4) {
          // The large view scales a 640x360 stream up to the space (contain).
          await page.click(tile('cam02'));
          await page.waitForFunction((sel) => document.querySelector(sel)!.querySelector('canvas')!.getBoundingClientRect().width > 1200, tile('cam02'), { timeout: 60_000, polling: 50 });
          expect(await page.evaluate(() => document.documentElement.scrollHeight - innerHeight)).toBe(0);
          await page.screenshot({ path: join(artifacts, 'dashboard-large-scaled.png') });
        }
      } finally {
        frames.stop();
        await page.context().close();
        await server.close();
      }
    });
  }

  it('fits a phone: pages of tiles without scrolling, a header that does not grow as classes appear, focus kept', async () => {
    const server = await ReplayServer.start({ dashboardDir });
    const ids = Array.from({ length: 16 }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`);
    for (const id of ids) server.setStats(replayStats(id));
    const labels = ['bicycle', 'bus', 'car', 'cat', 'dog', 'motorcycle', 'person', 'truck'];
    let classes = 1;
    const frames = pump(server, new Set(ids), {
      fps: 4,
      frame: (_, seq) => ({ objects: labels.slice(0, classes).map((label, i) => ({ ...person(seq), label, class: i, box: [20 + 60 * i, 40, 70 + 60 * i, 200] as [number, number, number, number] })) }),
    });
    const page = await openPage(server.url, { width: 390, height: 844 }, { deviceScaleFactor: 2, isMobile: true });
    try {
      await page.waitForFunction(() => [...document.querySelectorAll<HTMLElement>('article.tile')].some((t) => !t.hidden && Number(t.dataset.frames) >= 1), undefined, { timeout: 30_000, polling: 100 });
      await page.waitForSelector('#classes input[value="bicycle"]');
      const headerBefore = await page.$eval('header', (h) => h.getBoundingClientRect().height);
      await page.focus('#classes input[value="bicycle"]');
      classes = labels.length;
      await page.waitForFunction((n) => document.querySelectorAll('#classes input').length === n, labels.length, { timeout: 60_000, polling: 50 });
      const m = await page.evaluate(() => {
        const shown = [...document.querySelectorAll<HTMLElement>('article.tile')].filter((t) => !t.hidden);
        return {
          header: document.querySelector('header')!.getBoundingClientRect().height,
          focused: (document.activeElement as HTMLInputElement | null)?.value,
          scroll: document.documentElement.scrollHeight - innerHeight,
          shown: shown.length,
          inside: shown.every((t) => t.getBoundingClientRect().bottom <= innerHeight + 0.5 && t.getBoundingClientRect().right <= innerWidth + 0.5),
          pager: !document.getElementById('pager')!.hidden,
          width: Math.min(...shown.map((t) => t.querySelector('canvas')!.getBoundingClientRect().width)),
        };
      });
      expect(m).toMatchObject({ header: headerBefore, focused: 'bicycle', scroll: 0, inside: true, pager: true });
      expect(m.shown).toBeGreaterThanOrEqual(2);
      expect(m.shown).toBeLessThan(16);
      expect(m.width).toBeGreaterThanOrEqual(160);
      expect(headerBefore).toBeLessThan(140);
      await page.screenshot({ path: join(artifacts, 'dashboard-phone.png') });
      // The next page shows the next cameras, and the address keeps it.
      const first = await page.$$eval('article.tile:not([hidden])', (ts) => ts.map((t) => (t as HTMLElement).dataset.stream));
      await page.click('#pager button[aria-label="Next page"]');
      const second = await page.$$eval('article.tile:not([hidden])', (ts) => ts.map((t) => (t as HTMLElement).dataset.stream));
      expect(second[0]).toBe(ids[first.length]);
      expect(new URL(page.url()).searchParams.get('page')).toBe('2');
    } finally {
      frames.stop();
      await page.context().close();
      await server.close();
    }
  });
});

describe('overlays', () => {
  it('draws tags that do not overlap, in black or white text readable on their class colour (measured on the canvas)', async () => {
    const server = await ReplayServer.start({ dashboardDir });
    server.setStats(replayStats('crowd'));
    // Ten objects of ten classes, overlapping in a cluster (dark and light class colours).
    const crowd = (seq: number): WireObject[] =>
      Array.from({ length: 10 }, (_, i) => ({ box: [200 + 12 * i, 100 + 9 * i, 300 + 12 * i, 250 + 9 * i], score: 0.5 + i / 25, class: i, label: `class${i}`, track_id: i + 1 + 0 * seq }));
    const frames = pump(server, new Set(['crowd']), { fps: 5, frame: (_, seq) => ({ objects: crowd(seq) }) });
    const page = await openPage(server.url, { width: 1400, height: 900 }, { deviceScaleFactor: 2 });
    try {
      await page.waitForFunction((sel) => JSON.parse(document.querySelector<HTMLElement>(sel)?.dataset.tags ?? '[]').length >= 5, tile('crowd'), { timeout: 30_000, polling: 100 });
      const tags = await page.$eval(tile('crowd'), (t) => {
        const canvas = t.querySelector('canvas')!;
        const ctx = canvas.getContext('2d')!;
        const lum = (c: number[]): number => {
          const f = (v: number): number => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
          return 0.2126 * f(c[0]!) + 0.7152 * f(c[1]!) + 0.0722 * f(c[2]!);
        };
        const ratio = (a: number[], b: number[]): number => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
        return (JSON.parse((t as HTMLElement).dataset.tags!) as number[][]).map(([x, y, w, h]) => {
          const d = ctx.getImageData(x!, y!, w!, h!).data;
          // The tag's fill is its most common colour; its text, the pixel that contrasts with it most.
          const counts = new Map<string, number>();
          for (let i = 0; i < d.length; i += 4) counts.set(`${d[i]},${d[i + 1]},${d[i + 2]}`, (counts.get(`${d[i]},${d[i + 1]},${d[i + 2]}`) ?? 0) + 1);
          const fill = [...counts].sort((a, b) => b[1] - a[1])[0]![0].split(',').map(Number);
          let best = 1;
          for (let i = 0; i < d.length; i += 4) best = Math.max(best, ratio(fill, [d[i]!, d[i + 1]!, d[i + 2]!]));
          return { rect: [x!, y!, w!, h!], contrast: best };
        });
      });
      await page.locator(tile('crowd')).screenshot({ path: join(artifacts, 'dashboard-tags.png') });
      for (const t of tags) expect({ rect: t.rect, readable: t.contrast >= 4.5 }).toEqual({ rect: t.rect, readable: true });
      for (let i = 0; i < tags.length; i++) {
        for (let j = i + 1; j < tags.length; j++) {
          const [a, b] = [tags[i]!.rect, tags[j]!.rect];
          const overlap = Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!) > 1 && Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!) > 1;
          expect({ a, b, overlap }).toEqual({ a, b, overlap: false });
        }
      }
    } finally {
      frames.stop();
      await page.context().close();
      await server.close();
    }
  });
});

describe('video cost per page', () => {
  it('sends no video for tiles not on screen: with one camera large, the other fifteen take 2 detections a second', async () => {
    const server = await ReplayServer.start({ dashboardDir });
    const ids = Array.from({ length: 16 }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`);
    for (const id of ids) server.setStats(replayStats(id));
    const frames = pump(server, new Set(ids), { fps: 8 });
    const page = await openPage(server.url, { width: 1400, height: 900 });
    try {
      await page.waitForFunction((list) => list.every((id) => Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${id}"]`)?.dataset.frames) >= 2), ids, { timeout: 30_000, polling: 100 });
      const client = [...server.clients][0]!;
      const gridWidth = client.maxWidths.filter((s) => s.stream === 'cam01').at(-1)!.maxWidth!;
      expect(gridWidth).toBeLessThanOrEqual(480);

      await page.click(tile('cam01'));
      // Once the page has told the server (subscriptions are gathered for 150 ms), count per tile.
      const until = Date.now() + 60_000;
      while (client.subscriptions.get('cam16')?.video !== false && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const before = new Map(ids.map((id) => [id, { ...client.sent.get(id)! }]));
      const countedAt = Date.now();
      const drawnBefore = Number(await attr(page, 'cam16', 'frames'));
      const seq0 = frames.seq('cam01');
      await page.waitForFunction(([sel, s]) => Number(document.querySelector<HTMLElement>(sel as string)!.dataset.seq) >= (s as number) + 16, [tile('cam01'), seq0] as const, { timeout: 30_000, polling: 100 });
      const large = client.sent.get('cam01')!;
      expect(large.video - before.get('cam01')!.video).toBeGreaterThanOrEqual(16);
      expect(client.subscriptions.get('cam01')!.maxWidth ?? Infinity).toBeGreaterThan(gridWidth);
      for (const id of ids.slice(1)) {
        const now = client.sent.get(id)!;
        expect({ id, video: now.video - before.get(id)!.video }).toEqual({ id, video: 0 });
        expect({ id, maxFps: client.subscriptions.get(id)!.maxFps }).toEqual({ id, maxFps: 2 });
      }
      // A few detections a second: at most 2 a second of this window (plus one at its start), and some.
      const seconds = (Date.now() - countedAt) / 1000;
      for (const id of ids.slice(1)) {
        const got = client.sent.get(id)!.detectionsOnly - before.get(id)!.detectionsOnly;
        expect({ id, got: got >= 1 && got <= 2 * seconds + 1 }).toEqual({ id, got: true });
      }
      // Hidden tiles draw nothing.
      expect(Number(await attr(page, 'cam16', 'frames'))).toBe(drawnBefore);
      await page.screenshot({ path: join(artifacts, 'dashboard-one-large-of-16.png') });

      // Back to the grid: every tile takes video again.
      await page.keyboard.press('Escape');
      const videoAt = client.sent.get('cam16')!.video;
      await page.waitForFunction(([sel, f]) => Number(document.querySelector<HTMLElement>(sel as string)!.dataset.frames) >= (f as number) + 3, [tile('cam16'), drawnBefore] as const, { timeout: 30_000, polling: 100 });
      expect(client.sent.get('cam16')!.video).toBeGreaterThan(videoAt);
    } finally {
      frames.stop();
      await page.context().close();
      await server.close();
    }
  });

  it('takes no video while its tab is in the background, the tiles still live, and video again within a bounded time when it comes back', async () => {
    const server = await ReplayServer.start({ dashboardDir, ackWindow: 2 });
    const ids = ['cam1', 'cam2', 'cam3', 'cam4'];
    for (const id of ids) server.setStats(replayStats(id));
    const frames = pump(server, new Set(ids), { fps: 10 });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // Headless Chromium keeps every tab visible (another tab brought to the front, Target.activateTarget,
    // a minimised window, Page.setWebLifecycleState: none hides a page), so the page's visibility is
    // the one thing played from here: document.hidden and visibilityState as a background tab has
    // them, and the visibilitychange event the browser fires.
    await context.addInitScript(() => {
      let hidden = false;
      Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
      Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
      Object.assign(window, {
        setTabHidden(h: boolean): void {
          hidden = h;
          document.dispatchEvent(new Event('visibilitychange'));
        },
      });
    });
    const page = await context.newPage();
    const setHidden = (h: boolean): Promise<void> => page.evaluate((v) => (window as unknown as { setTabHidden(h: boolean): void }).setTabHidden(v), h);
    const tilesDrawn = (): Promise<Record<string, number>> =>
      page.$$eval('article.tile', (ts) => Object.fromEntries(ts.map((t) => [(t as HTMLElement).dataset.stream!, Number((t as HTMLElement).dataset.frames)])));
    const conditions = (): Promise<string[]> => page.$$eval('article.tile', (ts) => ts.map((t) => `${(t as HTMLElement).dataset.stream}: ${(t as HTMLElement).dataset.condition}`));
    const waitServer = async (cond: () => boolean, what: string, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await page.goto(server.url);
      await page.waitForFunction((list) => list.every((id) => Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${id}"]`)?.dataset.frames) >= 3), ids, { timeout: 30_000, polling: 100 });
      const client = [...server.clients][0]!;
      expect(ids.every((id) => client.subscriptions.get(id)?.video === true)).toBe(true);

      // To the background: the page tells the server it wants detections only.
      await setHidden(true);
      await waitServer(() => ids.every((id) => client.subscriptions.get(id)?.video === false), 'every stream subscribed without video', 60_000);
      const sentAt = new Map(ids.map((id) => [id, { ...client.sent.get(id)! }]));
      const drawnAt = await tilesDrawn();
      // Detections only, 2 a second (subscribe maxFps): longer than the 2 s after which a tile says "no signal".
      expect(ids.map((id) => client.subscriptions.get(id)?.maxFps)).toEqual(ids.map(() => 2));
      await waitServer(() => ids.every((id) => client.sent.get(id)!.detectionsOnly - sentAt.get(id)!.detectionsOnly >= 8), '8 frames of detections per stream', 60_000);
      for (const id of ids) expect({ id, video: client.sent.get(id)!.video - sentAt.get(id)!.video }).toEqual({ id, video: 0 });
      for (const id of ids) expect({ id, skipped: client.sent.get(id)!.skipped > sentAt.get(id)!.skipped }).toEqual({ id, skipped: true });
      // Nothing is drawn meanwhile, and the tiles say what is true: the cameras are live (their detections come).
      expect(await tilesDrawn()).toEqual(drawnAt);
      expect(await conditions()).toEqual(ids.map((id) => `${id}: live`));

      // Back to the front: every tile asks for video again and draws new frames within a bounded time.
      const videoAt = new Map(ids.map((id) => [id, client.sent.get(id)!.video]));
      await setHidden(false);
      await page.waitForFunction(
        ([list, at]) => (list as string[]).every((id) => Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${id}"]`)!.dataset.frames) >= (at as Record<string, number>)[id]! + 3),
        [ids, drawnAt] as const,
        { timeout: 60_000, polling: 100 },
      );
      for (const id of ids) expect({ id, video: client.sent.get(id)!.video > videoAt.get(id)! }).toEqual({ id, video: true });
      expect(ids.every((id) => client.subscriptions.get(id)?.video === true && client.subscriptions.get(id)?.maxFps === undefined)).toBe(true);
      expect(await conditions()).toEqual(ids.map((id) => `${id}: live`));
      await page.screenshot({ path: join(artifacts, 'dashboard-tab-back.png') });
    } finally {
      frames.stop();
      await context.close();
      await server.close();
    }
  });

  it('acknowledges what it drew: frames keep coming under a window of 2, also when some come without video', async () => {
    const server = await ReplayServer.start({ dashboardDir, ackWindow: 2 });
    server.setStats(replayStats('cam'));
    // Every fifth and sixth frame of ten has no video (a skipped rendition): nothing to draw, nothing to wait for.
    const frames = pump(server, new Set(['cam']), { fps: 15, frame: (_, seq) => (seq % 10 === 5 || seq % 10 === 6 ? { jpegs: undefined } : {}) });
    const page = await openPage(server.url, { width: 1400, height: 900 });
    try {
      await page.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.seq) >= 40, tile('cam'), { timeout: 60_000, polling: 100 });
      frames.stop();
      const last = frames.seq('cam');
      const client = [...server.clients][0]!;
      expect(client.subscriptions.get('cam')!.ack).toBe(true);
      // Every frame sent gets acknowledged, the last one included (the window never stays shut).
      const until = Date.now() + 60_000;
      const acked = (): number => Math.max(-1, ...client.received.filter((m) => m.type === 'ack').map((m) => (m.seqs as Record<string, number>).cam ?? -1));
      while (acked() < last && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(acked()).toBe(last);
      const seqs = client.received.filter((m) => m.type === 'ack').map((m) => (m.seqs as Record<string, number>).cam!);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // At most one ack per drawn screen (well under the server's 100 messages/s).
      expect(seqs.length).toBeLessThanOrEqual(last);
    } finally {
      frames.stop();
      await page.context().close();
      await server.close();
    }
  });
});
