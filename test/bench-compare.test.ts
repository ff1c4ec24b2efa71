/**
 * Pure parts of benchmarking what the user runs: the clock-offset bounds, the metrics of a result
 * file, `bench compare`'s verdicts against the runs' measured noise, and the command line's
 * refusals (exit status 2).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchCommand } from '../bench/cli.js';
import { gatedCapacityRatio, type CapacityResult } from '../bench/capacity.js';
import { ClockOffsetBounds, nextAim } from '../bench/clockOffset.js';
import { compareResults, formatComparison } from '../bench/compare.js';
import { machineDifferences } from '../bench/machine.js';
import { metricsOf } from '../bench/metrics.js';
import { resolveModels, runnableBatches } from '../bench/models.js';
import { renderReport } from '../bench/report.js';
import type { BenchResult } from '../bench/run.js';
import { splitHalfSpread, mean, summarize } from '../bench/stats.js';
import { formatSummary } from '../bench/summary.js';
import { ensureModel } from '../src/tools/modelgen/index.js';

const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clock offset bounds', () => {
  it('takes the largest lower and the smallest upper bound; the estimate is the middle, the accuracy half the width', () => {
    const b = new ClockOffsetBounds();
    expect(b.result()).toBeUndefined();
    // Server 100 ms ahead; one-way delays 2 and 3 ms.
    b.received(1000 + 100, 1002); // stamped at our 1000, received at 1002: offset >= 98
    b.received(2000 + 100, 2003); // offset >= 97
    expect(b.result()).toMatchObject({ estimateMs: 98, accuracyMs: Infinity, lo: 98, upperSamples: 0 });
    b.caused(3000, 3004 + 100); // sent at 3000, reached the server at our 3004: offset <= 104
    b.caused(4000, 4001 + 100); // offset <= 101
    expect(b.result()).toEqual({ estimateMs: 99.5, accuracyMs: 1.5, lo: 98, hi: 101, lowerSamples: 2, upperSamples: 2, inconsistent: false });
    // A clock that stepped: the bounds cross.
    b.caused(5000, 5000 + 90);
    expect(b.result()!.inconsistent).toBe(true);
  });

  it('aims in the middle after a hit and halfway to the upper bound after a miss', () => {
    expect(nextAim(0, 10, undefined)).toBe(5);
    expect(nextAim(0, 4, { aim: 5, hit: true })).toBe(2);
    expect(nextAim(0, 10, { aim: 5, hit: false })).toBe(7.5);
  });
});

describe('split-half spread', () => {
  it('is the difference of the halves relative to the whole', () => {
    expect(splitHalfSpread([10, 10, 20, 20], mean)).toBeCloseTo(10 / 15, 3);
    expect(splitHalfSpread([5, 5, 5, 5, 5], mean)).toBe(0);
    expect(splitHalfSpread([1], mean)).toBeNaN();
  });
});

/** A minimal result with one analysis run; `track` is the track stage's median, `spread` each number's noise. */
function result(o: { fps: number; trackMs: number; spread: number; startedAt?: string; cpuModel?: string }): BenchResult {
  const s = (p50: number) => ({ ...summarize([p50]), p50 });
  return {
    meta: {
      startedAt: o.startedAt ?? '2026-12-01T00:00:00.000Z',
      quick: true,
      sections: ['analysis'],
      seconds: 1,
      models: [],
      providers: ['cpu'],
      batches: { session: [1], pipeline: [1] },
      sources: [],
      machine: { cpuModel: o.cpuModel ?? 'cpu A', cores: 2, memoryGB: 8, gpus: [], providersInstalled: ['cpu'], ffmpeg: 'ffmpeg 6', onnxruntime: '1.30.0', node: 'v20', os: 'linux', loadAverage: { start: 0 } },
      note: '',
    },
    analysis: {
      runs: [
        {
          clip: 'clip.mp4', model: 'm.onnx', provider: 'cpu', imgsz: 320, batch: 1, frames: 100, seconds: 100 / o.fps, fps: o.fps, bounded: false,
          latency: s(20 + o.trackMs), stages: { infer: s(20), track: s(o.trackMs) }, spread: o.spread, latencySpread: { p50: o.spread, p95: o.spread }, stageSpread: { infer: o.spread, track: o.spread }, series: [],
        },
      ],
      ratios: [{ clip: 'clip.mp4', model: 'm.onnx', provider: 'cpu', imgsz: 320, batch: 1, pipelineFps: o.fps, sessionFps: 50, sessionBeforeAfter: [50, 50], ratio: o.fps / 50, target: 0.85 }],
      unavailable: [],
    },
    errors: [],
  };
}

