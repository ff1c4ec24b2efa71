/** The self-contained HTML report: the summary table, each section's numbers, and inline SVG charts. */
import type { BenchResult } from './run.js';
import { stageDescription } from './stages.js';
import { summaryRows } from './summary.js';
import { escapeHtml, histogramChart, lineChart } from './svg.js';

type Cell = string | number | boolean | undefined | null;

function table(head: string[], rows: Cell[][]): string {
  const cell = (c: Cell): string => escapeHtml(c === undefined || c === null ? '' : typeof c === 'number' ? (Number.isFinite(c) ? String(Math.round(c * 1000) / 1000) : 'n/a') : String(c));
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function section(title: string, body: string): string {
  return body ? `<section><h2>${escapeHtml(title)}</h2>${body}</section>` : '';
}

export function renderReport(r: BenchResult): string {
  const parts: string[] = [];
  parts.push(section('Summary', table(['section', 'metric', 'value', 'baseline / target'], summaryRows(r).map((x) => [x.section, x.metric, x.value, x.against]))));

  if (r.limits) {
    parts.push(
      section(
        '1. Limits (same run)',
        table(['input', 'batch', 'fps', 'ms per run'], r.limits.session.map((s) => [s.imgsz, s.batch, s.fps, s.msPerBatch])) +
          table(['clip', 'source', 'letterbox to', 'frames', 'seconds', 'fps'], r.limits.decode.map((d) => [d.clip, d.source, d.imgsz, d.frames, d.seconds, d.fps])),
      ),
    );
  }
  if (r.analysis) {
    parts.push(
      section(
        '2. Recorded-video analysis',
        table(['clip', 'input', 'pipeline fps', 'session-alone fps (batch 4, mean of right before and right after)', 'ratio', 'target'], r.analysis.ratios.map((x) => [x.clip, x.imgsz, x.pipelineFps, `${x.sessionFps} (${x.sessionBeforeAfter.join(' / ')})`, x.ratio, `>= ${x.target}`])) +
          lineChart('Analysis fps over time', r.analysis.runs.map((a) => ({ name: `${a.clip} @ ${a.imgsz}`, points: a.series.map((p) => ({ x: p.t, y: p.fps })) })), 'seconds', 'frames per second'),
      ),
    );
  }
  if (r.peer) {
    const p = r.peer.runs[0];
    parts.push(
      section(
        '3. Node peer (ffmpeg MJPEG + sharp + onnxruntime-node on the main thread)',
        table(['clip', 'input', 'peer fps (mean of before / after ours)', 'ours fps', 'ours / peer', 'target'], [[p.clip, p.imgsz, `${r.peer.peerFps} (${r.peer.runs.map((x) => x.fps).join(' / ')})`, r.peer.ours.fps, r.peer.oursOverPeer, `>= ${r.peer.target}`]]) +
          lineChart('Peer fps over time', r.peer.runs.map((x, i) => ({ name: i === 0 ? 'peer, before ours' : 'peer, after ours', points: x.series.map((s) => ({ x: s.t, y: s.fps })) })), 'seconds', 'frames per second'),
      ),
    );
  }
  if (r.live) {
    const stageNames = [...new Set(r.live.runs.flatMap((l) => Object.keys(l.stages)))];
    let body = `<p>Stages: ${stageNames.map((k) => `<b>${k}</b>: ${escapeHtml(stageDescription(k))}`).join('; ')}. <b>serialisation</b> is the gateway's encoder timed by the benchmark on each result; <b>wsDelivery</b> is one client's receive time minus sendTs.</p>`;
    for (const l of r.live.runs) {
      const rows: Cell[][] = stageNames.map((k) => {
        const s = l.stages[k];
        return [k, s?.p50, s?.p95, s?.p99, s?.n];
      });
      rows.push(['serialisation', l.serialisation.p50, l.serialisation.p95, l.serialisation.p99, l.serialisation.n]);
      rows.push(['wsDelivery', l.wsDelivery.p50, l.wsDelivery.p95, l.wsDelivery.p99, l.wsDelivery.n]);
      rows.push(['captureToClient', l.captureToClient.p50, l.captureToClient.p95, l.captureToClient.p99, l.captureToClient.n]);
      body += `<h3>${l.streams} stream(s), ${escapeHtml(l.clip)}, ${l.seconds} s window, mean batch ${l.meanBatchSize}${l.missing.length ? `, missing: ${escapeHtml(l.missing.join(', '))}` : ''}</h3>`;
      body += table(['stage', 'p50 ms', 'p95 ms', 'p99 ms', 'samples'], rows);
      body += table(['stream', 'decoded fps', 'delivered fps', 'policy drops', 'staleness drops', 'client drops', 'capture->send p99'], l.perStream.map((s) => [s.id, s.decodedFps, s.deliveredFps, s.drops.policy, s.drops.staleness, s.drops.client, s.captureToSend.p99]));
      body += histogramChart(`Capture -> send latency, ${l.streams} stream(s)`, l.histogram, 'ms');
    }
    body += lineChart('Delivered fps over time (all streams)', r.live.runs.map((l) => ({ name: `${l.streams} stream(s)`, points: l.series.map((p) => ({ x: p.t, y: p.fps })) })), 'seconds', 'results per second');
    parts.push(section('4. Live latency', body));
  }
  if (r.capacity) {
    const c = r.capacity;
    parts.push(
      section(
        `5. Capacity: ${c.clip} at ${c.targetFps} fps per stream, p95 <= ${c.targetP95Ms} ms`,
        `<p>Capacity: <b>${c.capacity}${c.capped ? '+ (search stopped at its limit)' : ''}</b> streams.</p>` +
          table(['streams', 'p50 ms', 'p95 ms', 'p99 ms', 'slowest stream fps', 'mean fps', 'pass'], c.curve.map((p) => [p.streams, p.p50, p.p95, p.p99, p.minFps, p.meanFps, p.pass])) +
          lineChart('Capture -> send p95 by stream count', [{ name: 'p95', points: c.curve.map((p) => ({ x: p.streams, y: p.p95 })) }], 'streams', 'ms', { y: c.targetP95Ms, label: 'target' }) +
          lineChart('Slowest stream fps by stream count', [{ name: 'min fps', points: c.curve.map((p) => ({ x: p.streams, y: p.minFps })) }], 'streams', 'fps', { y: c.targetFps, label: 'target' }),
      ),
    );
  }
  if (r.fanout) {
    const fo = r.fanout;
    const byVideo = (video: boolean): { x: number; y: number }[] => fo.runs.filter((x) => x.video === video && !x.stuck).map((x) => ({ x: x.clients, y: x.delivery.p99 }));
    parts.push(
      section(
        `6. WebSocket fan-out (${fo.clip}, 320 model)`,
        `<p>Server with the stream running and no client: process CPU ${fo.idleCpuPercent}% of one core, main-thread event-loop utilisation ${(100 * fo.idleMainThreadUtilisation).toFixed(1)}%. Stuck-client comparison (${fo.stuckComparison.clients} clients): p99 ${fo.stuckComparison.p99Without} -> ${fo.stuckComparison.p99With} ms (${(100 * fo.stuckComparison.change).toFixed(1)}%).</p>` +
          table(
            ['clients', 'video', 'stuck', 'produced fps', 'delivered %', 'min delivered %', 'video %', 'delivery p50', 'p99', 'max', 'process CPU %', 'main thread %', 'stuck client buffered / drops'],
            fo.runs.map((x) => [x.clients, x.video, x.stuck, x.producedFps, 100 * x.deliveredRatio, 100 * x.minDeliveredRatio, 100 * x.videoRatio, x.delivery.p50, x.delivery.p99, x.delivery.max, x.serverCpuPercent, 100 * x.mainThreadUtilisation, x.stuckClient ? `${x.stuckClient.bufferedAmount} B / ${x.stuckClient.drops.video}+${x.stuckClient.drops.detections}` : '']),
          ) +
          lineChart('Delivery p99 by client count', [{ name: 'metadata', points: byVideo(false) }, { name: 'with video', points: byVideo(true) }], 'clients', 'ms'),
      ),
    );
  }
  if (r.http) {
    const h = r.http;
    parts.push(
      section(
        '7. HTTP POST /api/detect (autocannon)',
        h.available
          ? table(['batching', 'maxBatch', 'connections', 'requests', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors'], h.runs.map((x) => [x.batching, x.maxBatch, x.connections, x.requests, x.requestsPerSecond, x.latencyMs.p50, x.latencyMs.p90, x.latencyMs.p99, x.errors + x.non2xx]))
          : `<p>Not available: ${escapeHtml(h.reason)}</p>`,
      ),
    );
  }
  if (r.tracker) {
    const t = r.tracker;
    parts.push(section('8. Tracker (MOT15)', table(['sequence', 'HOTA', 'IDF1', 'MOTA'], [...t.sequences.map((s) => [s.name, s.hota, s.idf1, s.mota] as Cell[]), ['combined', t.hota, t.idf1, t.mota]]) + `<p>Update: median ${(t.medianUpdateMs * 1000).toFixed(1)} us, p95 ${(t.p95UpdateMs * 1000).toFixed(1)} us per frame over ${t.frames} frames.</p>`));
  }
  if (r.analytics) {
    const a = r.analytics;
    parts.push(section('9. Analytics stage', `<p>${a.tracks} tracks, ${a.zones} zones, ${a.lines} lines over ${a.frames} frames (${a.events} events): median ${(a.medianFrameMs * 1000).toFixed(1)} us, p95 ${(a.p95FrameMs * 1000).toFixed(1)} us per frame; target ${(a.targetMs * 1000).toFixed(0)} us (headroom ${a.headroom.toFixed(1)}x at p95).</p>`));
  }
  if (r.micro) {
    const m = r.micro;
    parts.push(section('Micro-benchmarks', table(['measure', 'p50 ms', 'p95 ms', 'p99 ms', 'samples'], [['preprocess 640x640', m.preprocess640], ['postprocess, 100 objects', m.postprocess100], ['tracking, 100 objects', m.tracking100], ['post + track, 100 objects', m.postTrack100]].map(([n, s]) => { const x = s as typeof m.preprocess640; return [n as string, x.p50, x.p95, x.p99, x.n]; }))));
  }
  if (r.render) {
    const { draw, analysis: a } = r.render;
    parts.push(
      section(
        '10. Rendered video (analyze --render)',
        table(['drawing one frame', 'CPU ms / frame', 'wall p50 ms', 'wall p95 ms'], [
          [`${draw.width}x${draw.height}, ${draw.objects} tracked objects, tags, trails, zone, line`, draw.boxes.cpuMsPerFrame, draw.boxes.wall.p50, draw.boxes.wall.p95],
          ['the same with a mask per object', draw.masks.cpuMsPerFrame, draw.masks.wall.p50, draw.masks.wall.p95],
        ]) +
          table(['clip', 'input', 'fps without (before / after)', 'fps with --render', 'ratio', 'video MB'], [[a.clip, a.imgsz, `${a.withoutFps[0]} / ${a.withoutFps[1]}`, a.withFps, a.ratio, a.videoMB]]),
      ),
    );
  }
  if (r.errors.length) parts.push(section('Failed sections', table(['section', 'reason'], r.errors.map((e) => [e.section, e.message]))));

  const m = r.meta;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>streamlens bench ${escapeHtml(m.startedAt)}</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}svg{display:block;margin:.5em 0 1.5em}.note{background:#fff8e1;padding:.6em 1em;border-left:4px solid #f0c000}</style>
</head><body>
<h1>streamlens bench${m.quick ? ' (quick)' : ''}</h1>
<p>${escapeHtml(m.startedAt)} · ${m.seconds.toFixed(0)} s · model ${escapeHtml(m.model)} · ${m.host.cpus} CPUs (${escapeHtml(m.host.cpuModel)}) · Node ${escapeHtml(m.host.node)} · ${escapeHtml(m.host.platform)}</p>
<p class="note">${escapeHtml(m.note)}</p>
${parts.join('\n')}
</body></html>
`;
}
