/** A small inline-SVG line chart for the analysis report (no chart library, no script). */

export interface ChartSeries {
  name: string;
  /** CSS colour. */
  colour: string;
  points: ReadonlyArray<{ x: number; y: number }>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const M = { left: 52, right: 150, top: 28, bottom: 40 };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Round axis maximum: 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5]) if (m * p >= v - 1e-9 * p) return m * p;
  return 10 * p;
}

function tick(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v * 100) / 100);
}

/** One polyline per series (with a legend at the right); empty string when there is no point. */
export function lineChart(series: readonly ChartSeries[], o: ChartOptions): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return '';
  const W = o.width ?? 860;
  const H = o.height ?? 280;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xMax = niceMax(Math.max(...all.map((p) => p.x)));
  const yMax = niceMax(Math.max(...all.map((p) => p.y)));
  const sx = (x: number): number => M.left + (x / xMax) * pw;
  const sy = (y: number): number => M.top + ph - (y / yMax) * ph;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = M.top + ph - (i / 4) * ph;
    const x = M.left + (i / 4) * pw;
    parts.push(
      `<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#e5e5e5"/>` +
        `<text x="${M.left - 6}" y="${y + 4}" text-anchor="end">${tick((i / 4) * yMax)}</text>` +
        `<text x="${x}" y="${M.top + ph + 16}" text-anchor="middle">${tick((i / 4) * xMax)}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}" stroke="#333"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="#333"/>`,
  );
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="series" data-series="${escapeHtml(s.name)}" fill="none" stroke="${s.colour}" stroke-width="1.8" points="${d}"/>`);
    const ly = M.top + 6 + i * 16;
    parts.push(
      `<rect x="${M.left + pw + 14}" y="${ly - 8}" width="12" height="12" fill="${s.colour}"/>` +
        `<text x="${M.left + pw + 32}" y="${ly + 2}">${escapeHtml(s.name)}</text>`,
    );
  });
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="11">` +
    `<text x="${M.left + pw / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${escapeHtml(o.title)}</text>` +
    parts.join('') +
    `<text x="${M.left + pw / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(o.xLabel)}</text>` +
    `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(o.yLabel)}</text>` +
    `</svg>`
  );
}