describe('bench compare', () => {
  it('names each measurement by section, input, model, provider and batch', () => {
    const keys = metricsOf(result({ fps: 40, trackMs: 0.2, spread: 0.05 })).map((m) => m.key);
    expect(keys).toContain('analysis: clip.mp4, m.onnx, cpu, batch 1: fps');
    expect(keys).toContain('analysis: clip.mp4, m.onnx, cpu, batch 1: track p50');
    expect(keys).toContain('analysis: clip.mp4, m.onnx, cpu, batch 1: latency p50');
  });

  it('flags a slowed stage beyond the noise as a regression; changes within twice the noise are not', () => {
    const old = result({ fps: 40, trackMs: 0.2, spread: 0.05 });
    const slowed = result({ fps: 30, trackMs: 25.2, spread: 0.05 });
    const c = compareResults(old, slowed);
    const by = (suffix: string) => c.changes.find((x) => x.key.endsWith(suffix))!;
    expect(by('track p50')).toMatchObject({ old: 0.2, new: 25.2, verdict: 'REGRESSION' });
    expect(by(': fps')).toMatchObject({ verdict: 'REGRESSION', noise: 0.05 });
    expect(by('infer p50').verdict).toBe('');
    expect(c.regressions).toBeGreaterThanOrEqual(2);
    // 8 % slower with 5 % noise: within 2 x the noise.
    expect(compareResults(old, result({ fps: 36.8, trackMs: 0.2, spread: 0.05 })).regressions).toBe(0);
    // Faster beyond the noise: an improvement, never a failure.
    const faster = compareResults(old, result({ fps: 60, trackMs: 0.2, spread: 0.05 }));
    expect(faster.changes.find((x) => x.key.endsWith(': fps'))!.verdict).toBe('improved');
    expect(faster.regressions).toBe(0);
  });

  it('needs the threshold too, and a time change of at least min-ms', () => {
    const old = result({ fps: 40, trackMs: 0.2, spread: 0.001 });
    // 5 % slower, noise 0.1 %: beyond the noise but under the 10 % threshold.
    const c = compareResults(old, result({ fps: 38, trackMs: 0.2, spread: 0.001 }));
    expect(c.changes.find((x) => x.key.endsWith(': fps'))!.verdict).toBe('worse');
    expect(c.regressions).toBe(0);
    expect(compareResults(old, result({ fps: 38, trackMs: 0.2, spread: 0.001 }), { threshold: 0.04, minMs: 1 }).regressions).toBeGreaterThan(0);
    // The track stage doubles, but by 0.2 ms: under min-ms.
    const tiny = compareResults(old, result({ fps: 40, trackMs: 0.4, spread: 0.001 }));
    expect(tiny.changes.find((x) => x.key.endsWith('track p50'))!.verdict).toBe('worse');
    expect(tiny.regressions).toBe(0);
  });

  it('says when the machines differ', () => {
    const c = compareResults(result({ fps: 40, trackMs: 0.2, spread: 0.05 }), result({ fps: 40, trackMs: 0.2, spread: 0.05, cpuModel: 'cpu B' }));
    expect(c.machine).toEqual(['cpuModel: cpu A -> cpu B']);
    expect(formatComparison(c, ['a', 'b'])).toContain('The machines differ');
    expect(machineDifferences({ gpus: [] }, { gpus: ['A100'] })).toEqual(['gpus: none -> A100']);
  });

  it('exits 1 on a regression, 0 without, 2 on bad arguments', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify(result({ fps: 40, trackMs: 0.2, spread: 0.05 })));
    writeFileSync(b, JSON.stringify(result({ fps: 20, trackMs: 0.2, spread: 0.05 })));
    expect(await benchCommand.run(['compare', a, b])).toBe(1);
    expect(await benchCommand.run(['compare', a, a])).toBe(0);
    // 50 % slower passes a 60 % threshold.
    expect(await benchCommand.run(['compare', a, b, '--threshold', '60'])).toBe(0);
    expect(await benchCommand.run(['compare', a])).toBe(2);
    expect(await benchCommand.run(['compare', a, join(dir, 'missing.json')])).toBe(2);
  });
});

/** A capacity search that passed up to `capacity` streams and failed at the next. */
function capacityRun(capacity: number, motion: boolean): CapacityResult {
  const point = (streams: number, pass: boolean) => ({ streams, p50: 80, p95: pass ? 200 : 400, p99: 450, minFps: 5, meanFps: 5, inferred: motion ? 0.3 : 1, pass });
  const curve = [...Array.from({ length: capacity }, (_, i) => point(i + 1, true)), point(capacity + 1, false)];
  return { clip: 'still 1080p', model: 'm.onnx', provider: 'cpu', targetFps: 5, targetP95Ms: 250, capacity, motion, capped: false, curve };
}

