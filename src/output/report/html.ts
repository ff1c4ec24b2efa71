/**
 * The analysis report: one self-contained HTML file (inline CSS, SVG charts, JPEG thumbnails as
 * data: URIs, a few lines of script to seek the rendered video). Pure: data in, text out.
 */
import type { AnalyticsCounts, AnalyticsEvent } from '../../types.js';
import { classRgb, cssHex } from '../render/palette.js';
import { escapeHtml, lineChart, type ChartSeries } from './chart.js';
import type { CollectedReport, TrackSummary } from './collector.js';

export interface ReportInput {
  /** The input as given (path or URL, passwords already hidden). */
  source: string;
  width: number;
  height: number;
  fps: number;
  codec: string;
  duration?: number;
  frameCount?: number;
  /** ffprobe's color_space: how the source frames' YUV turns into the thumbnails' RGB. */
  colorSpace?: string;
}

export interface ReportMeta {
  input: ReportInput;
  model: string;
  /** Settings worth showing (confidence, classes, tracker on/off, ...). */
  settings: Record<string, string | number | boolean>;
  /** The rendered video, as a path relative to the report, when both are produced. */
  video?: string;
  /** When the analysis started (ISO 8601). */
  startedAt: string;
}

/** Classes drawn in the chart (the most frequent); the table lists all. */
const MAX_CHART_CLASSES = 12;
/** Chart points per series at most: longer videos are averaged into wider bins. */
const MAX_CHART_POINTS = 600;

export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.max(0, seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = (s % 60).toFixed(1).padStart(4, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${String(m).padStart(2, '0')}:${rest}`;
}

/**
 * Averages per-second `values` into at most `max` bins of whole seconds; each bin is placed at its
 * middle (value i covers second [i, i + 1)).
 */
export function downsample(values: readonly number[], max: number): Array<{ x: number; y: number }> {
  const bin = Math.max(1, Math.ceil(values.length / max));
  const out: Array<{ x: number; y: number }> = [];
  for (let i = 0; i < values.length; i += bin) {
    const slice = values.slice(i, i + bin);
    out.push({ x: i + slice.length / 2, y: slice.reduce((a, b) => a + b, 0) / slice.length });
  }
  return out;
}

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const num = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

function swatch(cls: number): string {
  return `<span class="swatch" style="background:${cssHex(classRgb(cls))}"></span>`;
}

/** A time that seeks the embedded video when there is one. */
function timeLink(pts: number, video: string | undefined): string {
  const t = formatTime(pts);
  if (!video) return t;
  const at = (Math.round(pts * 1000) / 1000).toString();
  return `<a class="seek" href="${escapeHtml(video)}#t=${at}" data-t="${at}">${t}</a>`;
}

function inputSection(meta: ReportMeta, data: CollectedReport): string {
  const i = meta.input;
  const rows: Array<[string, string]> = [
    ['input', escapeHtml(i.source)],
    ['resolution', `${i.width} x ${i.height}`],
    ['frame rate', i.fps > 0 ? `${num(i.fps, 3).replace(/\.?0+$/, '')} fps` : 'unknown'],
    ['codec', escapeHtml(i.codec)],
    ['duration', i.duration !== undefined ? formatTime(i.duration) : formatTime(data.processing.videoSeconds)],
    ['frames analysed', String(data.processing.frames) + (i.frameCount !== undefined ? ` (container says ${i.frameCount})` : '')],
    ['model', escapeHtml(meta.model)],
    ...Object.entries(meta.settings).map(([k, v]): [string, string] => [escapeHtml(k), escapeHtml(String(v))]),
    ['started', escapeHtml(meta.startedAt)],
  ];
  return `<section id="input"><h2>Input</h2>${table(['property', 'value'], rows.map(([k, v]) => [k, v]), 'props')}</section>`;
}

function speedSection(data: CollectedReport): string {
  const p = data.processing;
  const realtime = p.seconds > 0 ? p.videoSeconds / p.seconds : 0;
  const chart = lineChart([{ name: 'fps', colour: '#1f77b4', points: p.fpsSeries.map((s) => ({ x: s.t, y: s.fps })) }], {
    title: 'Processing speed',
    xLabel: 'wall-clock seconds',
    yLabel: 'frames per second',
    height: 200,
  });
  return (
    `<section id="speed"><h2>Processing speed</h2>` +
    `<p class="big"><b id="fps">${num(p.fps)}</b> frames per second, ${num(realtime, 2)}x real time ` +
    `(${p.frames} frames in ${num(p.seconds, 2)} s)</p>${p.fpsSeries.length > 1 ? chart : ''}</section>`
  );
}

function detectionsSection(data: CollectedReport): string {
  if (data.classes.length === 0) return `<section id="detections"><h2>Detections</h2><p>No detections.</p></section>`;
  const shown = [...data.classes].sort((a, b) => b.total - a.total).slice(0, MAX_CHART_CLASSES);
  const series: ChartSeries[] = shown.map((c) => ({
    name: c.label,
    colour: cssHex(classRgb(c.class)),
    points: downsample(c.perSecond, MAX_CHART_POINTS),
  }));
  const chart = lineChart(series, { title: 'Detections per frame, by class', xLabel: 'video seconds', yLabel: 'mean detections per frame' });
  const note = data.classes.length > shown.length ? `<p>The chart shows the ${shown.length} most frequent of ${data.classes.length} classes.</p>` : '';
  const rows = data.classes.map((c) => [`${swatch(c.class)}${escapeHtml(c.label)}`, String(c.class), String(c.total), String(c.peak)]);
  return `<section id="detections"><h2>Detections</h2>${chart}${note}${table(['class', 'id', 'detections', 'most on one frame'], rows)}</section>`;
}

function thumb(t: TrackSummary): string {
  if (!t.thumbnail) return '';
  return `<img class="thumb" alt="track ${t.id}" src="data:image/jpeg;base64,${Buffer.from(t.thumbnail).toString('base64')}">`;
}

function tracksSection(data: CollectedReport, video: string | undefined): string {
  if (!data.tracked) return `<section id="tracks"><h2>Tracks</h2><p>Tracking was off: no tracks.</p></section>`;
  const rows = data.tracks.map((t) => [
    thumb(t),
    `#${t.id}`,
    `${swatch(t.class)}${escapeHtml(t.label)}`,
    timeLink(t.firstPts, video),
    timeLink(t.lastPts, video),
    num(t.lastPts - t.firstPts, 1) + ' s',
    String(t.frames),
    `${num(t.bestScore, 2)} @ ${timeLink(t.bestPts, video)}`,
  ]);
  return `<section id="tracks"><h2>Tracks (${data.tracks.length})</h2>${table(['best detection', 'track', 'label', 'first seen', 'last seen', 'duration', 'frames', 'best score'], rows, 'tracks')}</section>`;
}

