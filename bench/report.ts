/** The self-contained HTML report: the summary table, each section's numbers, and inline SVG charts. */
import type { Machine } from './machine.js';
import type { RemoteResult } from './remote.js';
import type { BenchResult } from './run.js';
import { stageDescription } from './stages.js';
import { summaryRows } from './summary.js';
import { escapeHtml, histogramChart, lineChart, type Series } from './svg.js';

type Cell = string | number | boolean | undefined | null;

function table(head: string[], rows: Cell[][]): string {
  const cell = (c: Cell): string => escapeHtml(c === undefined || c === null ? '' : typeof c === 'number' ? (Number.isFinite(c) ? String(Math.round(c * 1000) / 1000) : 'n/a') : String(c));
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function section(title: string, body: string): string {
  return body ? `<section><h2>${escapeHtml(title)}</h2>${body}</section>` : '';
}

function machineTable(m: Machine): string {
  return table(['machine', ''], [
    ['CPU', `${m.cpuModel}, ${m.cores} logical CPUs`],
    ['memory', `${m.memoryGB} GB`],
    ['GPUs', m.gpus.join('; ') || 'none found'],
    ['ONNX Runtime providers installed', m.providersInstalled.join(', ')],
    ['ONNX Runtime (onnxruntime-node)', m.onnxruntime],
    ['ffmpeg', m.ffmpeg],
    ['Node, OS', `${m.node}, ${m.os}`],
    ['load average (1 min) at start / end', `${m.loadAverage.start} / ${m.loadAverage.end ?? ''}`],
  ]);
}

/**
 * Throughput against latency, one point per batch size (labelled), one line per model and provider:
 * the session alone (latency = one run of the batch) and the pipeline on each clip (latency =
 * capture -> out of the chain). Bigger batches move right; the useful ones also move up.
 */
function batchCurves(r: BenchResult): string {
  const series: Series[] = [];
  const label = (b: number): string => `b${b}`;
  const groups = new Map<string, Series>();
  const push = (name: string, x: number, y: number, b: number): void => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    let s = groups.get(name);
    if (!s) groups.set(name, (s = { name, points: [] }));
    s.points.push({ x, y, label: label(b) });
  };
  for (const s of r.limits?.session ?? []) push(`${s.model}, ${s.provider}: session alone`, s.latency.p50, s.fps, s.batch);
  for (const a of r.analysis?.runs ?? []) push(`${a.model}, ${a.provider}: pipeline, ${a.clip}`, a.latency.p50, a.fps, a.batch);
  for (const s of groups.values()) {
    s.points.sort((a, b) => a.x - b.x);
    // A curve needs two batch sizes.
    if (s.points.length > 1) series.push(s);
  }
  if (!series.length) return '';
  return (
    '<p>Each point is one batch size (b1, b2, ...): x is the latency p50 (session alone: one run of the whole batch; pipeline: a frame from capture to the end of the stage chain), y the throughput. Where a bigger batch moves right but not up, it only adds latency.</p>' +
    lineChart('Throughput against latency by batch size', series, 'latency p50, ms (log scale)', 'frames per second', undefined, { logX: true })
  );
}

