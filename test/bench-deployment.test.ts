/**
 * Benchmarking what the user runs (docs/benchmarks.md, "Benchmark your own deployment"): a model
 * given as a file with a batch sweep and a second model beside it, the user's source (a generated
 * clip) in the analysis, live and capacity sections, a `streamlens serve` started here and measured
 * from the outside, and `bench compare` catching a deliberately slowed stage. Structure and sane
 * values only, never speed: performance numbers live in docs/benchmarks.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchCommand } from '../bench/cli.js';
import { compareResults } from '../bench/compare.js';
import { runFfmpeg } from '../bench/inputs.js';
import { runBench, type BenchOptions, type BenchResult } from '../bench/run.js';
import { STAGES } from '../src/pipeline/stages.js';
import type { StageFactory } from '../src/pipeline/stage.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { generateClip } from '../src/tools/synth/index.js';
import { startRtspServer, type RtspServer } from './helpers/rtspServer.js';
import { startServeCli, type ServeCli } from './helpers/serveCli.js';

const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-deploy-'));
let clip: string;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  clip = join(dir, 'media', 'cam.mp4');
  mkdirSync(dirname(clip), { recursive: true });
  await generateClip({ out: clip, width: 320, height: 240, fps: 10, seconds: 3, seed: 3, targets: 5 });
});

function lastResult(out: string): BenchResult {
  const json = readdirSync(out).filter((f) => f.endsWith('.json')).sort();
  return JSON.parse(readFileSync(join(out, json.at(-1)!), 'utf8')) as BenchResult;
}

describe('bench with your model', () => {
  it('--model FILE --model NAME --batch 1,2: the sweep per model and batch, the curve in the report, the models side by side', async () => {
    const out = join(dir, 'models');
    const file = await ensureModel('yolov10n-bench', { imgsz: 320 });
    const code = await benchCommand.run(['--quick', '--only', 'limits,analysis', '--model', file, '--model', 'synthetic-det', '--imgsz', '320', '--batch', '1,2', '--providers', 'cpu,cuda', '--source', clip, '--out', out]);
    const r = lastResult(out);
    expect(r.errors, JSON.stringify(r.errors)).toEqual([]);
    expect(code).toBe(0);
    expect(r.meta.models.map((m) => m.label)).toEqual(['yolov10n-bench-320.onnx', 'synthetic-det-320.onnx']);
    expect(r.meta.models[0].path).toBe(file);
    expect(r.meta.batches).toEqual({ session: [1, 2], pipeline: [1, 2] });
    // The machine, so that two files can be compared honestly.
    const m = r.meta.machine;
    expect(m.cores).toBeGreaterThan(0);
    expect(m.memoryGB).toBeGreaterThan(0);
    expect(m.cpuModel.length).toBeGreaterThan(0);
    expect(m.ffmpeg).toMatch(/^ffmpeg version \S+/);
    expect(m.onnxruntime).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.providersInstalled).toContain('cpu');

    // CUDA is measured on its own where it can open the models, else reported as not available (with the reason).
    for (const label of r.meta.models.map((x) => x.label)) {
      const ran = r.limits!.session.some((s) => s.model === label && s.provider === 'cuda');
      const refused = r.limits!.unavailable.find((u) => u.model === label && u.provider === 'cuda');
      expect(ran !== (refused !== undefined)).toBe(true);
      if (refused) expect(refused.reason).toMatch(/cuda/);
    }
    const cpu = <T extends { provider: string }>(rows: T[]) => rows.filter((x) => x.provider === 'cpu');
    const pairs = (rows: { model: string; batch: number }[]) => rows.map((x) => `${x.model}@${x.batch}`).sort();
    const expected = ['synthetic-det-320.onnx@1', 'synthetic-det-320.onnx@2', 'yolov10n-bench-320.onnx@1', 'yolov10n-bench-320.onnx@2'];
    expect(pairs(cpu(r.limits!.session))).toEqual(expected);
    for (const s of r.limits!.session) {
      expect(s.fps).toBeGreaterThan(0);
      // fps and latency describe the same runs: batch frames per mean run time.
      expect(s.fps).toBeCloseTo((1000 * s.batch) / s.msPerBatch, 0);
      expect(s.latency.p50).toBeGreaterThan(0);
      expect(s.latency.p95).toBeGreaterThanOrEqual(s.latency.p50);
    }
    expect(pairs(cpu(r.analysis!.runs))).toEqual(expected);
    for (const a of r.analysis!.runs) {
      expect(a.clip).toBe('cam.mp4');
      // The whole clip, unless the run reached the time bound of --quick (20 s: a starved machine).
      if (a.bounded) expect(a.frames).toBeLessThanOrEqual(30);
      else expect(a.frames).toBe(30);
      expect(a.frames).toBeGreaterThan(0);
      expect(a.fps).toBeGreaterThan(0);
      expect(a.latency.n).toBe(a.frames);
      expect(a.latency.p50).toBeGreaterThan(0);
      // A frame's latency includes its inference.
      expect(a.latency.p50).toBeGreaterThanOrEqual(a.stages.inference.p50);
      expect(a.stages.track.n).toBe(a.frames);
    }
    // The second model against the first, session alone and pipeline, at each batch size.
    const ratios = r.modelRatios!;
    expect(cpu(ratios).map((x) => `${x.kind}@${x.batch}`).sort()).toEqual(['pipeline@1', 'pipeline@2', 'session@1', 'session@2']);
    for (const x of ratios) {
      expect(x).toMatchObject({ model: 'synthetic-det-320.onnx', baseline: 'yolov10n-bench-320.onnx' });
      expect(x.ratio).toBeCloseTo(x.fps / x.baselineFps, 2);
    }

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Throughput against latency by batch size');
    const curve = html.slice(html.indexOf('Throughput against latency by batch size'));
    // One labelled point per batch size on each curve: 2 models x (session alone + pipeline) x providers that ran.
    const providersRun = new Set(r.limits!.session.map((x) => x.provider)).size;
    expect(curve.match(/>b1<\/text>/g)).toHaveLength(4 * providersRun);
    expect(curve.match(/>b2<\/text>/g)).toHaveLength(4 * providersRun);
    expect(html).toContain('Models side by side');
    expect(html).not.toMatch(/<script|<link|src="http/);
  });
});

describe('bench with your source', () => {
  it('--source FILE feeds the live and capacity sections with the chosen model', async () => {
    const r = await runBench({ quick: true, only: ['live', 'capacity'], outDir: join(dir, 'source'), sources: [clip], models: ['synthetic-det'], imgsz: [320] });
    expect(r.errors, JSON.stringify(r.errors)).toEqual([]);
    expect(r.meta.sources).toEqual([clip]);
    for (const l of r.live!.runs) {
      expect(l.clip).toBe('cam.mp4');
      expect(l.perStream).toHaveLength(l.streams);
      for (const s of l.perStream) expect(s.deliveredFps).toBeGreaterThan(0);
    }
    const c = r.capacity!;
    expect(c).toMatchObject({ clip: 'cam.mp4', model: 'synthetic-det-320.onnx', provider: 'cpu' });
    expect(c.curve.length).toBeGreaterThan(0);
    expect(c.curve[0].streams).toBe(1);
    expect(c.curve[0].meanFps).toBeGreaterThan(0);
    // With --source, gating is compared on the user's own camera too (not on the built-in scene).
    const g = r.capacityStill!;
    expect(g.clip).toBe('cam.mp4');
    expect([g.without.motion, g.with.motion, g.withoutAfter.motion]).toEqual([false, true, false]);
    for (const x of [g.without, g.with, g.withoutAfter]) expect(x.curve[0].streams).toBe(1);
    // By CPU: the whole clip through a server per variant; gated results are partly carried forward.
    const cpu = g.cpu!;
    for (const x of [cpu.without, cpu.with, cpu.withoutAfter]) {
      // The whole clip (3 s at 5 fps), unless the pass reached the time bound of --quick (20 s: a starved machine).
      if (x.complete) expect(x.results).toBeGreaterThanOrEqual(14);
      expect(x.results).toBeLessThanOrEqual(16);
    }
    for (const x of [cpu.without, cpu.withoutAfter]) if (x.results) expect(x.inferred).toBe(1);
    if (cpu.with.results) expect(cpu.with.inferred).toBeGreaterThan(0);
    expect(cpu.with.inferred).toBeLessThanOrEqual(1);
  });
});

describe('bench with a camera URL as the source', () => {
  let rtsp: RtspServer | undefined;
  afterAll(async () => rtsp?.stop());

  it('--source rtsp://...: the analysis of a live source stops at its time bound; live streams read it', async () => {
    rtsp = await startRtspServer({ file: clip });
    const r = await runBench({ quick: true, only: ['analysis', 'live'], outDir: join(dir, 'rtsp'), sources: [rtsp.url], models: ['synthetic-det'], imgsz: [320], batches: [2] });
    expect(r.errors, JSON.stringify(r.errors)).toEqual([]);
    const [a] = r.analysis!.runs;
    expect(a.clip).toBe(rtsp.url);
    // A live source never ends: the run is cut at its bound (20 s with --quick, counted from the
    // start, before the probe and the model load), having analysed frames. What is in flight then
    // drains, slowly on a loaded machine: the line is well under the full run's bound (120 s).
    expect(a.bounded).toBe(true);
    expect(a.frames).toBeGreaterThan(0);
    expect(a.seconds).toBeGreaterThan(0);
    console.log(`analysis of a live source: cut after ${a.seconds} s (bound 20 s)`);
    expect(a.seconds).toBeLessThan(40);
    for (const l of r.live!.runs) for (const s of l.perStream) expect(s.deliveredFps).toBeGreaterThan(0);
  });
});

describe('bench --server', () => {
  const token = 'bench-test-token-7f3a';
  let server: ServeCli;
  let images: string;
  let model: string;

  const get = async (path: string) => (await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<Record<string, any>>;

  beforeAll(async () => {
    model = await ensureModel('synthetic-det', { imgsz: 320 });
    images = join(dir, 'images');
    mkdirSync(images);
    for (const [i, t] of ['0.5', '1.5'].entries()) await runFfmpeg(['-v', 'error', '-y', '-ss', t, '-i', clip, '-frames:v', '1', join(images, `frame${i}.jpg`)]);
    writeFileSync(join(images, 'notes.txt'), 'not an image');
    const config = join(dir, 'serve.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: { mediaFolders: [dirname(clip)], authToken: token },
        models: { [model]: { providers: ['cpu'], maxBatch: 4 } },
        streams: ['cam1', 'cam2'].map((id) => ({ id, url: clip, loop: true, realtime: true, video: false })),
      }),
    );
    server = await startServeCli(['--config', config, '--port', '0'], { timeoutMs: 120_000 });
    // Both streams deliver before the measurement starts (model loaded, decoders running).
    const end = Date.now() + 120_000;
    for (;;) {
      const streams = (await get('/api/streams')).streams as { framesSent: number }[];
      if (streams.every((s) => s.framesSent > 0)) break;
      if (Date.now() > end) throw new Error('the streams did not start within 120 s');
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    if (!server) return;
    server.child.kill('SIGTERM');
    await server.exited;
  });

  it('measures delivered fps, detections, end-to-end latency with the clock offset, fan-out and POST /api/detect from the outside', async () => {
    const out = join(dir, 'server');
    const before = await get('/api/info');
    const code = await benchCommand.run(['--quick', '--server', server.url, '--token', token, '--clients', '3', '--images', images, '--out', out]);
    const r = lastResult(out);
    expect(r.errors, JSON.stringify(r.errors)).toEqual([]);
    expect(code).toBe(0);
    expect(r.meta.sections).toEqual(['server']);
    const s = r.server!;
    expect(s.url).toBe(server.url);
    expect(s.models.map((m) => m.path)).toEqual([model]);
    expect(s.streams.map((x) => x.id)).toEqual(['cam1', 'cam2']);
    for (const x of s.streams) {
      expect(x.frames).toBeGreaterThan(0);
      expect(x.deliveredFps).toBeGreaterThan(0);
      expect(x.deliveredFps).toBeLessThanOrEqual(10.5);
      // The synthetic detector finds the clip's targets.
      expect(Object.values(x.labels).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(x.endToEnd.n).toBe(x.frames);
      expect(x.serverTotal.p50).toBeGreaterThan(0);
      // What the client sees is the server's capture->send plus the way here.
      expect(x.endToEnd.p50).toBeGreaterThanOrEqual(x.serverTotal.p50 - s.clock.accuracyMs);
      expect(x.delivery.p50).toBeGreaterThanOrEqual(0);
    }
    // Same host, same clock: the true offset is 0 (within a millisecond of the two processes' time origins).
    const c = s.clock;
    expect(c.inconsistent).toBe(false);
    expect(c.upperSamples).toBeGreaterThan(0);
    expect(c.lowerSamples).toBeGreaterThan(0);
    expect(c.lo).toBeLessThanOrEqual(1);
    expect(c.hi).toBeGreaterThanOrEqual(-1);
    expect(Number.isFinite(c.accuracyMs)).toBe(true);
    expect(Math.abs(c.estimateMs)).toBeLessThanOrEqual(c.accuracyMs + 1);

    expect(s.fanout!.clients).toBe(3);
    expect(s.fanout!.framesSent).toBeGreaterThan(0);
    expect(s.fanout!.deliveredRatio).toBeGreaterThan(0.5);
    expect(s.fanout!.delivery.n).toBeGreaterThan(0);
    expect(s.detect!.images).toBe(2);
    expect(s.detect!.runs.map((x) => x.connections)).toEqual([1, 4]);
    for (const h of s.detect!.runs) {
      expect(h.requests).toBeGreaterThan(0);
      expect(h.errors + h.non2xx).toBe(0);
    }

    // Nothing was started or changed on the server.
    const after = await get('/api/info');
    expect(after.streams).toBe(before.streams);
    expect(after.models.map((x: { path: string }) => x.path)).toEqual(before.models.map((x: { path: string }) => x.path));
    expect(((await get('/api/streams')).streams as { id: string }[]).map((x) => x.id)).toEqual(['cam1', 'cam2']);

    // The token is never written down.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Clock offset');
    expect(html).not.toContain(token);
    expect(readdirSync(out).filter((f) => f.endsWith('.json')).map((f) => readFileSync(join(out, f), 'utf8')).join('')).not.toContain(token);
  });

  it('says when the token is refused', async () => {
    const out = join(dir, 'server-bad-token');
    expect(await benchCommand.run(['--quick', '--server', server.url, '--token', 'wrong', '--clients', '0', '--out', out])).toBe(1);
    expect(lastResult(out).errors[0].message).toMatch(/401: the token was refused/);
  });
});

describe('bench compare on two runs', () => {
  it('flags a deliberately slowed stage as a regression and exits 1', async () => {
    // The tracking stage, 25 ms slower per frame (waiting, not burning the shared CPU).
    const slowed: StageFactory[] = STAGES.map((make) => (ctx) => {
      const stage = make(ctx);
      if (stage?.name !== 'track') return stage;
      return {
        name: stage.name,
        async process(item) {
          await stage.process(item);
          await new Promise((r) => setTimeout(r, 25));
        },
        flush: (d) => stage.flush?.(d),
        close: async () => stage.close?.(),
      };
    });
    const common: BenchOptions = { quick: true, only: ['analysis'], outDir: join(dir, 'compare'), sources: [clip], models: ['synthetic-det'], imgsz: [320], batches: [1] };
    const old = await runBench(common);
    const now = await runBench({ ...common, stages: slowed });
    expect(old.errors, JSON.stringify(old.errors)).toEqual([]);
    expect(now.errors, JSON.stringify(now.errors)).toEqual([]);
    const c = compareResults(old, now);
    const track = c.changes.find((x) => x.key === 'analysis: cam.mp4, synthetic-det-320.onnx, cpu, batch 1: track p50')!;
    expect(track.new).toBeGreaterThanOrEqual(24);
    expect(track.verdict).toBe('REGRESSION');
    expect(c.machine).toEqual([]);

    const a = join(dir, 'old.json');
    const b = join(dir, 'new.json');
    writeFileSync(a, JSON.stringify(old));
    writeFileSync(b, JSON.stringify(now));
    expect(await benchCommand.run(['compare', a, b])).toBe(1);
    expect(await benchCommand.run(['compare', a, a])).toBe(0);
  });
});
