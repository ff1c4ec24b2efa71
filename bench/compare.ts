/**
 * `bench compare OLD.json NEW.json`: every metric both runs measured (bench/metrics.ts), its
 * change, and a verdict against the runs' own noise. A change is beyond the noise when it exceeds
 * twice the larger of the two runs' measured spreads for that metric (the run-wide noise when the
 * metric has none of its own). A worse change beyond the noise and at least `threshold` is a
 * regression, and makes the exit status 1; times also have to change by at least `minMs`.
 */
import { machineDifferences } from './machine.js';
import { metricsOf, type Metric } from './metrics.js';
import type { BenchResult } from './run.js';

export type Verdict = 'REGRESSION' | 'worse' | 'improved' | '';

export interface MetricChange {
  key: string;
  section: string;
  unit: Metric['unit'];
  better: Metric['better'];
  old: number;
  new: number;
  /** (new - old) / |old|; NaN when old is 0. */
  change: number;
  /** The larger of the two runs' relative noise for this metric; NaN when neither run measured one. */
  noise: number;
  /** '' = within the noise. */
  verdict: Verdict;
}

export interface Comparison {
  changes: MetricChange[];
  onlyOld: string[];
  onlyNew: string[];
  machine: string[];
  regressions: number;
}

export interface CompareOptions {
  /** Smallest relative worsening that fails (0.1 = 10 %). */
  threshold: number;
  /** Smallest change of a time (ms) that fails. */
  minMs: number;
}

export const DEFAULT_COMPARE: CompareOptions = { threshold: 0.1, minMs: 1 };

/** How many of the noise's widths a change must exceed to count. */
const NOISE_WIDTHS = 2;

export function compareResults(a: BenchResult, b: BenchResult, o: CompareOptions = DEFAULT_COMPARE): Comparison {
  const before = new Map(metricsOf(a).map((m) => [m.key, m]));
  const after = new Map(metricsOf(b).map((m) => [m.key, m]));
  const changes: MetricChange[] = [];
  for (const [key, x] of before) {
    const y = after.get(key);
    if (!y) continue;
    const noises = [x.noise ?? a.meta.noise, y.noise ?? b.meta.noise].filter((v): v is number => v !== undefined && Number.isFinite(v));
    const noise = noises.length ? Math.max(...noises) : NaN;
    const change = x.value !== 0 ? (y.value - x.value) / Math.abs(x.value) : y.value === 0 ? 0 : NaN;
    const worse = x.better === 'higher' ? y.value < x.value : y.value > x.value;
    // Without a measured noise, only the threshold tells a change from noise.
    const beyond = Number.isNaN(change) || Math.abs(change) > (Number.isNaN(noise) ? o.threshold : NOISE_WIDTHS * noise);
    const big = (Number.isNaN(change) || Math.abs(change) >= o.threshold) && (x.unit !== 'ms' || Math.abs(y.value - x.value) >= o.minMs);
    const verdict: Verdict = y.value === x.value || !beyond ? '' : !worse ? 'improved' : big ? 'REGRESSION' : 'worse';
    changes.push({ key, section: x.section, unit: x.unit, better: x.better, old: x.value, new: y.value, change, noise, verdict });
  }
  return {
    changes,
    onlyOld: [...before.keys()].filter((k) => !after.has(k)),
    onlyNew: [...after.keys()].filter((k) => !before.has(k)),
    machine: machineDifferences(a.meta.machine ?? {}, b.meta.machine ?? {}),
    regressions: changes.filter((c) => c.verdict === 'REGRESSION').length,
  };
}

const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4));
const pct = (v: number): string => (Number.isNaN(v) ? 'n/a' : `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%`);

export function formatComparison(c: Comparison, names: [string, string], o: CompareOptions = DEFAULT_COMPARE): string {
  const rows = c.changes.map((x) => [x.key, `${num(x.old)} ${x.unit}`, `${num(x.new)} ${x.unit}`, pct(x.change), Number.isNaN(x.noise) ? '?' : `+-${(100 * x.noise).toFixed(1)}%`, x.verdict]);
  const head = ['metric', 'old', 'new', 'change', 'noise', 'verdict'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ').trimEnd();
  const out = [`bench compare: old ${names[0]}`, `               new ${names[1]}`];
  if (c.machine.length) out.push('The machines differ (absolute numbers are not comparable across them):', ...c.machine.map((m) => `  ${m}`));
  out.push('', line(head), ...rows.map(line), '');
  out.push("noise: the larger of the two runs' measured spread for the metric ('?': not measured, the threshold alone decides).");
  if (c.onlyOld.length || c.onlyNew.length) out.push(`Measured in one run only: ${c.onlyOld.length} in old, ${c.onlyNew.length} in new (not compared).`);
  const improved = c.changes.filter((x) => x.verdict === 'improved').length;
  const worse = c.changes.filter((x) => x.verdict === 'worse').length;
  out.push(
    `${c.changes.length} metrics compared: ${c.regressions} regression(s) (worse beyond ${NOISE_WIDTHS} x the measured noise and by at least ${(100 * o.threshold).toFixed(0)}%${o.minMs > 0 ? `, times by at least ${o.minMs} ms` : ''}), ${worse} worse below that, ${improved} improved.`,
  );
  return out.join('\n');
}