function serverSection(s: RemoteResult): string {
  const c = s.clock;
  const acc = c.accuracyMs === null || !Number.isFinite(c.accuracyMs) ? 'unknown (no upper bound)' : `+- ${c.accuracyMs} ms`;
  let body = `<p>streamlens ${escapeHtml(s.version)}; window ${s.seconds} s per measurement. Models: ${escapeHtml(s.models.map((m) => `${m.path} (${m.input}, ${m.activeProvider}, maxBatch ${m.maxBatch ?? '?'})`).join('; ') || 'none loaded')}.</p>`;
  body += `<p>Clock offset (server - this machine): <b>${c.estimateMs} ms ${acc}</b>, between ${c.lo} and ${c.hi} ms: ${c.lowerSamples} messages bound it from below (sent before received), ${c.upperSamples} re-subscriptions from above (${c.hits} aimed probes hit). End-to-end latencies below carry that accuracy.${c.inconsistent ? ' <b>The bounds crossed: a clock stepped during the run; latencies are not reliable.</b>' : ''}</p>`;
  body += table(
    ['stream', 'state', 'source', 'frames', 'delivered fps', 'server fpsOut', 'seq gaps', 'objects/frame', 'end-to-end p50 ms', 'p95', 'p99', 'server capture->send p50', 'delivery p50', 'server-reported p95'],
    s.streams.map((x) => [x.id, x.state, x.source, x.frames, x.deliveredFps, x.serverFpsOut, x.seqGaps, x.objectsPerFrame, x.endToEnd.p50, x.endToEnd.p95, x.endToEnd.p99, x.serverTotal.p50, x.delivery.p50, x.serverLatency?.p95]),
  );
  const labels = s.streams.filter((x) => Object.keys(x.labels).length);
  if (labels.length) body += table(['stream', 'detections per label in the window'], labels.map((x) => [x.id, Object.entries(x.labels).map(([k, v]) => `${k} ${v}`).join(', ')]));
  const fo = s.fanout;
  if (fo) {
    body += `<h3>Fan-out, ${fo.clients} clients (metadata)</h3>`;
    body += table(['clients', 'frames sent', 'delivered %', 'min delivered %', 'delivery p50 ms', 'p99', 'end-to-end p50 ms', 'p99', 'handshake retries'], [[fo.clients, fo.framesSent, 100 * fo.deliveredRatio, 100 * fo.minDeliveredRatio, fo.delivery.p50, fo.delivery.p99, fo.endToEnd.p50, fo.endToEnd.p99, fo.connectRetries]]);
  }
  if (s.detect) {
    body += `<h3>POST /api/detect (${s.detect.images} images${s.detect.model ? `, model ${escapeHtml(s.detect.model)}` : ''})</h3>`;
    body += table(['connections', 'requests', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors'], s.detect.runs.map((x) => [x.connections, x.requests, x.requestsPerSecond, x.latencyMs.p50, x.latencyMs.p90, x.latencyMs.p99, x.errors + x.non2xx]));
  }
  if (s.skipped.length) body += `<p>Not measured: ${s.skipped.map(escapeHtml).join('; ')}</p>`;
  return body;
}

export function renderReport(r: BenchResult): string {
  const parts: string[] = [];
  parts.push(section('Summary', table(['section', 'metric', 'value', 'baseline / target'], summaryRows(r).map((x) => [x.section, x.metric, x.value, x.against]))));

  if (r.limits) {
    parts.push(
      section(
        '1. Limits (same run)',
        table(['model', 'provider', 'input', 'batch', 'fps', 'ms per run', 'run p50 ms', 'p95 ms', 'p99 ms'], r.limits.session.map((s) => [s.model, s.provider, s.imgsz, s.batch, s.fps, s.msPerBatch, s.latency.p50, s.latency.p95, s.latency.p99])) +
          (r.limits.unavailable.length ? table(['model', 'provider', 'not available'], r.limits.unavailable.map((u) => [u.model, u.provider, u.reason])) : '') +
          (r.limits.skipped.length ? `<p>${r.limits.skipped.map(escapeHtml).join('<br>')}</p>` : '') +
          table(['clip', 'source', 'letterbox to', 'frames', 'seconds', 'fps'], r.limits.decode.map((d) => [d.clip, d.source, d.imgsz, d.frames, d.seconds, d.fps])),
      ),
    );
  }
  if (r.analysis) {
    parts.push(
      section(
        '2. Recorded-video analysis',
        table(
          ['clip', 'model', 'provider', 'batch', 'pipeline fps', 'latency p50 ms', 'p95 ms', 'session-alone fps (mean of right before and right after)', 'ratio', 'target'],
          r.analysis.ratios.map((x, i) => [x.clip, x.model, x.provider, x.batch, x.pipelineFps, r.analysis!.runs[i]?.latency.p50, r.analysis!.runs[i]?.latency.p95, `${x.sessionFps} (${x.sessionBeforeAfter.join(' / ')})`, x.ratio, `>= ${x.target}`]),
        ) +
          (r.analysis.unavailable.length ? table(['model', 'provider', 'not available'], r.analysis.unavailable.map((u) => [u.model, u.provider, u.reason])) : '') +
          lineChart('Analysis fps over time', r.analysis.runs.map((a) => ({ name: `${a.clip}, ${a.model}, b${a.batch}`, points: a.series.map((p) => ({ x: p.t, y: p.fps })) })), 'seconds', 'frames per second'),
      ),
    );
  }
  const curves = batchCurves(r);
  if (curves) parts.push(section('Batch size: throughput against latency', curves));
  if (r.modelRatios?.length) {
    parts.push(
      section(
        `Models side by side (ratios to ${r.modelRatios[0].baseline}, measured back to back in this run)`,
        table(['model', 'measured', 'provider', 'batch', 'fps', 'baseline fps', 'fps ratio', 'latency p50 ms', 'baseline p50 ms'], r.modelRatios.map((m) => [m.model, m.kind === 'session' ? 'session alone' : `pipeline, ${m.clip}`, m.provider, m.batch, m.fps, m.baselineFps, m.ratio, m.latencyP50, m.baselineLatencyP50])),
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
        `5. Capacity: ${c.clip} at ${c.targetFps} fps per stream, p95 <= ${c.targetP95Ms} ms (${c.model}, ${c.provider})`,
        `<p>Capacity: <b>${c.capacity}${c.capped ? '+ (search stopped at its limit)' : ''}</b> streams.</p>` +
          table(['streams', 'p50 ms', 'p95 ms', 'p99 ms', 'slowest stream fps', 'mean fps', 'pass'], c.curve.map((p) => [p.streams, p.p50, p.p95, p.p99, p.minFps, p.meanFps, p.pass])) +
          lineChart('Capture -> send p95 by stream count', [{ name: 'p95', points: c.curve.map((p) => ({ x: p.streams, y: p.p95 })) }], 'streams', 'ms', { y: c.targetP95Ms, label: 'target' }) +
          lineChart('Slowest stream fps by stream count', [{ name: 'min fps', points: c.curve.map((p) => ({ x: p.streams, y: p.minFps })) }], 'streams', 'fps', { y: c.targetFps, label: 'target' }),
      ),
    );
  }
  if (r.capacityStill) {
    const c = r.capacityStill;
    const runs = [
      { name: 'without', x: c.without },
      { name: 'with gating', x: c.with },
      { name: 'without, after', x: c.withoutAfter },
    ];
    const n = (x: typeof c.with): string => `${x.capacity}${x.capped ? '+' : ''}`;
    parts.push(
      section(
        `5b. Capacity without, with and again without motion gating: ${c.clip}`,
        `<p>Capacity without gating <b>${n(c.without)}</b> (after: <b>${n(c.withoutAfter)}</b>), with <b>${n(c.with)}</b> streams (${c.ratio} x the larger without; target ${c.target} x), same targets (${c.with.targetFps} fps per stream, p95 <= ${c.with.targetP95Ms} ms).</p>` +
          table(['gating', 'streams', 'p50 ms', 'p95 ms', 'p99 ms', 'slowest stream fps', 'detector share', 'pass'], runs.flatMap(({ name, x }) => x.curve.map((p): Cell[] => [name, p.streams, p.p50, p.p95, p.p99, p.minFps, p.inferred, p.pass]))) +
          lineChart('Capture -> send p95 by stream count', runs.map(({ name, x }) => ({ name, points: x.curve.map((p) => ({ x: p.streams, y: p.p95 })) })), 'streams', 'ms', { y: c.with.targetP95Ms, label: 'target' }) +
          (c.cpu
            ? `<p>By CPU time (the clip once through a server at ${c.with.targetFps} fps, no frame dropped; the server process with its inference threads and the camera's ffmpeg): ${c.cpu.cores} cores hold <b>${c.cpu.camerasWithout}</b> cameras without gating, <b>${c.cpu.camerasWith}</b> with (${c.cpu.ratio} x).${c.cpu.decodeCeiling === undefined ? '' : ` Gating never skips decoding (the motion estimate needs every frame): if a gated camera cost nothing but its ffmpeg, the ratio would be ${c.cpu.decodeCeiling} x, the most gating can give this camera on this machine.`}</p>` +
              table(
                ['gating', 'results', 'whole clip', 'detector share', 'CPU ms per result', 'of it ffmpeg', 'of it server', 'cores per camera at target fps'],
                (
                  [
                    ['without', c.cpu.without],
                    ['with gating', c.cpu.with],
                    ['without, after', c.cpu.withoutAfter],
                  ] as const
                ).map(([name, y]): Cell[] => [name, y.results, y.complete, y.inferred, y.cpuMsPerResult, y.ffmpegMsPerResult, y.serverMsPerResult, y.coresPerCamera]),
              )
            : ''),
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
    const { draw, analysis: a, stages: st } = r.render;
    parts.push(
      section(
        '10. Rendered video (analyze --render)',
        table(['drawing one frame', 'CPU ms / frame', 'wall p50 ms', 'wall p95 ms'], [
          [`${draw.width}x${draw.height}, ${draw.objects} tracked objects, tags, trails, zone, line`, draw.boxes.cpuMsPerFrame, draw.boxes.wall.p50, draw.boxes.wall.p95],
          ['the same with a mask per object', draw.masks.cpuMsPerFrame, draw.masks.wall.p50, draw.masks.wall.p95],
        ]) +
          table(
            ['clip', 'input', 'fps without (before / after)', 'fps with --render', 'ratio', 'CPU ms/frame without (before / after)', 'with', 'added by --render', 'video MB'],
            a.map((x) => [x.clip, x.imgsz, `${x.withoutFps[0]} / ${x.withoutFps[1]}`, x.withFps, x.ratio, `${x.withoutCpuMs[0]} / ${x.withoutCpuMs[1]}`, x.withCpuMs, x.renderCpuMs, x.videoMB]),
          ) +
          table(['render path part, per 1080p frame', 'CPU ms', 'video MB', 'PSNR Y dB'], [
            [`plain decode of the clip (for scale)`, st.decodeMs, '', ''],
            ['decoder source-frame output, yuv420p', st.decoderOutputMs.yuv420p, '', ''],
            ['decoder source-frame output, rgb24 (the replaced RGB path)', st.decoderOutputMs.rgb24, '', ''],
            ...st.encoders.map((e) => [`x264 ${e.preset}, ${e.format} frames${e.format === 'rgb24' ? ' (the replaced RGB path, with its conversion)' : ''}`, e.cpuMs, e.videoMB, e.psnr]),
          ]),
      ),
    );
  }
  if (r.motion) {
    const { cost, analysis: a, recall, regions } = r.motion;
    const counts = (x: Partial<Record<string, number>>): string => Object.entries(x).map(([k, v]) => `${k} ${v}`).join(', ');
    parts.push(
      section(
        '11. Motion gating',
        table(['per frame', 'CPU ms', 'wall p50 ms', 'wall p95 ms', 'samples'], [
          [`motion image, ${cost.clip} -> ${cost.imgsz}`, cost.imageCpuMsPerFrame, cost.imageMs.p50, cost.imageMs.p95, cost.imageMs.n],
          ['motion estimate', cost.estimateCpuMsPerFrame, cost.estimateMs.p50, cost.estimateMs.p95, cost.estimateMs.n],
        ]) +
          `<p>ffmpeg decoding and letterboxing the same clip: ${cost.ffmpeg.cpuMsPerFrame} ms CPU per frame; a second, grey 160 px output of it (the other way to a motion image) adds ${cost.ffmpeg.greyExtraCpuMsPerFrame} ms CPU per frame.</p>` +
          table(['clip', 'model', 'fps every frame (before / after)', 'fps gated', 'ratio', 'target', 'detector on', 'ran', 'skipped'], [
            [a.clip, a.model, `${a.everyFrameFps[0]} / ${a.everyFrameFps[1]}`, a.gated.fps, a.ratio, a.target, `${a.gated.inferred} / ${a.gated.frames}`, counts(a.gated.ran), counts(a.gated.skipped)],
          ]) +
          (recall ? table(['recall, ' + recall.model, 'every frame', 'gated', 'still object (gated)', 'detector share (gated)'], [['found where visible', recall.everyFrame, recall.gated, recall.stillObject, recall.inferredFraction]]) : '') +
          (regions
            ? table([`regions: ${regions.clip}, ${regions.model}, detector on every frame`, 'recall', 'fps'], [
                ['whole frame', regions.whole.recall, regions.whole.fps],
                ['with windows around motion', regions.regions.recall, regions.regions.fps],
              ])
            : ''),
      ),
    );
  }
  if (r.server) parts.push(section(`Running server: ${r.server.url}`, serverSection(r.server)));
  if (r.errors.length) parts.push(section('Failed sections', table(['section', 'reason'], r.errors.map((e) => [e.section, e.message]))));

  const m = r.meta;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>streamlens bench ${escapeHtml(m.startedAt)}</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}svg{display:block;margin:.5em 0 1.5em}.note{background:#fff8e1;padding:.6em 1em;border-left:4px solid #f0c000}</style>
</head><body>
<h1>streamlens bench${m.quick ? ' (quick)' : ''}</h1>
<p>${escapeHtml(m.startedAt)} · ${m.seconds.toFixed(0)} s${m.models.length ? ` · models ${escapeHtml(m.models.map((x) => x.label).join(', '))} · providers ${escapeHtml(m.providers.join(', '))}` : ''}${m.noise !== undefined ? ` · run noise ${(100 * m.noise).toFixed(1)}%` : ''}</p>
${machineTable(m.machine)}
<p class="note">${escapeHtml(m.note)}</p>
${parts.join('\n')}
</body></html>
`;
}
