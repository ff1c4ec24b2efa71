/** Pure helpers for benchmark numbers: percentiles, summaries, histograms, rates over time. */
import { percentile, percentileSorted } from '../src/percentile.js';

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export { percentile, percentileSorted };

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, mean: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, mean: r3(mean), p50: r3(percentileSorted(s, 0.5)), p95: r3(percentileSorted(s, 0.95)), p99: r3(percentileSorted(s, 0.99)), max: r3(s[s.length - 1]) };
}

export interface Histogram {
  /** Lower edge of each bin; bins are `width` wide. */
  edges: number[];
  width: number;
  counts: number[];
}

/** Equal-width bins from 0 (or the minimum) to the 99.9th percentile; the last bin takes the tail. */
export function histogram(values: readonly number[], bins = 30): Histogram {
  if (values.length === 0) return { edges: [], width: 0, counts: [] };
  const s = [...values].sort((a, b) => a - b);
  const lo = Math.min(0, s[0]);
  const hi = Math.max(percentileSorted(s, 0.999), lo + 1e-6);
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of s) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]++;
  return { edges: counts.map((_, i) => r3(lo + i * width)), width: r3(width), counts };
}

/** Events per second in consecutive buckets of `bucketMs`, from the first timestamp (epoch or perf ms). */
export function rateSeries(timestampsMs: readonly number[], bucketMs = 1000, startMs = timestampsMs[0]): { t: number; fps: number }[] {
  if (timestampsMs.length === 0 || startMs === undefined) return [];
  const last = Math.max(...timestampsMs);
  const buckets = Math.max(1, Math.ceil((last - startMs) / bucketMs));
  const counts = new Array<number>(buckets).fill(0);
  for (const t of timestampsMs) counts[Math.min(buckets - 1, Math.max(0, Math.floor((t - startMs) / bucketMs)))]++;
  return counts.map((c, i) => ({ t: r3(((i + 1) * bucketMs) / 1000), fps: r3((c * 1000) / bucketMs) }));
}

/**
 * The run's own noise for a number computed from a sequence of samples: the number computed on the
 * first half and on the second half of the samples, their difference relative to the whole
 * (0.05 = the halves differ by 5 %). A drifting or bursty machine shows up here; NaN when either
 * half is empty.
 */
export function splitHalfSpread(values: readonly number[], stat: (xs: readonly number[]) => number): number {
  const half = Math.floor(values.length / 2);
  if (half === 0) return NaN;
  const whole = stat(values);
  const a = stat(values.slice(0, half));
  const b = stat(values.slice(values.length - half));
  return whole !== 0 && Number.isFinite(whole) ? r3(Math.abs(a - b) / Math.abs(whole)) : NaN;
}

/** Split-half spreads of the median and the 95th percentile. */
export function percentileSpread(values: readonly number[]): { p50: number; p95: number } {
  return { p50: splitHalfSpread(values, (xs) => percentile(xs, 0.5)), p95: splitHalfSpread(values, (xs) => percentile(xs, 0.95)) };
}

export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function r3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export function ratio(a: number, b: number): number {
  return b > 0 && Number.isFinite(a) ? r3(a / b) : NaN;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
