/**
 * What the dashboard costs the viewer's computer: Chromium's CPU (every process of the browser)
 * and the page's draw rate with 16 replayed streams at 15 fps (720p unless `--size`) (bench/dashboardReplay.ts), for
 * the dashboards of earlier commits (`--before`, repeatable; the first is the baseline) and the
 * current one, as a grid and with one camera large. Every variant runs in the same run, interleaved,
 * `--rounds` times, beside a blank page (the browser's own floor on this machine); the report gives
 * each one's CPU as a ratio to the baseline's grid in the same round, and for one camera large, the
 * CPU above the blank page as a ratio to each earlier dashboard's. A loaded machine draws fewer tiles
 * than it is sent, so each line also gives the CPU per tile drawn.
 *
 *   npm run build && node dist/bench/dashboardPage.js [--before <git rev>]... [--size 1280x720] [--seconds 10] [--rounds 2]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { ReplayServer, replayJpegs, replayStats } from './dashboardReplay.js';

const STREAMS = 16;
const FPS = 15;
const CLOCK_TICKS = 100;

/** Bundles the dashboard of `src/serve/dashboard` under `root` into `outDir` (as build.mjs does, without the type check). */
async function bundle(root: string, outDir: string): Promise<void> {
  const src = join(root, 'src/serve/dashboard');
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(src, 'main.ts'), style: join(src, 'dashboard.css') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    minify: true,
    metafile: true,
    logLevel: 'warning',
  });
  const built: Record<string, string> = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) if (meta.entryPoint) built[basename(meta.entryPoint)] = basename(file);
  const html = readFileSync(join(src, 'index.html'), 'utf8')
    .replace('{{app.js}}', `/dashboard/${built['main.ts']}`)
    .replace('{{style.css}}', `/dashboard/${built['dashboard.css']}`);
  writeFileSync(join(outDir, 'index.html'), html);
}

/** CPU seconds used so far by a process and all its descendants. */
function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      continue; // gone meanwhile
    }
    try {
      stack.push(...execFileSync('pgrep', ['-P', String(p)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number));
    } catch {
      // no children
    }
  }
  return ticks / CLOCK_TICKS;
}

interface Sample {
  cpu: number;
  pageFps: number;
  drawsPerSecond: number;
  longTasks: number;
}