describe('capacity on a mostly still camera, without, with and again without motion gating', () => {
  it('divides by the larger of the two counts without, and has no ratio when none fit without', () => {
    expect(gatedCapacityRatio(1, 4, 2)).toBe(2);
    expect(gatedCapacityRatio(2, 7, 2)).toBe(3.5);
    expect(gatedCapacityRatio(0, 3, 0)).toBeNaN();
  });

  it('reports the three searches; the two without are the noise of the counts and of the ratio', () => {
    const r = result({ fps: 40, trackMs: 0.2, spread: 0.05 });
    r.capacityStill = { clip: 'still 1080p', without: capacityRun(2, false), with: capacityRun(6, true), withoutAfter: capacityRun(1, false), ratio: gatedCapacityRatio(2, 6, 1), target: 3 };
    const m = new Map(metricsOf(r).map((x) => [x.key, x]));
    expect(m.get('capacity: still 1080p: without motion gating')).toMatchObject({ value: 2, noise: 1 / 1.5 });
    expect(m.get('capacity: still 1080p: with motion gating')).toMatchObject({ value: 6 });
    expect(m.get('capacity: still 1080p: with / without motion gating')).toMatchObject({ value: 3, unit: 'x', better: 'higher', noise: 1 / 1.5 });
    expect(formatSummary(r)).toMatch(/without \/ with \/ without motion gating\s+2 \/ 6 \/ 1/);
    const html = renderReport(r);
    expect(html).toContain('Capacity without gating <b>2</b> (after: <b>1</b>), with <b>6</b> streams (3 x the larger without');
    // 3 + 7 + 2 curve points, each a row named by its search.
    expect(html.match(/<td>without, after<\/td>/g)).toHaveLength(2);
    expect(html.match(/<td>with gating<\/td>/g)).toHaveLength(7);
  });

  it('reports cameras by CPU against the cheaper run without, with the bracket as the noise', () => {
    const r = result({ fps: 40, trackMs: 0.2, spread: 0.05 });
    const cam = (motion: boolean, cpuMsPerResult: number) => ({ motion, results: 300, complete: true, inferred: motion ? 0.3 : 1, cpuMsPerResult, ffmpegMsPerResult: cpuMsPerResult / 4, serverMsPerResult: (3 * cpuMsPerResult) / 4, coresPerCamera: (cpuMsPerResult * 5) / 1000 });
    r.capacityStill = {
      clip: 'still 1080p', without: capacityRun(1, false), with: capacityRun(3, true), withoutAfter: capacityRun(1, false), ratio: 3, target: 3,
      cpu: { cores: 2, without: cam(false, 200), with: cam(true, 50), withoutAfter: cam(false, 300), camerasWithout: 2, camerasWith: 8, ratio: 4, decodeCeiling: 16 },
    };
    const m = new Map(metricsOf(r).map((x) => [x.key, x]));
    expect(m.get('capacity: still 1080p: CPU per result without motion gating')).toMatchObject({ value: 200, unit: 'ms', better: 'lower', noise: 100 / 250 });
    expect(m.get('capacity: still 1080p: CPU per result with motion gating')).toMatchObject({ value: 50 });
    expect(m.get('capacity: still 1080p: cameras by CPU, with / without motion gating')).toMatchObject({ value: 4, noise: 100 / 250 });
    expect(formatSummary(r)).toMatch(/cameras 2 cores hold without \/ with motion gating\s+2\.0+ \/ 8\.0+\s+4\.00 x; target >= 3 x: met; at most 16\.00 x if a gated camera cost only its decoding/);
    expect(renderReport(r)).toContain('2 cores hold <b>2</b> cameras without gating, <b>8</b> with (4 x). Gating never skips decoding (the motion estimate needs every frame): if a gated camera cost nothing but its ffmpeg, the ratio would be 16 x');
  });
});

describe('bench command line', () => {
  it('refuses what cannot be measured with exit status 2', async () => {
    expect(await benchCommand.run(['--model', join(dir, 'nope.onnx')])).toBe(2);
    expect(await benchCommand.run(['--batch', '0,2'])).toBe(2);
    expect(await benchCommand.run(['--imgsz', '100'])).toBe(2);
    expect(await benchCommand.run(['--providers', 'cpu,gpu'])).toBe(2);
    expect(await benchCommand.run(['--source', join(dir, 'missing.mp4')])).toBe(2);
    expect(await benchCommand.run(['--clients', '3'])).toBe(2);
    expect(await benchCommand.run(['--only', 'server'])).toBe(2);
    expect(await benchCommand.run(['--server', 'ftp://x'])).toBe(2);
    expect(await benchCommand.run(['--server', 'http://127.0.0.1:1', '--model', 'synthetic-det'])).toBe(2);
  });
});

describe('models under test', () => {
  it('builds a built-in name at each --imgsz; a file keeps its size and a different --imgsz is refused', async () => {
    const models = await resolveModels(['synthetic-det'], [320]);
    expect(models).toMatchObject([{ label: 'synthetic-det-320.onnx', imgsz: 320, batch: 'dynamic', format: 'yolov10' }]);
    const file = await ensureModel('synthetic-det', { imgsz: 320, batch: 1 });
    await expect(resolveModels([file], [640])).rejects.toThrow(/has input 320x320/);
    const [fixed] = await resolveModels([file]);
    expect(fixed.batch).toBe(1);
    expect(runnableBatches(fixed, [1, 2, 4])).toEqual({ run: [1], skipped: [2, 4] });
    // The same file twice gets two labels.
    expect((await resolveModels([file, file])).map((m) => m.label)).toEqual(['synthetic-det-320-b1.onnx', 'synthetic-det-320-b1.onnx (2)']);
  });
});
