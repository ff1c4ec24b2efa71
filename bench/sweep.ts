/**
 * The model x provider x batch sweep of the limits and analysis sections: the session alone and the
 * full pipeline for each model, execution provider and batch size, and several models side by side
 * as ratios to the first. Models are interleaved at each (provider, batch) so that the runs a ratio
 * compares are next to each other in time and see about the same machine load.
 */
import type { ExecutionProvider } from '../src/config/schema.js';
import type { StageFactory } from '../src/pipeline/stage.js';
import { analysisRun, type AnalysisRun } from './analysis.js';
import type { Clip } from './inputs.js';
import { sessionLimits, type SessionLimit } from './limits.js';
import { runnableBatches, type ModelUnderTest } from './models.js';
import { r3, ratio } from './stats.js';

export interface Unavailable {
  model: string;
  provider: string;
  reason: string;
}

export interface RatioRow {
  clip: string;
  model: string;
  provider: string;
  imgsz: number;
  batch: number;
  pipelineFps: number;
  /** Mean of the session alone measured right before and right after the pipeline run. */
  sessionFps: number;
  sessionBeforeAfter: [number, number];
  ratio: number;
  target: number;
}

/** One model against the first (the baseline), at the same provider and batch size, measured back to back. */
export interface ModelRatio {
  kind: 'session' | 'pipeline';
  /** For pipeline rows: the clip. */
  clip?: string;
  provider: string;
  batch: number;
  model: string;
  baseline: string;
  fps: number;
  baselineFps: number;
  /** fps / the baseline's fps. */
  ratio: number;
  /** Latency p50 (session: per run; pipeline: capture -> out of the chain), ms, and the baseline's. */
  latencyP50: number;
  baselineLatencyP50: number;
}

export interface SweepOptions {
  models: ModelUnderTest[];
  providers: ExecutionProvider[];
  batches: number[];
  quick: boolean;
  log: (line: string) => void;
}

/** A provider that failed to open a session for a model is not tried again for it. */
class Availability {
  readonly unavailable: Unavailable[] = [];

  has(m: ModelUnderTest, p: string): boolean {
    return !this.unavailable.some((u) => u.model === m.label && u.provider === p);
  }

  async try<T>(m: ModelUnderTest, p: string, f: () => Promise<T>): Promise<T | undefined> {
    if (!this.has(m, p)) return undefined;
    try {
      return await f();
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      // Only a provider that cannot open a session makes the pair unavailable; other failures are the run's.
      if (p === 'cpu' || !/inference session|not available|not installed/.test(reason)) throw err;
      this.unavailable.push({ model: m.label, provider: p, reason });
      return undefined;
    }
  }
}

export async function sessionSweep(o: SweepOptions): Promise<{ session: SessionLimit[]; unavailable: Unavailable[]; skipped: string[] }> {
  const avail = new Availability();
  const session: SessionLimit[] = [];
  const skipped: string[] = [];
  for (const m of o.models) {
    const { skipped: fixed } = runnableBatches(m, o.batches);
    if (fixed.length) skipped.push(`${m.label}: fixed batch ${m.batch}, batch ${fixed.join(', ')} not measured`);
  }
  for (const provider of o.providers) {
    for (const batch of o.batches) {
      for (const m of o.models) {
        if (!runnableBatches(m, [batch]).run.length) continue;
        const rows = await avail.try(m, provider, () =>
          sessionLimits({ modelPath: m.path, model: m.label, imgsz: m.imgsz, provider, batches: [batch], iterations: o.quick ? 8 : 40, warmup: o.quick ? 1 : 2 }),
        );
        if (rows) session.push(...rows);
      }
    }
  }
  return { session, unavailable: avail.unavailable, skipped };
}

export interface AnalysisSweepOptions extends SweepOptions {
  clips: Clip[];
  /** Bound per pipeline run, s (live sources never end; long files would take long). */
  maxSeconds: number;
  stages?: readonly StageFactory[];
}

export async function analysisSweep(o: AnalysisSweepOptions): Promise<{ runs: AnalysisRun[]; ratios: RatioRow[]; unavailable: Unavailable[] }> {
  const avail = new Availability();
  const runs: AnalysisRun[] = [];
  const ratios: RatioRow[] = [];
  for (const clip of o.clips) {
    for (const provider of o.providers) {
      for (const batch of o.batches) {
        for (const m of o.models) {
          if (!runnableBatches(m, [batch]).run.length) continue;
          // The session baseline brackets each pipeline run (right before and right after), so the
          // ratio compares like with like even when the machine's speed drifts during the run.
          const baseline = async (): Promise<number> =>
            (await sessionLimits({ modelPath: m.path, model: m.label, imgsz: m.imgsz, provider, batches: [batch], iterations: o.quick ? 8 : 24, warmup: 1 }))[0].fps;
          const measured = await avail.try(m, provider, async () => {
            const before = await baseline();
            const r = await analysisRun({ clip, modelPath: m.path, model: m.label, imgsz: m.imgsz, provider, batch, maxSeconds: o.maxSeconds, stages: o.stages });
            const after = await baseline();
            return { before, r, after };
          });
          if (!measured) continue;
          const { before, r, after } = measured;
          const sessionFps = r3((before + after) / 2);
          runs.push(r);
          ratios.push({ clip: r.clip, model: m.label, provider, imgsz: m.imgsz, batch, pipelineFps: r.fps, sessionFps, sessionBeforeAfter: [before, after], ratio: ratio(r.fps, sessionFps), target: m.imgsz >= 640 ? 0.95 : 0.85 });
          o.log(`bench:   analysis ${r.clip}, ${m.label} on ${provider}, batch ${batch}: ${r.fps} fps (${ratios.at(-1)!.ratio} x session)`);
        }
      }
    }
  }
  return { runs, ratios, unavailable: avail.unavailable };
}

/** Every model after the first against the first, wherever both were measured at the same provider and batch (and clip). */
export function modelRatios(models: readonly ModelUnderTest[], session: readonly SessionLimit[], runs: readonly AnalysisRun[]): ModelRatio[] {
  if (models.length < 2) return [];
  const base = models[0].label;
  const out: ModelRatio[] = [];
  for (const s of session) {
    if (s.model === base) continue;
    const b = session.find((x) => x.model === base && x.provider === s.provider && x.batch === s.batch);
    if (b) out.push({ kind: 'session', provider: s.provider, batch: s.batch, model: s.model, baseline: base, fps: s.fps, baselineFps: b.fps, ratio: ratio(s.fps, b.fps), latencyP50: s.latency.p50, baselineLatencyP50: b.latency.p50 });
  }
  for (const r of runs) {
    if (r.model === base) continue;
    const b = runs.find((x) => x.model === base && x.provider === r.provider && x.batch === r.batch && x.clip === r.clip);
    if (b) out.push({ kind: 'pipeline', clip: r.clip, provider: r.provider, batch: r.batch, model: r.model, baseline: base, fps: r.fps, baselineFps: b.fps, ratio: ratio(r.fps, b.fps), latencyP50: r.latency.p50, baselineLatencyP50: b.latency.p50 });
  }
  return out;
}
