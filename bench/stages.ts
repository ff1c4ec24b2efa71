/**
 * Per-stage latencies of published results, ms: the latency terms (src/latency.ts, one definition
 * for the WebSocket messages, /metrics and this breakdown) and the time in each stage of the chain
 * (timing.stages), whatever stages the chain has.
 */
import { LATENCY_TERMS, LATENCY_TERM_NAMES, latencyMs } from '../src/latency.js';
import type { FrameTiming } from '../src/types.js';
import { percentile, splitHalfSpread, summarize, type Summary } from './stats.js';

/** What a stage name spans: a latency term's definition, or a stage of the chain. */
export function stageDescription(name: string): string {
  return Object.hasOwn(LATENCY_TERMS, name) ? LATENCY_TERMS[name as keyof typeof LATENCY_TERMS] : `the chain's "${name}" stage`;
}

/** Samples by name: the latency terms in flow order, then the chain's stages in chain order. */
export function stageSamples(results: readonly { timing: FrameTiming }[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const term of LATENCY_TERM_NAMES) out[term] = [];
  for (const { timing } of results) {
    for (const term of LATENCY_TERM_NAMES) {
      const ms = latencyMs(timing, term);
      if (ms !== undefined) out[term].push(ms);
    }
    for (const name in timing.stages) (out[name] ??= []).push(timing.stages[name]);
  }
  return out;
}

export function stageSummaries(results: readonly { timing: FrameTiming }[]): Record<string, Summary> {
  const out: Record<string, Summary> = {};
  for (const [k, v] of Object.entries(stageSamples(results))) if (v.length) out[k] = summarize(v);
  return out;
}

/** Latency terms FrameTiming did not provide for any result. */
export function missingStages(results: readonly { timing: FrameTiming }[]): string[] {
  const samples = stageSamples(results);
  return LATENCY_TERM_NAMES.filter((k) => samples[k].length === 0);
}

/** Split-half spread of each stage's median (the run's own noise, for `bench compare`). */
export function stageSpreads(results: readonly { timing: FrameTiming }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stageSamples(results))) if (v.length) out[k] = splitHalfSpread(v, (xs) => percentile(xs, 0.5));
  return out;
}
