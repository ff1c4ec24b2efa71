/** Hand-written inline SVG charts for the self-contained HTML report (no chart library). */
import type { Histogram } from './stats.js';

export interface Series {
  name: string;
  /** A label is written next to its point (e.g. the batch size of a throughput/latency point). */
  points: { x: number; y: number; label?: string }[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const W = 640;
const H = 260;
const M = { left: 56, right: 16, top: 28, bottom: 40 };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Round axis maximum: 1, 2, 2.5 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** x-axis tick labels: at `position` (0..1 along the axis). Default: five, linear from xMin to xMax. */
type XTicks = { position: number; label: string }[];

function frame(title: string, xLabel: string, yLabel: string, xMax: number, yMax: number, body: string, xMin = 0, xTicks?: XTicks): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = M.top + ph - (i / 4) * ph;
    ticks.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#eee"/><text x="${M.left - 6}" y="${y + 4}" text-anchor="end">${fmt((i / 4) * yMax)}</text>`);
  }
  for (const t of xTicks ?? [0, 1, 2, 3, 4].map((i) => ({ position: i / 4, label: fmt(xMin + (i / 4) * (xMax - xMin)) }))) {
    ticks.push(`<text x="${M.left + t.position * pw}" y="${H - M.bottom + 16}" text-anchor="middle">${t.label}</text>`);
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">` +
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeHtml(title)}</text>` +
    ticks.join('') +
    `<line x1="${M.left}" y1="${M.top + ph}" x2="${W - M.right}" y2="${M.top + ph}" stroke="#333"/>` +
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="#333"/>` +
    `<text x="${M.left + pw / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>` +
    `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>` +
    body +
    `</svg>`
  );
}

/**
 * Lines (with dots) for each series; an optional horizontal reference line (e.g. a target).
 * `logX`: a logarithmic x axis over whole decades (points at x <= 0 are left out), for values that
 * span orders of magnitude such as latencies of different batch sizes and models.
 */
export function lineChart(title: string, series: Series[], xLabel: string, yLabel: string, reference?: { y: number; label: string }, options: { logX?: boolean } = {}): string {
  if (options.logX) series = series.map((s) => ({ ...s, points: s.points.filter((p) => p.x > 0) }));
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return '';
  const xs = all.map((p) => p.x);
  const decades = options.logX ? [Math.floor(Math.log10(Math.min(...xs))), Math.ceil(Math.log10(Math.max(...xs)))] : undefined;
  if (decades && decades[1] === decades[0]) decades[1]++;
  const xMin = decades ? 10 ** decades[0] : Math.min(0, ...xs);
  const xMax = decades ? 10 ** decades[1] : niceMax(Math.max(...xs));
  const yMax = niceMax(Math.max(...all.map((p) => p.y), reference?.y ?? 0) * 1.05);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const X = decades
    ? (x: number): number => M.left + ((Math.log10(x) - decades[0]) / (decades[1] - decades[0])) * pw
    : (x: number): number => M.left + ((x - xMin) / (xMax - xMin || 1)) * pw;
  const xTicks = decades
    ? Array.from({ length: decades[1] - decades[0] + 1 }, (_, i) => ({ position: i / (decades[1] - decades[0]), label: String(10 ** (decades[0] + i)) }))
    : undefined;
  const Y = (y: number): number => M.top + ph - (y / yMax) * ph;
  let body = '';
  if (reference) {
    body += `<line x1="${M.left}" y1="${Y(reference.y)}" x2="${W - M.right}" y2="${Y(reference.y)}" stroke="#999" stroke-dasharray="4 3"/>`;
    body += `<text x="${W - M.right - 4}" y="${Y(reference.y) - 4}" text-anchor="end" fill="#666">${escapeHtml(reference.label)}</text>`;
  }
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join('');
    body += `<path d="${d}" fill="none" stroke="${c}" stroke-width="1.5"/>`;
    if (s.points.length <= 40) body += s.points.map((p) => `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="2.5" fill="${c}"/>`).join('');
    body += s.points.filter((p) => p.label).map((p) => `<text x="${(X(p.x) + 4).toFixed(1)}" y="${(Y(p.y) - 4).toFixed(1)}" fill="${c}">${escapeHtml(p.label!)}</text>`).join('');
    body += `<rect x="${M.left + 8}" y="${M.top + 4 + i * 14}" width="10" height="3" fill="${c}"/><text x="${M.left + 22}" y="${M.top + 9 + i * 14}">${escapeHtml(s.name)}</text>`;
  });
  return frame(title, xLabel, yLabel, xMax, yMax, body, xMin, xTicks);
}

export function histogramChart(title: string, h: Histogram, xLabel: string): string {
  if (h.counts.length === 0) return '';
  const yMax = niceMax(Math.max(...h.counts));
  const lo = h.edges[0];
  const xMax = lo + h.width * h.counts.length;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const bw = pw / h.counts.length;
  const bars = h.counts
    .map((c, i) => {
      const bh = (c / yMax) * ph;
      return `<rect x="${(M.left + i * bw + 0.5).toFixed(1)}" y="${(M.top + ph - bh).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="#1f77b4"><title>${fmt(h.edges[i])}-${fmt(h.edges[i] + h.width)}: ${c}</title></rect>`;
    })
    .join('');
  return frame(title, xLabel, 'frames', xMax, yMax, bars, lo);
}
