/**
 * The camera dashboard in a real browser (Debian's chromium via playwright-core) against the real
 * server (`streamlens serve`, the built CLI, in its own process) running the built-in demo: static
 * files, live frames with boxes, stats, client-side filter, the large view, recovery after a
 * server restart on the same port, and `?token=`. Screenshots go to test/artifacts/.
 */
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServeCli } from './helpers/serveCli.js';
import { buildDashboard } from '../src/serve/dashboard/build.mjs';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ANALYTICS_SCENE_CONFIG, ensureDemoClip } from '../src/tools/synth/index.js';
import { childPids, alive } from './helpers/processes.js';

const artifacts = join(process.cwd(), 'test/artifacts');
const TILE = 'article.tile[data-stream="demo"]';

interface ServeProcess {
  child: ChildProcess;
  url: string;
  port: number;
}

let tmp: string;
let clip: string;
let server: ServeProcess | undefined;
let browser: BrowserContext;
let page: Page;

/** `streamlens serve` as users run it (the built CLI), in its own process; resolves once it listens. */
async function startServe(args: string[]): Promise<ServeProcess> {
  const { child, url, port } = await startServeCli(args, { timeoutMs: 60_000 });
  return { child, url, port };
}

/** SIGTERM (SIGKILL after 15 s); then no process the server started may be left. */
async function stopServe(p: ServeProcess): Promise<void> {
  const pid = p.child.pid!;
  const children = childPids(pid);
  if (p.child.exitCode === null && p.child.signalCode === null) {
    const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  for (let i = 0; i < 100 && children.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  // Killed only after being counted: the check is that serve left none behind.
  const leftBehind = children.filter(alive);
  for (const c of leftBehind) process.kill(c, 'SIGKILL');
  expect(leftBehind).toEqual([]);
}

async function tileNumber(p: Page, attr: 'frames' | 'objects'): Promise<number> {
  return Number(await p.getAttribute(TILE, `data-${attr}`));
}

/** GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  await buildDashboard();
  let model: string;
  [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
  mkdirSync(artifacts, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'streamlens-dashboard-'));
  // The demo as a config file, plus a token, for the ?token= case.
  writeFileSync(
    join(tmp, 'token.json'),
    JSON.stringify({
      server: { authToken: 'sekret', mediaFolders: [dirname(clip)] },
      // The event store keeps snapshots: the events panel shows them as thumbnails.
      dataDir: join(tmp, 'data'),
      models: { [model]: { maxBatch: 4, maxWaitMs: 5, intraOpThreads: 1 } },
      streams: [{ id: 'demo', url: clip, loop: true, realtime: true, video: true }],
    }),
  );
  server = await startServe(['--port', '0']);
  browser = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  if (server) await stopServe(server);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('serves index.html and hashed assets with content types and cache headers, and nothing outside its folder', async () => {
    const index = await fetch(`${server!.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const assets = [...html.matchAll(/"(\/dashboard\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(2);
    for (const path of assets) {
      const res = await fetch(server!.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe(path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const again = await fetch(server!.url + path, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect(again.status).toBe(304);
    }
    for (const path of ['/dashboard/../package.json', '/dashboard/..%2F..%2Fpackage.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/.gitignore', '/dashboard/nope.js']) {
      const res = await rawGet(server!.port, path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('devDependencies');
    }
    expect((await fetch(`${server!.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('draws live frames with boxes, updates stats, filters client-side and opens a stream large', async () => {
    await page.goto(`${server!.url}/`);
    await page.waitForFunction(
      (sel) => {
        const t = document.querySelector<HTMLElement>(sel);
        return !!t && Number(t.dataset.frames) >= 1 && Number(t.dataset.objects) >= 1;
      },
      TILE,
      { timeout: 30_000, polling: 100 },
    );
    expect(await page.getAttribute('body', 'data-connection')).toBe('open');
    expect(await page.getAttribute(TILE, 'data-state')).toBe('streaming');

    // Frames keep coming and the server's stats reach the tile.
    const frames0 = await tileNumber(page, 'frames');
    await page.waitForFunction(
      ([sel, f0]) => {
        const t = document.querySelector<HTMLElement>(sel as string)!;
        return Number(t.dataset.frames) >= (f0 as number) + 15 && /in \d+\.\d · out \d+\.\d · shown \d+\.\d fps/.test(t.textContent ?? '') && /latency \d+ ms/.test(t.textContent ?? '');
      },
      [TILE, frames0] as const,
      { timeout: 60_000, polling: 100 },
    );
    await page.screenshot({ path: join(artifacts, 'dashboard.png') });

    // Class filter: switching every class off leaves no box; the slider at 1.0 does too.
    const boxes = page.locator('#classes input[type=checkbox]');
    expect(await boxes.count()).toBeGreaterThanOrEqual(1);
    for (const b of await boxes.all()) await b.uncheck();
    await page.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.objects === '0', TILE, { timeout: 60_000, polling: 50 });
    for (const b of await boxes.all()) await b.check();
    await page.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)!.dataset.objects) >= 1, TILE, { timeout: 60_000, polling: 50 });
    await page.locator('#min-score').fill('1');
    await page.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.objects === '0', TILE, { timeout: 60_000, polling: 50 });
    await page.locator('#min-score').fill('0');

    // Large view and back.
    await page.click(TILE);
    expect(await page.getAttribute(TILE, 'class')).toContain('expanded');
    await page.screenshot({ path: join(artifacts, 'dashboard-large.png') });
    await page.keyboard.press('Escape');
    await page.waitForFunction((sel) => !document.querySelector(sel)!.classList.contains('expanded'), TILE, { timeout: 60_000 });
  });

  it('adds a tile for a stream added over the API (without video: detections on a blank frame) and drops it when removed', async () => {
    const extra = 'second';
    const post = await fetch(`${server!.url}/api/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: extra, url: clip, loop: true, realtime: true, video: false, fps: 5 }),
    });
    expect(post.status).toBe(201);
    const sel = `article.tile[data-stream="${extra}"]`;
    await page.waitForFunction(
      (s) => {
        const t = document.querySelector<HTMLElement>(s);
        return !!t && Number(t.dataset.frames) >= 2 && Number(t.dataset.objects) >= 1 && t.dataset.state === 'streaming';
      },
      sel,
      { timeout: 60_000, polling: 100 },
    );
    await page.screenshot({ path: join(artifacts, 'dashboard-two-streams.png') });
    expect((await fetch(`${server!.url}/api/streams/${extra}`, { method: 'DELETE' })).status).toBe(204);
    await page.waitForFunction((s) => document.querySelector(s) === null, sel, { timeout: 60_000, polling: 100 });
    expect(Number(await page.getAttribute(TILE, 'data-frames'))).toBeGreaterThan(0);
  });

  it('keeps nine live tiles current: each draws its newest frame, none falls behind the server', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `cam${i + 1}`);
    // The reference: a Node client subscribed to every stream, which records the newest seq the
    // server sent of each. Comparing the tiles with it (not with the decoder) leaves out the
    // pipeline's own latency, which depends on this machine's speed, and keeps the page's.
    const newest = new Map<string, number>();
    const reference = new WebSocket(server!.url.replace('http', 'ws') + '/ws');
    reference.on('message', (data, binary) => {
      if (binary) return;
      const m = JSON.parse(String(data)) as { type: string; stream?: string; seq?: number };
      if (m.type === 'detections' && m.stream && m.seq !== undefined) newest.set(m.stream, Math.max(newest.get(m.stream) ?? -1, m.seq));
    });
    await new Promise<void>((resolve, reject) => {
      reference.once('open', () => resolve());
      reference.once('error', reject);
    });
    reference.send(JSON.stringify({ type: 'subscribe', streams: ['*'], video: false }));
    for (const id of ids) {
      const post = await fetch(`${server!.url}/api/streams`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, url: clip, loop: true, realtime: true, video: true, fps: 5 }),
      });
      expect(post.status).toBe(201);
    }
    try {
      const all = ['demo', ...ids];
      await page.waitForFunction(
        (names) => names.every((n) => Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${n}"]`)?.dataset.frames ?? 0) >= 3),
        all,
        { timeout: 60_000, polling: 200 },
      );
      const seqs = async (): Promise<Record<string, number>> =>
        page.evaluate((names) => Object.fromEntries(names.map((n) => [n, Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${n}"]`)!.dataset.seq)])), all);
      // Every tile keeps drawing new frames (8 more each, however long this machine takes)...
      const before = await seqs();
      await page.waitForFunction(
        ([names, from]) => (names as string[]).every((n) => Number(document.querySelector<HTMLElement>(`article.tile[data-stream="${n}"]`)!.dataset.seq) >= (from as Record<string, number>)[n] + 8),
        [all, before] as const,
        { timeout: 60_000, polling: 200 },
      );
      // ...and shows recent ones, not a backlog: at most 2 s (10 frames at 5 fps) behind what the
      // server had sent the reference client before the page was asked.
      const sent = new Map(newest);
      const after = await seqs();
      await page.screenshot({ path: join(artifacts, 'dashboard-nine-streams.png') });
      for (const id of all) {
        expect(sent.get(id)).toBeGreaterThanOrEqual(0);
        expect({ id, behind: sent.get(id)! - after[id] <= 10 }).toEqual({ id, behind: true });
      }
    } finally {
      reference.close();
      for (const id of ids) await fetch(`${server!.url}/api/streams/${id}`, { method: 'DELETE' });
    }
  });

  it('gives tiles off screen 2 detections a second, never "no signal", and no longer thinned once shown (messages counted per tile in the page)', async () => {
    // Every frame of this stream reaches the outputs (`dropPolicy: "all"`): a client at full rate gets consecutive seqs.
    const post = await fetch(`${server!.url}/api/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'side', url: clip, loop: true, realtime: true, video: true, dropPolicy: 'all' }),
    });
    expect(post.status).toBe(201);
    const SIDE = 'article.tile[data-stream="side"]';
    const p = await browser.newPage();
    // What the page receives, in order: each detections message (stream, seq, capture ts) and each subscribed reply.
    await p.addInitScript(() => {
      const log: unknown[] = [];
      Object.assign(window, { wireLog: log });
      const Native = window.WebSocket;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          this.addEventListener('message', (ev: MessageEvent) => {
            if (typeof ev.data !== 'string') return;
            const m = JSON.parse(ev.data);
            if (m.type === 'detections') log.push({ stream: m.stream, seq: m.seq, ts: m.ts });
            else if (m.type === 'subscribed') log.push({ subscribed: m.streams, maxFps: m.maxFps });
          });
        }
      };
    });
    type Entry = { stream?: string; seq: number; ts: number; subscribed?: string[]; maxFps?: number };
    /** The detections of `side` after the last subscribed reply for it with `maxFps` (undefined: without). */
    const sideSince = async (maxFps: number | undefined): Promise<Entry[] | undefined> => {
      const log = (await p.evaluate('window.wireLog')) as Entry[];
      let at = log.length - 1;
      while (at >= 0 && !log[at]!.subscribed?.includes('side')) at--;
      if (at < 0 || log[at]!.maxFps !== maxFps) return undefined;
      return log.slice(at + 1).filter((e) => e.stream === 'side');
    };
    const waitSide = async (maxFps: number | undefined, n: number): Promise<Entry[]> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const got = await sideSince(maxFps);
        if (got && got.length >= n) return got;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} detections of side at maxFps ${maxFps}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await p.goto(`${server!.url}/`);
      await p.waitForFunction((sels) => sels.every((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.frames) >= 3), [TILE, SIDE], { timeout: 60_000, polling: 100 });
      // demo large: side is off screen. Once the server took its subscription at 2 a second, the page
      // knows it is off screen (it asked for that) and draws it no more.
      await p.click(TILE);
      await waitSide(2, 0);
      const drawn = Number(await p.getAttribute(SIDE, 'data-frames'));
      // Its condition sampled all along, for longer than the 2 s after which a tile says "no signal".
      await p.evaluate((sel) => {
        const seen = new Set<string>();
        Object.assign(window, { sideConditions: seen });
        setInterval(() => seen.add(document.querySelector<HTMLElement>(sel)!.dataset.condition!), 100);
      }, SIDE);
      const hidden = await waitSide(2, 8);
      for (let i = 1; i < hidden.length; i++) expect(hidden[i]!.ts - hidden[i - 1]!.ts).toBeGreaterThanOrEqual(500);
      // Never "no signal" (a loaded machine may make the stream itself degraded).
      for (const c of (await p.evaluate('[...window.sideConditions]')) as string[]) expect(c).toMatch(/^(live|degraded)$/);
      expect(Number(await p.getAttribute(SIDE, 'data-frames'))).toBe(drawn);
      await p.screenshot({ path: join(artifacts, 'dashboard-off-screen-tile-thinned.png') });

      // Shown again: no longer thinned (frames closer than 500 ms; the page's acknowledgements pace
      // the rest, so a busy machine may still skip some), and drawn.
      await p.keyboard.press('Escape');
      const shown = (await waitSide(undefined, 12)).slice(1);
      const gaps = shown.slice(1).map((e, i) => e.ts - shown[i]!.ts);
      expect(gaps.filter((g) => g < 500).length).toBeGreaterThanOrEqual(gaps.length / 2);
      await p.waitForFunction(([sel, f]) => Number(document.querySelector<HTMLElement>(sel as string)!.dataset.frames) >= (f as number) + 5, [SIDE, drawn] as const, { timeout: 30_000, polling: 100 });
      expect(await p.getAttribute(SIDE, 'data-condition')).toMatch(/^(live|degraded)$/);
    } finally {
      await p.close();
      await fetch(`${server!.url}/api/streams/side`, { method: 'DELETE' });
    }
  });

  it('draws zones and lines with live counts, lists events newest first, and saves a zone and a line drawn with the mouse', async () => {
    const scene = (await ensureDemoClip({ scene: 'analytics' })).video;
    const SCENE = 'article.tile[data-stream="scene"]';
    const post = await fetch(`${server!.url}/api/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'scene', url: scene, loop: true, realtime: true, video: true, analytics: ANALYTICS_SCENE_CONFIG }),
    });
    expect(post.status).toBe(201);
    const analytics = async (): Promise<{ config: { lines: Array<{ name: string; from: number[]; to: number[] }>; zones: Array<{ name: string; polygon: number[][] }> } }> =>
      (await fetch(`${server!.url}/api/streams/scene/analytics`)).json() as never;
    // Its own page, so that the test does not depend on what the others left open or filtered.
    const p = await browser.newPage();
    try {
      await p.goto(`${server!.url}/`);
      // The tile knows the scene's line and zone, and its counts move as the squares cross.
      await p.waitForFunction(
        (sel) => {
          const t = document.querySelector<HTMLElement>(sel);
          if (!t || t.dataset.lines !== '1' || t.dataset.zones !== '1' || !t.dataset.counts) return false;
          const c = JSON.parse(t.dataset.counts);
          return (c.lines.gate.in.red ?? 0) >= 1;
        },
        SCENE,
        { timeout: 60_000, polling: 100 },
      );
      // Events arrive in the panel, newest first (ids are time-ordered): a line crossing and a zone
      // entry (the scene loops, so one that passed before the page subscribed comes round again).
      await p.waitForFunction(
        () => {
          const rows = [...document.querySelectorAll<HTMLElement>('#events li[data-stream="scene"]')];
          return rows.some((li) => li.dataset.type === 'line_cross' && /gate in/.test(li.textContent ?? '')) && rows.some((li) => li.dataset.type === 'zone_enter' && /bay enter/.test(li.textContent ?? ''));
        },
        undefined,
        { timeout: 90_000, polling: 200 },
      );
      const rows = await p.$$eval('#events li[data-stream="scene"]', (lis) => lis.map((li) => ({ id: (li as HTMLElement).dataset.id!, type: (li as HTMLElement).dataset.type!, text: li.textContent ?? '' })));
      expect(rows.map((r) => r.id)).toEqual(rows.map((r) => r.id).slice().sort().reverse());
      await p.locator(SCENE).scrollIntoViewIfNeeded();
      await p.screenshot({ path: join(artifacts, 'dashboard-analytics.png') });

      // A line: two clicks on the frame, a name, save. The tile does not open large meanwhile.
      const canvas = p.locator(`${SCENE} canvas`);
      const at = async (fx: number, fy: number): Promise<void> => {
        const box = (await canvas.boundingBox())!;
        await p.mouse.click(box.x + fx * box.width, box.y + fy * box.height);
      };
      await p.click(`${SCENE} .tools button:has-text("+ line")`);
      await at(0.1, 0.1);
      await at(0.4, 0.1);
      await p.fill(`${SCENE} .tool-name`, 'top');
      await p.click(`${SCENE} .tools button:has-text("save")`);
      await p.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.lines === '2', SCENE, { timeout: 60_000, polling: 50 });
      expect(await p.getAttribute(SCENE, 'class')).not.toContain('expanded');
      const top = (await analytics()).config.lines.find((l) => l.name === 'top')!;
      // Saved in source pixels of the 640x480 scene (clicks land within a pixel or two of 10% / 40%).
      expect(Math.abs(top.from[0] - 64)).toBeLessThan(4);
      expect(Math.abs(top.from[1] - 48)).toBeLessThan(4);
      expect(Math.abs(top.to[0] - 256)).toBeLessThan(4);

      // A zone: four corners, closed by clicking the first again; the default name.
      await p.click(`${SCENE} .tools button:has-text("+ zone")`);
      for (const [fx, fy] of [[0.05, 0.5], [0.3, 0.5], [0.3, 0.9], [0.05, 0.9], [0.05, 0.5]] as const) await at(fx, fy);
      expect(await p.inputValue(`${SCENE} .tool-name`)).toBe('zone1');
      await p.click(`${SCENE} .tools button:has-text("save")`);
      await p.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.zones === '2', SCENE, { timeout: 60_000, polling: 50 });
      const zone = (await analytics()).config.zones.find((z) => z.name === 'zone1')!;
      expect(zone.polygon).toHaveLength(4);
      expect((await analytics()).config.lines.map((l) => l.name)).toEqual(['gate', 'top']);

      // The server refuses a duplicate name: the message names the field, nothing is saved.
      await p.click(`${SCENE} .tools button:has-text("+ line")`);
      await at(0.6, 0.2);
      await at(0.8, 0.3);
      await p.fill(`${SCENE} .tool-name`, 'top');
      await p.click(`${SCENE} .tools button:has-text("save")`);
      await p.waitForFunction((sel) => /lines\[2\]\.name: duplicate line name "top"/.test(document.querySelector(`${sel} .tool-status`)?.textContent ?? ''), SCENE, { timeout: 60_000, polling: 50 });
      await p.screenshot({ path: join(artifacts, 'dashboard-analytics-editor.png') });
      await p.click(`${SCENE} .tools button:has-text("cancel")`);
      expect((await analytics()).config.lines).toHaveLength(2);

      // Removing: the zone drawn above, chosen in the list of the tile's zones and lines.
      await p.click(`${SCENE} select.tool-remove`);
      expect(await p.$$eval(`${SCENE} select.tool-remove option`, (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['', 'zone:bay', 'zone:zone1', 'line:gate', 'line:top']);
      await p.selectOption(`${SCENE} select.tool-remove`, 'zone:zone1');
      await p.click(`${SCENE} .tools button:has-text("remove")`);
      await p.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)!.dataset.zones === '1', SCENE, { timeout: 60_000, polling: 50 });
      expect((await analytics()).config.zones.map((z) => z.name)).toEqual(['bay']);
      expect((await analytics()).config.lines.map((l) => l.name)).toEqual(['gate', 'top']);
      expect(await p.textContent(`${SCENE} .tool-status`)).toBe('removed zone zone1');
      expect(await p.isHidden(`${SCENE} .tools button:has-text("remove")`)).toBe(true);
    } finally {
      await p.close();
      await fetch(`${server!.url}/api/streams/scene`, { method: 'DELETE' });
    }
  });

  it('shows that it reconnects while the server is down and recovers when it is back on the same port', async () => {
    const port = server!.port;
    await stopServe(server!);
    server = undefined;
    await page.waitForFunction(() => document.body.dataset.connection === 'reconnecting', undefined, { timeout: 60_000, polling: 50 });
    expect(await page.locator('#banner').isVisible()).toBe(true);
    expect(await page.locator('#banner').textContent()).toMatch(/Reconnecting…/);
    expect(await page.getAttribute(TILE, 'data-state')).toBe('disconnected');
    await page.screenshot({ path: join(artifacts, 'dashboard-reconnecting.png') });
    const framesDown = await tileNumber(page, 'frames');

    server = await startServe(['--port', String(port)]);
    await page.waitForFunction(
      ([sel, f]) => {
        const t = document.querySelector<HTMLElement>(sel as string)!;
        return document.body.dataset.connection === 'open' && Number(t.dataset.frames) >= (f as number) + 5 && Number(t.dataset.objects) >= 1;
      },
      [TILE, framesDown] as const,
      { timeout: 30_000, polling: 100 },
    );
    expect(await page.locator('#banner').isVisible()).toBe(false);
    expect(await page.getAttribute(TILE, 'data-state')).toBe('streaming');
  });

  it('passes ?token= to the API and the WebSocket, and says so when the token is missing', async () => {
    await stopServe(server!);
    server = undefined;
    server = await startServe(['--config', join(tmp, 'token.json'), '--port', '0']);
    const withToken = await browser.newPage();
    await withToken.goto(`${server.url}/?token=sekret`);
    await withToken.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.objects) >= 1, TILE, { timeout: 30_000, polling: 100 });
    await withToken.close();

    const without = await browser.newPage();
    await without.goto(`${server.url}/`);
    await without.waitForFunction(() => /needs a token/.test(document.getElementById('banner')?.textContent ?? ''), undefined, { timeout: 60_000, polling: 100 });
    await without.close();
  });

  it('shows a snapshot thumbnail beside each event the event store kept', async () => {
    const scene = (await ensureDemoClip({ scene: 'analytics' })).video;
    const auth = { authorization: 'Bearer sekret', 'content-type': 'application/json' };
    const post = await fetch(`${server!.url}/api/streams`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ id: 'scene', url: scene, loop: true, realtime: true, video: true, analytics: ANALYTICS_SCENE_CONFIG }),
    });
    expect(post.status).toBe(201);
    const p = await browser.newPage();
    try {
      await p.goto(`${server!.url}/?token=sekret`);
      await p.waitForFunction(
        () => [...document.querySelectorAll<HTMLImageElement>('#events li[data-stream="scene"] img.event-thumb')].some((img) => !img.hidden && img.naturalWidth > 0),
        undefined,
        { timeout: 40_000, polling: 200 },
      );
      await p.screenshot({ path: join(artifacts, 'dashboard-analytics-events.png') });
    } finally {
      await p.close();
      await fetch(`${server!.url}/api/streams/scene`, { method: 'DELETE', headers: auth });
    }
  });

  it('keeps the filters through a reload (in the address) and shows a stream added over the API again after a server restart', async () => {
    const auth = { authorization: 'Bearer sekret', 'content-type': 'application/json' };
    const p = await browser.newPage();
    try {
      await p.goto(`${server!.url}/?token=sekret`);
      await p.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.objects) >= 1, TILE, { timeout: 30_000, polling: 100 });
      // One class off, the score floor up: both go into the address.
      const first = p.locator('#classes input[type=checkbox]').first();
      const label = (await first.getAttribute('value'))!;
      await first.uncheck();
      await p.locator('#min-score').fill('0.3');
      await p.waitForFunction((l) => new URLSearchParams(location.search).getAll('hide').includes(l) && new URLSearchParams(location.search).get('score') === '0.30', label, { timeout: 60_000, polling: 50 });
      expect(new URLSearchParams(new URL(p.url()).search).get('token')).toBe('sekret');
      await p.reload();
      await p.waitForSelector(`#classes input[value="${label}"]`);
      expect(await p.isChecked(`#classes input[value="${label}"]`)).toBe(false);
      expect(await p.inputValue('#min-score')).toBe('0.3');
      expect(await p.textContent('#min-score-value')).toBe('0.30');
      // The restored filter applies: no box of the class switched off is drawn.
      await p.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.frames) >= 3, TILE, { timeout: 30_000, polling: 100 });
      await p.screenshot({ path: join(artifacts, 'dashboard-filters-after-reload.png') });

      // A stream added over the API is kept next to the config and comes back with the server.
      const post = await fetch(`${server!.url}/api/streams`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'added', url: clip, loop: true, realtime: true, video: true, fps: 5 }) });
      expect(post.status).toBe(201);
      const ADDED = 'article.tile[data-stream="added"]';
      await p.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.frames) >= 2, ADDED, { timeout: 30_000, polling: 100 });
      const port = server!.port;
      await stopServe(server!);
      server = undefined;
      await p.waitForFunction(() => document.body.dataset.connection === 'reconnecting', undefined, { timeout: 60_000, polling: 50 });
      const framesDown = Number(await p.getAttribute(ADDED, 'data-frames'));
      server = await startServe(['--config', join(tmp, 'token.json'), '--port', String(port)]);
      await p.waitForFunction(
        ([sel, f]) => document.body.dataset.connection === 'open' && Number(document.querySelector<HTMLElement>(sel as string)?.dataset.frames) >= (f as number) + 2,
        [ADDED, framesDown] as const,
        { timeout: 60_000, polling: 100 },
      );
      expect(await p.getAttribute(ADDED, 'data-condition')).toMatch(/^(live|degraded)$/);
      await p.screenshot({ path: join(artifacts, 'dashboard-restored-after-restart.png') });
    } finally {
      await p.close();
      if (server) await fetch(`${server.url}/api/streams/added`, { method: 'DELETE', headers: auth });
    }
  });

  it('paints masks as translucent class-coloured fills scaled to the canvas (overlay code in the browser)', async () => {
    // The server does not send masks yet: the overlay module itself runs in chromium on a known mask.
    const bundle = await esbuild.build({
      stdin: {
        contents: "import { drawOverlay, MaskLayer } from './overlay.ts'; import { TrackTrails } from '../../geometry/trails.ts'; Object.assign(window, { overlay: { drawOverlay, MaskLayer, TrackTrails } });",
        resolveDir: join(process.cwd(), 'src/serve/dashboard'),
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'iife',
    });
    const p = await browser.newPage();
    await p.setContent('<canvas id="c" width="100" height="50"></canvas>');
    await p.addScriptTag({ content: bundle.outputFiles[0].text });
    const pixels = await p.evaluate(() => {
      const { drawOverlay, MaskLayer, TrackTrails } = (window as any).overlay;
      const ctx = (document.getElementById('c') as HTMLCanvasElement).getContext('2d')!;
      ctx.fillStyle = 'rgb(128,128,128)';
      ctx.fillRect(0, 0, 100, 50);
      // 200x100 source: the mask is the right half (column-major: 100 columns of zeros, then 100 of ones).
      const object = { box: [150, 80, 190, 95], score: 0.9, class: 0, label: 'x', track_id: null, mask: { size: [100, 200], counts: [10_000, 10_000] } };
      drawOverlay(ctx, { objects: [object], sourceWidth: 200, sourceHeight: 100, trails: new TrackTrails(), masks: new MaskLayer(), pixelRatio: 1 });
      return { inside: Array.from(ctx.getImageData(60, 10, 1, 1).data), outside: Array.from(ctx.getImageData(20, 10, 1, 1).data) };
    });
    await p.close();
    // Class 0 is rgb(255,56,56) at alpha 0.45 over grey 128.
    expect(pixels.outside).toEqual([128, 128, 128, 255]);
    expect(pixels.inside[0]).toBeGreaterThanOrEqual(180);
    expect(pixels.inside[0]).toBeLessThanOrEqual(190);
    expect(pixels.inside[1]).toBeGreaterThanOrEqual(91);
    expect(pixels.inside[1]).toBeLessThanOrEqual(101);
    expect(pixels.inside[2]).toBe(pixels.inside[1]);
  });
});
