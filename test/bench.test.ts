/**
 * `npm run bench -- --quick` (bench/cli.ts) on the cheap sections: the command writes its JSON and HTML report,
 * and the results have the documented structure with sane values. Performance targets are never
 * asserted here (numbers on shared CI machines are noise); docs/benchmarks.md reports them.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchCommand as command } from '../bench/cli.js';
import { runBench, type BenchResult } from '../bench/run.js';

const out = mkdtempSync(join(tmpdir(), 'streamlens-bench-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench --quick', () => {
  it('runs the micro and tracker sections from the CLI and writes JSON and a self-contained HTML report', async () => {
    const code = await command.run(['--quick', '--only', 'micro,tracker', '--out', out]);
    expect(code).toBe(0);
    const json = readdirSync(out).filter((f) => f.endsWith('.json'));
    expect(json).toHaveLength(1);
    const result = JSON.parse(readFileSync(join(out, json[0]), 'utf8')) as BenchResult;
    expect(result.meta.quick).toBe(true);
    expect(result.meta.sections).toEqual(['tracker', 'micro']);
    expect(result.errors, JSON.stringify(result.errors)).toEqual([]);
    expect(result.micro!.preprocess640.n).toBeGreaterThan(0);
    expect(result.micro!.preprocess640.p50).toBeGreaterThan(0);
    expect(result.micro!.postTrack100.p50).toBeGreaterThan(0);
    // Every frame of the three MOT15 sequences (525 + 1000 + 795), tracked as well as the tracker's
    // acceptance bar: official ByteTrack's best + 1.0 HOTA and + 1.5 IDF1 (test/mot-acceptance.test.ts).
    expect(result.tracker!.frames).toBe(2320);
    expect(result.tracker!.sequences.map((s) => s.name)).toEqual(['ADL-Rundle-6', 'ETH-Bahnhof', 'PETS09-S2L1']);
    expect(result.tracker!.hota).toBeGreaterThanOrEqual(0.3951);
    expect(result.tracker!.idf1).toBeGreaterThanOrEqual(0.5217);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Micro-benchmarks');
    // Self-contained: no scripts, stylesheets or images fetched from elsewhere.
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('rejects an unknown section with exit code 2', async () => {
    expect(await command.run(['--only', 'nonsense', '--out', out])).toBe(2);
  });

  it('measures the limits and the analysis pipeline at 640 and 320, with ratios to the session in the same run', async () => {
    const result = await runBench({ quick: true, only: ['limits', 'analysis'], outDir: out });
    expect(result.errors, JSON.stringify(result.errors)).toEqual([]);
    const session = result.limits!.session;
    // By batch size, the models next to each other (the benchmark model at 640 and 320 by default).
    expect(session.map((s) => [s.imgsz, s.batch])).toEqual([[640, 1], [320, 1], [640, 4], [320, 4]]);
    for (const s of session) {
      expect(s.fps).toBeGreaterThan(0);
      expect(s.provider).toBe('cpu');
      expect(s.latency.n).toBeGreaterThanOrEqual(4);
    }
    expect(result.limits!.decode.length).toBeGreaterThan(0);
    for (const d of result.limits!.decode) {
      expect(d.frames).toBeGreaterThan(0);
      expect(d.fps).toBeGreaterThan(0);
    }
    const runs = result.analysis!.runs;
    expect(runs.map((r) => r.imgsz)).toEqual(expect.arrayContaining([640, 320]));
    for (const r of runs) {
      expect(r.frames).toBeGreaterThan(0);
      expect(r.fps).toBeGreaterThan(0);
    }
    // Every decoded frame of the 1 s 1080p clip (30 fps) was analysed.
    expect(runs.find((r) => r.clip.startsWith('synthetic 1080p'))!.frames).toBe(30);
    for (const x of result.analysis!.ratios) {
      // The ratio is against the mean of the session measured right before and right after the run.
      const [before, after] = x.sessionBeforeAfter;
      expect(before).toBeGreaterThan(0);
      expect(after).toBeGreaterThan(0);
      expect(x.sessionFps).toBeCloseTo((before + after) / 2, 2);
      expect(x.ratio).toBeCloseTo(x.pipelineFps / x.sessionFps, 2);
    }
    expect(existsSync(join(out, 'media'))).toBe(true);
  });
});
