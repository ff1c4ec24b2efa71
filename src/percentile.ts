/** Nearest-rank percentiles: the one definition the stats windows, the benchmarks and the tests share. */

/** The nearest-rank `q`-quantile (0..1) of an ascending array; NaN when it is empty. */
export function percentileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The nearest-rank `q`-quantile of unsorted values (sorts a copy). */
export function percentile(values: readonly number[], q: number): number {
  return percentileSorted([...values].sort((a, b) => a - b), q);
}
