/** Pure parts of the benchmark harness: statistics, rate series and the SVG charts. */
import { describe, expect, it } from 'vitest';
import { progressSeries } from '../bench/analysis.js';
import { benchAnalytics, benchConfig } from '../bench/analytics.js';
import { parseAnalytics } from '../src/config.js';
import { stageSamples } from '../bench/stages.js';
import { histogram, percentileSorted, rateSeries, summarize } from '../bench/stats.js';
import { histogramChart, lineChart } from '../bench/svg.js';
import type { FrameResult } from '../src/types.js';

describe('bench statistics', () => {
  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentileSorted(v, 0.5)).toBe(50);
    expect(percentileSorted(v, 0.99)).toBe(99);
    expect(percentileSorted(v, 1)).toBe(100);
    expect(summarize([3, 1, 2])).toEqual({ n: 3, mean: 2, p50: 2, p95: 3, p99: 3, max: 3 });
    expect(summarize([]).n).toBe(0);
  });

  it('histogram counts every value once', () => {
    const h = histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(h.counts).toHaveLength(5);
  });

  it('rate series: events per second per bucket', () => {
    expect(rateSeries([0, 100, 200, 1100, 1900], 1000, 0)).toEqual([{ t: 1, fps: 3 }, { t: 2, fps: 2 }]);
  });

  it('progress series from cumulative counts, the last bucket scaled to its length or left out when short', () => {
    expect(progressSeries([{ t: 500, done: 4 }, { t: 1000, done: 10 }, { t: 1500, done: 14 }])).toEqual([{ t: 1, fps: 10 }, { t: 1.5, fps: 8 }]);
    expect(progressSeries([{ t: 1000, done: 10 }, { t: 1200, done: 14 }])).toEqual([{ t: 1, fps: 10 }]);
  });

  it('stage latencies from FrameTiming', () => {
    const r = { timing: { captureTs: 100, queuedTs: 110, inferStartTs: 115, inferEndTs: 165, doneTs: 166, sendTs: 167, preprocessMs: 2, inferenceMs: 45, postprocessMs: 0.5, stages: { infer: 55, track: 1 } } } as unknown as FrameResult;
    const s = stageSamples([r]);
    expect(s.wait).toEqual([10]);
    expect(s.queue).toEqual([5]);
    expect(s.inference).toEqual([45]);
    expect(s.run).toEqual([50]);
    expect(s.track).toEqual([1]);
    expect(s.publish).toEqual([1]);
    expect(s.total).toEqual([67]);
    expect(Object.keys(s)).toEqual(['wait', 'queue', 'preprocess', 'inference', 'postprocess', 'run', 'publish', 'total', 'infer', 'track']);
    expect(stageSamples([{ timing: { captureTs: 1, stages: {} } } as FrameResult]).inference).toEqual([]);
  });
});

describe('bench SVG charts', () => {
  it('draws lines, a reference line and escapes labels', () => {
    const svg = lineChart('fps <over> time', [{ name: 'a&b', points: [{ x: 0, y: 1 }, { x: 1, y: 2 }] }], 's', 'fps', { y: 1.5, label: 'target' });
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('<path d="M');
    expect(svg).toContain('fps &lt;over&gt; time');
    expect(svg).toContain('a&amp;b');
    expect(svg).toContain('stroke-dasharray');
    expect(lineChart('empty', [], 'x', 'y')).toBe('');
  });

  it('draws a logarithmic x axis over whole decades, with labelled points', () => {
    const svg = lineChart('t', [{ name: 's', points: [{ x: 5, y: 1, label: 'b1' }, { x: 500, y: 2, label: 'b8' }, { x: 0, y: 3 }] }], 'ms', 'fps', undefined, { logX: true });
    // 1, 10, 100, 1000 along the axis; the point at 0 cannot be placed on it.
    for (const decade of ['1', '10', '100', '1000']) expect(svg).toContain(`text-anchor="middle">${decade}</text>`);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('>b1</text>');
    expect(svg).toContain('>b8</text>');
  });

  it('draws one bar per histogram bin', () => {
    const svg = histogramChart('latency', histogram([1, 2, 3, 4], 4), 'ms');
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
  });
});

describe('bench analytics', () => {
  it('measures a busy scene: valid zones and lines, tracks that cross and dwell', () => {
    expect(() => parseAnalytics(benchConfig(10, 10))).not.toThrow();
    const r = benchAnalytics({ frames: 300 });
    expect(r).toMatchObject({ tracks: 20, zones: 10, lines: 10, frames: 300, targetMs: 0.1 });
    // The walk takes the tracks through lines and zones: the timed frames do the events' work too.
    expect(r.events).toBeGreaterThan(10);
    expect(r.p95FrameMs).toBeGreaterThanOrEqual(r.medianFrameMs);
  });
});