function perLabel(counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  return entries.length ? entries.map(([l, n]) => `${escapeHtml(l)} ${n}`).join(', ') : '0';
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function analyticsSection(counts: AnalyticsCounts | undefined, events: AnalyticsEvent[], omitted: number, video: string | undefined): string {
  if (!counts && events.length === 0) return '';
  let body = '';
  const lines = Object.entries(counts?.lines ?? {});
  if (lines.length) {
    body += `<h3>Lines</h3>` + table(['line', 'in', 'out', 'in by label', 'out by label'], lines.map(([name, c]) => [escapeHtml(name), String(total(c.in)), String(total(c.out)), perLabel(c.in), perLabel(c.out)]), 'counts');
  }
  const zoneNames = new Set([...Object.keys(counts?.zones ?? {}), ...events.filter((e) => e.type !== 'line_cross').map((e) => (e as { zone: string }).zone)]);
  if (zoneNames.size) {
    const rows = [...zoneNames].map((name) => {
      const of = (type: AnalyticsEvent['type']): number => events.filter((e) => e.type === type && 'zone' in e && e.zone === name).length;
      return [escapeHtml(name), String(of('zone_enter')), String(of('zone_exit')), String(of('zone_loiter')), perLabel(counts?.zones[name] ?? {})];
    });
    body += `<h3>Zones</h3>` + table(['zone', 'entered', 'left', 'loitered', 'inside at the end'], rows, 'counts');
  }
  if (events.length) {
    const rows = events.map((e) => [
      timeLink(e.pts, video),
      escapeHtml(e.type),
      escapeHtml(e.type === 'line_cross' ? `${e.line} (${e.direction})` : e.zone),
      `#${e.track_id}`,
      `${swatch(e.class)}${escapeHtml(e.label)}`,
      e.type !== 'line_cross' && e.dwell !== undefined ? `${num(e.dwell, 1)} s` : '',
    ]);
    body += `<h3>Events (${events.length + omitted})</h3>` + table(['time', 'event', 'where', 'track', 'label', 'dwell'], rows, 'events');
    if (omitted) body += `<p>${omitted} later events are not listed.</p>`;
  }
  return `<section id="analytics"><h2>Lines and zones</h2>${body}</section>`;
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#222}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle}
th{background:#f6f6f6;font-weight:600}.props td:first-child{color:#555}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.thumb{display:block;height:72px;width:auto;max-width:140px;object-fit:contain;border-radius:3px}
.big{font-size:16px}video{max-width:100%;background:#000;margin-top:8px}
.sub{color:#666;margin:0}
`;

/** Seeks the embedded player instead of leaving the page when a time link is clicked. */
const SCRIPT = `
document.addEventListener('click', (e) => {
  const a = e.target.closest('a.seek');
  const v = document.getElementById('video');
  if (!a || !v) return;
  e.preventDefault();
  v.currentTime = Number(a.dataset.t);
  v.scrollIntoView({ behavior: 'smooth', block: 'center' });
  v.play().catch(() => {});
});
`;

export function renderReport(meta: ReportMeta, data: CollectedReport): string {
  const title = `streamlens analysis: ${meta.input.source}`;
  const video = meta.video
    ? `<section id="rendered"><h2>Rendered video</h2><video id="video" src="${escapeHtml(meta.video)}" controls preload="auto"></video></section>`
    : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>` +
    `<h1>${escapeHtml(meta.input.source.split(/[\\/]/).pop() || meta.input.source)}</h1><p class="sub">${escapeHtml(title)}</p>` +
    inputSection(meta, data) +
    speedSection(data) +
    detectionsSection(data) +
    video +
    tracksSection(data, meta.video) +
    analyticsSection(data.counts, data.events, data.eventsOmitted, meta.video) +
    `<script>${SCRIPT}</script></body></html>\n`
  );
}
