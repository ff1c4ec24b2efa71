/** The printed summary: one row per measured number, with its baseline or target where one applies. */
import type { BenchResult } from './run.js';

export interface SummaryRow {
  section: string;
  metric: string;
  value: string;
  /** Target or baseline, and whether it is met. */
  against: string;
}

const f = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
const mark = (ok: boolean): string => (ok ? 'met' : 'NOT met');

export function summaryRows(r: BenchResult): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const add = (section: string, metric: string, value: string, against = ''): void => {
    rows.push({ section, metric, value, against });
  };
  if (r.micro) {
    const m = r.micro;
    add('micro', 'preprocess 640x640 (p50 / p95)', `${f(m.preprocess640.p50, 2)} / ${f(m.preprocess640.p95, 2)} ms`, `target <= ${m.targets.preprocessMs} ms: ${mark(m.preprocess640.p50 <= m.targets.preprocessMs)}`);
    add('micro', 'post + track, 100 objects (p50 / p95)', `${f(m.postTrack100.p50, 3)} / ${f(m.postTrack100.p95, 3)} ms`, `target <= ${m.targets.postTrackMs} ms: ${mark(m.postTrack100.p50 <= m.targets.postTrackMs)}`);
    add('micro', '  of which postprocess / tracking (p50)', `${f(m.postprocess100.p50, 3)} / ${f(m.tracking100.p50, 3)} ms`);
  }
  if (r.limits) {
    for (const s of r.limits.session) add('limits', `session alone ${s.model}, ${s.provider}, batch ${s.batch}`, `${f(s.fps)} fps`, `run p50/p95 ${f(s.latency.p50)} / ${f(s.latency.p95)} ms`);
    for (const u of r.limits.unavailable) add('limits', `${u.model} on ${u.provider}`, 'not available', u.reason);
    for (const d of r.limits.decode) add('limits', `ffmpeg decode+letterbox ${d.clip} -> ${d.imgsz}`, `${f(d.fps)} fps`, `${d.frames} frames, ${d.source}`);
  }
  if (r.analysis) {
    const runs = r.analysis.runs;
    for (const [i, x] of r.analysis.ratios.entries()) {
      const [before, after] = x.sessionBeforeAfter;
      const lat = runs[i]?.latency;
      add('analysis', `${x.clip}, ${x.model}, ${x.provider}, batch ${x.batch}`, `${f(x.pipelineFps)} fps`, `latency p50/p95 ${f(lat?.p50)} / ${f(lat?.p95)} ms; ${f(x.ratio, 2)} x session (${f(x.sessionFps)}: ${f(before)} before, ${f(after)} after); target >= ${x.target}: ${mark(x.ratio >= x.target)}`);
    }
    for (const u of r.analysis.unavailable) add('analysis', `${u.model} on ${u.provider}`, 'not available', u.reason);
  }
  for (const m of r.modelRatios ?? []) {
    add('models', `${m.model} / ${m.baseline}, ${m.kind === 'session' ? 'session alone' : m.clip}, ${m.provider}, batch ${m.batch}`, `${f(m.ratio, 2)} x fps`, `${f(m.fps)} vs ${f(m.baselineFps)} fps; latency p50 ${f(m.latencyP50)} vs ${f(m.baselineLatencyP50)} ms`);
  }
  if (r.server) {
    const s = r.server;
    const c = s.clock;
    add('server', `${s.url} (streamlens ${s.version})`, `${s.streams.length} stream(s)`, `models: ${s.models.map((m) => `${m.path} on ${m.activeProvider}`).join(', ') || 'none loaded'}`);
    add('server', 'clock offset (server - here)', `${f(c.estimateMs, 2)} ms`, `+- ${f(c.accuracyMs ?? Infinity, 2)} ms (bounds ${f(c.lo, 2)} .. ${f(c.hi, 2)} from ${c.lowerSamples} messages and ${c.upperSamples} re-subscriptions)${c.inconsistent ? '; INCONSISTENT: a clock stepped during the run' : ''}`);
    for (const x of s.streams) {
      add('server', `stream ${x.id}: delivered fps, end-to-end p50/p95/p99`, `${f(x.deliveredFps)} fps`, `${f(x.endToEnd.p50)} / ${f(x.endToEnd.p95)} / ${f(x.endToEnd.p99)} ms (server capture->send p50 ${f(x.serverTotal.p50)}, delivery p50 ${f(x.delivery.p50)}); ${f(x.objectsPerFrame)} objects/frame; seq gaps ${x.seqGaps}`);
    }
    const fo = s.fanout;
    if (fo) add('server', `fan-out, ${fo.clients} clients`, `delivered ${f(100 * fo.deliveredRatio)}%`, `min ${f(100 * fo.minDeliveredRatio)}%; delivery p50/p99 ${f(fo.delivery.p50)} / ${f(fo.delivery.p99)} ms; end-to-end p99 ${f(fo.endToEnd.p99)} ms`);
    for (const h of s.detect?.runs ?? []) add('server', `POST /api/detect, ${h.connections} connections (${s.detect!.images} images)`, `${f(h.requestsPerSecond)} req/s`, `latency p50/p90/p99 ${h.latencyMs.p50}/${h.latencyMs.p90}/${h.latencyMs.p99} ms, errors ${h.errors + h.non2xx}`);
    for (const k of s.skipped) add('server', 'skipped', k);
  }
  if (r.peer) {
    const p = r.peer.runs[0];
    const each = r.peer.runs.map((x) => f(x.fps)).join(' / ');
    add('peer', `Node peer (ffmpeg JPEG + sharp + ort) ${p.clip} @ ${p.imgsz}`, `${f(r.peer.peerFps)} fps`, `(${each} before / after ours); ours ${f(r.peer.ours.fps)} fps = ${f(r.peer.oursOverPeer, 2)} x peer; target >= ${r.peer.target}: ${mark(r.peer.oursOverPeer >= r.peer.target)}`);
  }
  if (r.live) {
    for (const l of r.live.runs) {
      const c = l.stages.total;
      const fps = l.perStream.map((s) => s.deliveredFps);
      const drops = l.perStream.reduce((a, s) => a + s.drops.policy + s.drops.staleness, 0);
      add('live', `${l.streams} stream(s) capture->send p50/p95/p99`, `${f(c?.p50)} / ${f(c?.p95)} / ${f(c?.p99)} ms`, `fps/stream ${f(Math.min(...fps))}-${f(Math.max(...fps))}, drops ${drops}, drift p50 ${f(l.drift.firstThirdP50)} -> ${f(l.drift.lastThirdP50)} ms`);
    }
    const o = r.live.oneStream;
    if (o) add('live', '1 stream p99 vs 1.5 x inference + 20 ms', `${f(o.p99CaptureToSend)} ms`, `target <= ${f(o.targetMs)} ms (inference p50 ${f(o.inferenceP50)}): ${mark(o.meets)}`);
  }
  if (r.startup) {
    const s = r.startup;
    for (const source of ['rtsp', 'hls', 'mpegts-http', 'mjpeg'] as const) {
      const before = s.rows.find((x) => x.source === source && x.variant === 'before');
      const after = s.rows.find((x) => x.source === source && x.variant === 'after');
      if (!before || !after) continue;
      add('startup', `${source} time to first frame (before -> after)`, `${f(before.medianMs, 0)} -> ${f(after.medianMs, 0)} ms`, `median of ${after.trialsMs.length}; ${f(before.medianMs / after.medianMs, 2)} x faster`);
    }
    add('startup', `rtsp vs 1.5 x keyframe interval (${s.keyframeIntervalSeconds} s) + 0.5 s`, `${f(s.rtsp.medianMs, 0)} ms`, `target <= ${f(s.rtsp.targetMs, 0)} ms: ${mark(s.rtsp.meets)}; ffmpeg ${s.ffmpeg}`);
  }
  if (r.capacity) {
    const c = r.capacity;
    add('capacity', `${c.clip} streams at ${c.targetFps} fps, p95 <= ${c.targetP95Ms} ms (${c.model})`, `${c.capacity}${c.capped ? '+' : ''}`, c.curve.map((p) => `${p.streams}:${f(p.p95, 0)}ms/${f(p.minFps)}fps`).join(' '));
  }
  if (r.capacityStill) {
    const c = r.capacityStill;
    const curve = (x: typeof c.with): string => x.curve.map((p) => `${p.streams}:${f(p.p95, 0)}ms/${f(p.minFps)}fps/${f(100 * p.inferred, 0)}%`).join(' ');
    const n = (x: typeof c.with): string => `${x.capacity}${x.capped ? '+' : ''}`;
    add('capacity', `${c.clip} at ${c.with.targetFps} fps, p95 <= ${c.with.targetP95Ms} ms: without / with / without motion gating`, `${n(c.without)} / ${n(c.with)} / ${n(c.withoutAfter)}`, `${f(c.ratio, 2)} x; target >= ${c.target} x: ${mark(c.ratio >= c.target)}; without ${curve(c.without)}; with ${curve(c.with)}; without ${curve(c.withoutAfter)} (streams:p95/min fps/detector share)`);
    const cpu = c.cpu;
    if (cpu) {
      const cam = (x: typeof cpu.with): string => `${f(x.coresPerCamera, 3)} (${f(x.cpuMsPerResult)} ms [ffmpeg ${f(x.ffmpegMsPerResult)}] x ${c.with.targetFps} fps, detector ${f(100 * x.inferred, 0)}%${x.complete ? '' : ', clip not finished'})`;
      add('capacity', `${c.clip} by CPU: cameras ${cpu.cores} cores hold without / with motion gating`, `${f(cpu.camerasWithout)} / ${f(cpu.camerasWith)}`, `${f(cpu.ratio, 2)} x; target >= ${c.target} x: ${mark(cpu.ratio >= c.target)}${cpu.decodeCeiling === undefined ? '' : `; at most ${f(cpu.decodeCeiling, 2)} x if a gated camera cost only its decoding`}; cores per camera without ${cam(cpu.without)}, with ${cam(cpu.with)}, without ${cam(cpu.withoutAfter)}`);
    }
  }
  if (r.fanout) {
    for (const x of r.fanout.runs) {
      const retries = x.connectRetries ? `, ${x.connectRetries} handshakes retried (${x.lastConnectError})` : '';
      add('fanout', `${x.clients} clients${x.video ? ' +video' : ''}${x.stuck ? ' +1 stuck' : ''}`, `p99 ${f(x.delivery.p99)} ms`, `delivered ${f(100 * x.deliveredRatio)}% (min ${f(100 * x.minDeliveredRatio)}%), process CPU ${f(x.serverCpuPercent)}% (no clients ${f(r.fanout.idleCpuPercent)}%), main thread ${f(100 * x.mainThreadUtilisation)}% (no clients ${f(100 * r.fanout.idleMainThreadUtilisation)}%)${retries}${x.loadGeneratorBound ? '; LOAD-GENERATOR BOUND: the server handed over far more than the clients read, not a server measurement' : ''}`);
    }
    const s = r.fanout.stuckComparison;
    const stuck = r.fanout.runs.find((x) => x.stuck)?.stuckClient;
    const backed =
      stuck?.congestedAfterSeconds == null
        ? 'the stuck client did not reach the server bound in the wait: comparison not meaningful'
        : `stuck client at the server bound after ${f(stuck.congestedAfterSeconds)} s; ${stuck.drops.video} video + ${stuck.drops.detections} detections dropped for it, ${stuck.bufferedAmount} B buffered`;
    add('fanout', `stuck client, ${s.clients} others' p99`, `${f(s.p99Without)} -> ${f(s.p99With)} ms`, `${f(100 * s.change)}% change; target <= 10%: ${mark(s.withinTenPercent)} (${backed})`);
  }
  if (r.cluster) {
    const c = r.cluster;
    if (!c.available) add('cluster', 'Redis relay', 'not available', c.reason ?? '');
    for (const x of c.runs) {
      add('cluster', `relay to a remote WS client${x.video ? ' (with video)' : ''}`, `+${f(x.addedP50)} ms p50, +${f(x.addedP99)} ms p99`, `local p50/p99 ${f(x.local.p50)}/${f(x.local.p99)} ms, remote ${f(x.remote.p50)}/${f(x.remote.p99)} ms; Redis ${f((x.resultsBytesPerSecond + x.videoBytesPerSecond) / 1000)} kB/s per stream at ${f(x.framesPerSecond)} fps`);
    }
  }
  if (r.http) {
    if (!r.http.available) add('http', 'POST /api/detect', 'not available', r.http.reason);
    else for (const h of r.http.runs) add('http', `batching ${h.batching}, ${h.connections} connections`, `${f(h.requestsPerSecond)} req/s`, `latency p50/p90/p99 ${h.latencyMs.p50}/${h.latencyMs.p90}/${h.latencyMs.p99} ms, errors ${h.errors + h.non2xx}`);
  }
  if (r.tracker) {
    const t = r.tracker;
    add('tracker', `ByteTracker on MOT15 (${t.frames} frames)`, `${f(t.medianUpdateMs * 1000, 0)} us/frame p50`, `p95 ${f(t.p95UpdateMs * 1000, 0)} us; HOTA ${f(100 * t.hota)} IDF1 ${f(100 * t.idf1)} MOTA ${f(100 * t.mota)}`);
  }
  if (r.analytics) {
    const a = r.analytics;
    add('analytics', `${a.tracks} tracks, ${a.zones} zones, ${a.lines} lines (${a.frames} frames)`, `${f(a.medianFrameMs * 1000, 1)} us/frame p50`, `p95 ${f(a.p95FrameMs * 1000, 1)} us; target <= ${f(a.targetMs * 1000, 0)} us: ${mark(a.p95FrameMs <= a.targetMs)}; ${a.events} events`);
  }
  if (r.motion) {
    const { cost, analysis: a, recall, regions } = r.motion;
    add('motion', `motion image + estimate per frame, ${cost.clip} -> ${cost.imgsz}: CPU (wall p50)`, `${f(cost.imageCpuMsPerFrame, 2)} + ${f(cost.estimateCpuMsPerFrame, 2)} ms (${f(cost.imageMs.p50, 2)} + ${f(cost.estimateMs.p50, 2)})`, `ffmpeg decode + letterbox ${f(cost.ffmpeg.cpuMsPerFrame, 2)} ms CPU/frame; a grey 160 px ffmpeg output for the image: +${f(cost.ffmpeg.greyExtraCpuMsPerFrame, 2)} ms CPU/frame`);
    const skips = Object.entries(a.gated.skipped).map(([k, v]) => `${k} ${v}`).join(', ');
    const runs = Object.entries(a.gated.ran).map(([k, v]) => `${k} ${v}`).join(', ');
    add('motion', `analyze ${a.clip}, ${a.model}: without / with gating`, `${f(a.everyFrameFps[0])} (${f(a.everyFrameFps[1])} after) / ${f(a.gated.fps)} fps`, `${f(a.ratio, 2)} x; target >= ${a.target} x: ${mark(a.ratio >= a.target)}; detector on ${a.gated.inferred} of ${a.gated.frames} (${runs}); skipped ${skips}`);
    if (recall) add('motion', `recall on the same clip, ${recall.model}: every frame / gated / still object`, `${f(100 * recall.everyFrame)} / ${f(100 * recall.gated)} / ${f(100 * recall.stillObject)} %`, `detector on ${f(100 * recall.inferredFraction)} % of frames; targets >= ${100 * recall.target.recall} % and <= ${100 * recall.target.inferredFraction} %: ${mark(recall.gated >= recall.target.recall && recall.stillObject >= recall.target.recall && recall.inferredFraction <= recall.target.inferredFraction)}`);
    if (regions) add('motion', `regions: recall on ${regions.clip}, ${regions.model}, whole frame / with windows around motion`, `${f(100 * regions.whole.recall)} / ${f(100 * regions.regions.recall)} %`, `${f(regions.whole.fps, 2)} / ${f(regions.regions.fps, 2)} fps (detector on every frame both ways)`);
  }
  if (r.render) {
    const { draw, analysis, stages: st } = r.render;
    add('render', `drawing a ${draw.width}x${draw.height} frame, ${draw.objects} tracked objects + zone + line`, `${f(draw.boxes.cpuMsPerFrame, 2)} ms CPU`, `with masks ${f(draw.masks.cpuMsPerFrame, 2)} ms CPU; wall p50 ${f(draw.boxes.wall.p50, 2)} / ${f(draw.masks.wall.p50, 2)} ms`);
    for (const a of analysis) {
      add('render', `analysis ${a.clip} @ ${a.imgsz} with --render`, `${f(a.withFps)} fps`, `${f(a.ratio, 2)} x without (${f(a.withoutFps[0])} before, ${f(a.withoutFps[1])} after); +${f(a.renderCpuMs)} ms CPU/frame; video ${f(a.videoMB)} MB for ${a.frames} frames`);
    }
    const enc = st.encoders.map((e) => `${e.preset}/${e.format} ${f(e.cpuMs)}`).join(', ');
    add('render', 'render path CPU ms per 1080p frame: decoder output yuv420p / rgb24', `${f(st.decoderOutputMs.yuv420p, 2)} / ${f(st.decoderOutputMs.rgb24, 2)} ms`, `x264: ${enc}`);
  }
  for (const e of r.errors) add(e.section, 'FAILED', e.message.split('\n')[0].slice(0, 120));
  return rows;
}

export function formatSummary(r: BenchResult): string {
  const rows = summaryRows(r);
  const w = [8, 0, 0].map((min, i) => Math.max(min, ...rows.map((row) => [row.section, row.metric, row.value][i].length)));
  const lines = rows.map((row) => `${row.section.padEnd(w[0])}  ${row.metric.padEnd(w[1])}  ${row.value.padEnd(w[2])}  ${row.against}`.trimEnd());
  const m = r.meta.machine;
  const load = `load average ${m.loadAverage.start}${m.loadAverage.end !== undefined ? ` -> ${m.loadAverage.end}` : ''}`;
  return [`bench${r.meta.quick ? ' --quick' : ''}: ${r.meta.sections.join(', ')} in ${r.meta.seconds.toFixed(0)} s (${m.cores} CPUs, ${m.cpuModel}, ${load})`, ...lines, r.meta.note].join('\n');
}
