/**
 * The startup section of the bench (bench/startup.ts) runs against its real sources and reports a
 * time to first frame for each source, before and after, and the RTSP target. No timing is
 * asserted here: the numbers are the bench's to report (docs/benchmarks.md).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBench } from '../bench/run.js';
import { summaryRows } from '../bench/summary.js';

describe('bench startup', () => {
  it('measures every source before and after, and states the RTSP target', async () => {
    const out = mkdtempSync(join(tmpdir(), 'streamlens-bench-startup-'));
    const result = await runBench({ quick: true, only: ['startup'], outDir: out });
    expect(result.errors, JSON.stringify(result.errors)).toEqual([]);
    const s = result.startup!;
    expect(s.rows.map((r) => `${r.source}/${r.variant}`)).toEqual([
      'rtsp/before', 'rtsp/after', 'hls/before', 'hls/after', 'mpegts-http/before', 'mpegts-http/after', 'mjpeg/before', 'mjpeg/after',
    ]);
    // Every source opens now, every trial gets its first frame.
    for (const r of s.rows.filter((x) => x.variant === 'after')) {
      expect(r.trialsMs).toHaveLength(2);
      expect(r.trialsMs.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
    }
    expect(s.rtsp).toMatchObject({ targetMs: 2000, medianMs: s.rows[1].medianMs });
    expect(summaryRows(result).filter((r) => r.section === 'startup')).toHaveLength(5);
  }, 300_000);
});
