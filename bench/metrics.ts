/**
 * A result file as a flat list of comparable metrics (`bench compare`): a stable key, which way is
 * better, and the noise the run measured for it where it measured one (split-half spreads, the
 * session before/after brackets, the live drift halves, the clock's accuracy). Keys name what was
 * measured (section, input, model, provider, batch), so a metric is compared only with the same
 * measurement of another run.
 */
import type { RenderRatio } from './render.js';
import type { BenchResult } from './run.js';

export interface Metric {
  key: string;
  section: string;
  unit: 'fps' | 'ms' | 'x' | 'req/s' | '%' | 'streams' | 'score';
  better: 'higher' | 'lower';
  value: number;
  /** Relative noise the run measured for this number (0.05 = 5 %), when it measured one. */
  noise?: number;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Relative noise of two values of the same measurement: |a - b| / their mean. */
function pairSpread(a: number, b: number): number | undefined {
  const m = (a + b) / 2;
  return m > 0 ? Math.abs(a - b) / m : undefined;
}

export function metricsOf(r: BenchResult): Metric[] {
  const out: Metric[] = [];
  const add = (section: string, key: string, unit: Metric['unit'], better: Metric['better'], value: number | null | undefined, noise?: number): void => {
    if (!finite(value)) return;
    out.push({ key: `${section}: ${key}`, section, unit, better, value, ...(finite(noise) ? { noise } : {}) });
  };

  for (const s of r.limits?.session ?? []) add('limits', `session alone ${s.model}, ${s.provider}, batch ${s.batch}`, 'fps', 'higher', s.fps, s.spread);
  for (const d of r.limits?.decode ?? []) add('limits', `ffmpeg decode ${d.clip} -> ${d.imgsz}`, 'fps', 'higher', d.fps);

  const ratios = r.analysis?.ratios ?? [];
  for (const [i, a] of (r.analysis?.runs ?? []).entries()) {
    const id = `${a.clip}, ${a.model}, ${a.provider}, batch ${a.batch}`;
    const x = ratios[i];
    // The machine's drift during this run (its bracketing session measurements) or the run's own halves, whichever is larger.
    const bracket = x ? pairSpread(x.sessionBeforeAfter[0], x.sessionBeforeAfter[1]) : undefined;
    const fpsNoise = Math.max(a.spread ?? 0, bracket ?? 0);
    add('analysis', `${id}: fps`, 'fps', 'higher', a.fps, fpsNoise || undefined);
    if (x) add('analysis', `${id}: / session alone`, 'x', 'higher', x.ratio, bracket);
    add('analysis', `${id}: latency p50`, 'ms', 'lower', a.latency.p50, a.latencySpread?.p50);
    add('analysis', `${id}: latency p95`, 'ms', 'lower', a.latency.p95, a.latencySpread?.p95);
    for (const [name, s] of Object.entries(a.stages ?? {})) add('analysis', `${id}: ${name} p50`, 'ms', 'lower', s.p50, a.stageSpread?.[name]);
  }

  if (r.peer) add('peer', `ours / Node peer, ${r.peer.ours.clip} @ ${r.peer.ours.imgsz}`, 'x', 'higher', r.peer.oursOverPeer, pairSpread(r.peer.runs[0]?.fps ?? NaN, r.peer.runs[1]?.fps ?? NaN));

  for (const l of r.live?.runs ?? []) {
    // The first and last thirds of the window: the run's own spread of capture->send.
    const drift = pairSpread(l.drift.firstThirdP50, l.drift.lastThirdP50);
    add('live', `${l.streams} stream(s): capture->send p50`, 'ms', 'lower', l.stages.total?.p50, drift);
    add('live', `${l.streams} stream(s): capture->send p99`, 'ms', 'lower', l.stages.total?.p99, drift);
    add('live', `${l.streams} stream(s): slowest stream fps`, 'fps', 'higher', Math.min(...l.perStream.map((s) => s.deliveredFps)));
    for (const [name, s] of Object.entries(l.stages)) if (name !== 'total') add('live', `${l.streams} stream(s): ${name} p50`, 'ms', 'lower', s.p50, drift);
  }
  if (r.capacity) add('capacity', `${r.capacity.clip} at ${r.capacity.targetFps} fps, p95 <= ${r.capacity.targetP95Ms} ms`, 'streams', 'higher', r.capacity.capacity);
  if (r.capacityStill) {
    const c = r.capacityStill;
    // The two searches without gating bracket the one with: their difference is the run's noise.
    const bracket = pairSpread(c.without.capacity, c.withoutAfter.capacity);
    add('capacity', `${c.clip}: without motion gating`, 'streams', 'higher', Math.max(c.without.capacity, c.withoutAfter.capacity), bracket);
    add('capacity', `${c.clip}: with motion gating`, 'streams', 'higher', c.with.capacity);
    add('capacity', `${c.clip}: with / without motion gating`, 'x', 'higher', c.ratio, bracket);
    if (c.cpu) {
      const cpuBracket = pairSpread(c.cpu.without.cpuMsPerResult, c.cpu.withoutAfter.cpuMsPerResult);
      add('capacity', `${c.clip}: CPU per result without motion gating`, 'ms', 'lower', Math.min(c.cpu.without.cpuMsPerResult, c.cpu.withoutAfter.cpuMsPerResult), cpuBracket);
      add('capacity', `${c.clip}: CPU per result with motion gating`, 'ms', 'lower', c.cpu.with.cpuMsPerResult);
      add('capacity', `${c.clip}: cameras by CPU, with / without motion gating`, 'x', 'higher', c.cpu.ratio, cpuBracket);
    }
  }
  for (const f of r.fanout?.runs ?? []) {
    const id = `${f.clients} clients${f.video ? ' +video' : ''}${f.stuck ? ' +1 stuck' : ''}`;
    add('fanout', `${id}: delivery p99`, 'ms', 'lower', f.delivery.p99);
    add('fanout', `${id}: delivered`, '%', 'higher', 100 * f.deliveredRatio);
  }
  if (r.cluster?.available) {
    for (const x of r.cluster.runs) {
      add('cluster', `Redis relay${x.video ? ' with video' : ''}: added p50`, 'ms', 'lower', x.addedP50);
      add('cluster', `Redis relay${x.video ? ' with video' : ''}: added p99`, 'ms', 'lower', x.addedP99);
    }
  }
  if (r.http?.available) {
    for (const h of r.http.runs) {
      add('http', `batching ${h.batching}, ${h.connections} connections: throughput`, 'req/s', 'higher', h.requestsPerSecond);
      add('http', `batching ${h.batching}, ${h.connections} connections: p99`, 'ms', 'lower', h.latencyMs.p99);
    }
  }
  if (r.tracker) {
    add('tracker', 'update p50', 'ms', 'lower', r.tracker.medianUpdateMs);
    // Deterministic: the same detections give the same tracks.
    add('tracker', 'HOTA', 'score', 'higher', r.tracker.hota, 0);
    add('tracker', 'IDF1', 'score', 'higher', r.tracker.idf1, 0);
  }
  if (r.analytics) add('analytics', 'engine p95 per frame', 'ms', 'lower', r.analytics.p95FrameMs);
  if (r.render) {
    add('render', 'drawing a 1080p frame (CPU)', 'ms', 'lower', r.render.draw.boxes.cpuMsPerFrame);
    // Results from before the 640 run hold one ratio (the 320 model's), not a list.
    const runs = ([] as RenderRatio[]).concat(r.render.analysis);
    for (const a of runs) {
      const name = a.imgsz === 320 ? 'analysis with --render / without' : `analysis @ ${a.imgsz} with --render / without`;
      add('render', name, 'x', 'higher', a.ratio, pairSpread(...a.withoutFps));
    }
  }
  if (r.motion) {
    const { cost, analysis: a, recall } = r.motion;
    add('motion', `motion image + estimate per frame, ${cost.clip} -> ${cost.imgsz} (CPU)`, 'ms', 'lower', cost.imageCpuMsPerFrame + cost.estimateCpuMsPerFrame);
    add('motion', `analyze ${a.clip}, ${a.model}: gated / every frame`, 'x', 'higher', a.ratio, pairSpread(...a.everyFrameFps));
    if (recall) add('motion', `recall gated, ${recall.model}`, '%', 'higher', 100 * recall.gated);
  }
  if (r.micro) {
    add('micro', 'preprocess 640x640 p50', 'ms', 'lower', r.micro.preprocess640.p50);
    add('micro', 'post + track, 100 objects p50', 'ms', 'lower', r.micro.postTrack100.p50);
  }
  const s = r.server;
  if (s) {
    const acc = finite(s.clock.accuracyMs) ? s.clock.accuracyMs : undefined;
    for (const x of s.streams) {
      add('server', `stream ${x.id}: delivered`, 'fps', 'higher', x.deliveredFps);
      // The clock offset's accuracy is this latency's own uncertainty.
      add('server', `stream ${x.id}: end-to-end p50`, 'ms', 'lower', x.endToEnd.p50, acc !== undefined && x.endToEnd.p50 > 0 ? acc / x.endToEnd.p50 : undefined);
      add('server', `stream ${x.id}: end-to-end p95`, 'ms', 'lower', x.endToEnd.p95, acc !== undefined && x.endToEnd.p95 > 0 ? acc / x.endToEnd.p95 : undefined);
      add('server', `stream ${x.id}: server capture->send p50`, 'ms', 'lower', x.serverTotal.p50);
    }
    if (s.fanout) {
      add('server', `fan-out ${s.fanout.clients} clients: delivered`, '%', 'higher', 100 * s.fanout.deliveredRatio);
      add('server', `fan-out ${s.fanout.clients} clients: delivery p99`, 'ms', 'lower', s.fanout.delivery.p99);
    }
    for (const h of s.detect?.runs ?? []) {
      add('server', `POST /api/detect, ${h.connections} connections: throughput`, 'req/s', 'higher', h.requestsPerSecond);
      add('server', `POST /api/detect, ${h.connections} connections: p99`, 'ms', 'lower', h.latencyMs.p99);
    }
  }
  return out;
}