/** `url` undefined: a blank page, for the browser's own floor in this run. */
async function measure(browser: Browser, pid: number, url: string | undefined, large: boolean, seconds: number): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(url === undefined ? 'about:blank' : large ? `${url}/#cam01` : url);
    if (url !== undefined) await page.waitForFunction(`document.querySelectorAll('article.tile').length === ${STREAMS}`, undefined, { timeout: 30_000 });
    // Warm-up: every visible tile drew, subscriptions settled.
    await page.waitForTimeout(3000);
    await page.evaluate(`(() => {
      window.__bench = { longTasks: 0 };
      new PerformanceObserver((l) => { window.__bench.longTasks += l.getEntries().length; }).observe({ type: 'longtask' });
    })()`);
    const drawn = `[...document.querySelectorAll('article.tile')].reduce((n, t) => n + Number(t.dataset.frames || 0), 0)`;
    const draws0 = (await page.evaluate(drawn)) as number;
    const cpu0 = treeCpuSeconds(pid);
    const t0 = Date.now();
    await page.waitForTimeout(seconds * 1000);
    const cpu1 = treeCpuSeconds(pid);
    const elapsed = (Date.now() - t0) / 1000;
    const longTasks = (await page.evaluate('window.__bench.longTasks')) as number;
    const draws1 = (await page.evaluate(drawn)) as number;
    // The page's frame rate: how many animation frames it can run meanwhile (counted apart from the CPU window, as counting costs).
    const pageFps = (await page.evaluate(`new Promise((resolve) => {
      let n = 0;
      const t0 = performance.now();
      const tick = (t) => (t - t0 < 2000 ? (n++, requestAnimationFrame(tick)) : resolve(n / ((t - t0) / 1000)));
      requestAnimationFrame(tick);
    })`)) as number;
    return { cpu: (cpu1 - cpu0) / elapsed, pageFps, drawsPerSecond: (draws1 - draws0) / elapsed, longTasks };
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { before: { type: 'string', multiple: true, default: ['deff4ae'] }, size: { type: 'string', default: '1280x720' }, seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const [width, height] = values.size.split('x').map(Number) as [number, number];
  const tmp = mkdtempSync(join(tmpdir(), 'streamlens-dashboard-bench-'));
  const browserArgs = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  let browser: Browser | undefined;
  const servers: ReplayServer[] = [];
  let frames: ReturnType<typeof setInterval> | undefined;
  try {
    // The earlier dashboards from git, the current one from this tree.
    const names = [...values.before.map((rev) => `before ${rev}`), 'after'];
    for (const [i, rev] of values.before.entries()) {
      const root = join(tmp, `before-src-${i}`);
      mkdirSync(root);
      execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { stdio: 'ignore' });
      execFileSync('sh', ['-c', `git archive "$1" src | tar -x -C "$2"`, 'sh', rev, root]);
      await bundle(root, join(tmp, names[i]!));
    }
    await bundle(process.cwd(), join(tmp, 'after'));

    const variants = await Promise.all([0, 1, 2].map((seed) => replayJpegs(width, height, seed)));
    const ids = Array.from({ length: STREAMS }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`);
    for (const name of names) {
      const server = await ReplayServer.start({ dashboardDir: join(tmp, name) });
      for (const id of ids) server.setStats(replayStats(id, { framesSent: 100 }));
      servers.push(server);
    }
    let seq = 0;
    frames = setInterval(() => {
      seq++;
      for (const server of servers) {
        ids.forEach((id, i) =>
          server.sendFrame({
            stream: id,
            seq,
            width,
            height,
            jpegs: variants[(seq + i) % variants.length],
            objects: [0, 1, 2].map((k) => ({ box: [(100 + 300 * k + (seq % 60)) * (width / 1280), 200 * (height / 720), (300 + 300 * k + (seq % 60)) * (width / 1280), 600 * (height / 720)], score: 0.6 + 0.1 * k, class: k, label: `class${k}`, track_id: k + 1 })),
          }),
        );
      }
    }, 1000 / FPS);
    const stats = setInterval(() => servers.forEach((s) => s.sendStats()), 1000);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: browserArgs });
    // The browser's process tree: every renderer, GPU and utility process.
    const pid = findChromiumPid();

    const cases = [
      { name: 'blank page', server: undefined, large: false },
      ...names.map((name, i) => ({ name: `${name} grid`, server: servers[i]!, large: false })),
      ...names.map((name, i) => ({ name: `${name} 1 large`, server: servers[i]!, large: true })),
    ];
    const nameWidth = Math.max(...cases.map((c) => c.name.length));
    for (let r = 1; r <= rounds; r++) {
      const results = new Map<string, Sample>();
      for (const c of cases) results.set(c.name, await measure(browser, pid, c.server?.url, c.large, seconds));
      const base = results.get(`${names[0]} grid`)!.cpu;
      const floor = results.get('blank page')!.cpu;
      for (const [name, s] of results) {
        // One camera large: the CPU above the blank page against each earlier dashboard's.
        const above = name.endsWith('large')
          ? names
              .slice(0, -1)
              .filter((b) => !name.startsWith(b))
              .map((b) => `, above a blank page ${((s.cpu - floor) / (results.get(`${b} 1 large`)!.cpu - floor)).toFixed(2)}x ${b} 1 large`)
              .join('')
          : '';
        const perDraw = s.drawsPerSecond > 0 ? `  ${((1000 * s.cpu) / s.drawsPerSecond).toFixed(1)} ms cpu per tile drawn` : '';
        process.stdout.write(
          `round ${r}  ${name.padEnd(nameWidth)} cpu ${s.cpu.toFixed(2)} cores (${(s.cpu / base).toFixed(2)}x ${names[0]} grid${above})  page ${s.pageFps.toFixed(1)} fps  tiles drawn ${s.drawsPerSecond.toFixed(1)}/s${perDraw}  long tasks ${s.longTasks}\n`,
        );
      }
    }
    clearInterval(stats);
  } finally {
    clearInterval(frames);
    await browser?.close();
    for (const s of servers) await s.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The browser process: the child of this process whose name says chromium. */
function findChromiumPid(): number {
  const children = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  const pid = children.find((p) => {
    try {
      return /chrom/i.test(readFileSync(`/proc/${p}/comm`, 'utf8'));
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error('chromium process not found');
  return pid;
}

await main();
