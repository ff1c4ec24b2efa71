/** Per-stage latencies of published results, from the pipeline's FrameTiming (all epoch ms). */
import type { FrameResult } from '../src/types.js';
import { summarize, type Summary } from './stats.js';

/** Stage name -> what it spans. Order is the order data flows. */
export const STAGES = {
  mailboxWait: 'capture -> handed to the batcher (decode output waiting under the drop policy)',
  batchWait: 'handed to the batcher -> its batch starts',
  preprocess: 'RGB -> tensor in the worker (per frame)',
  inference: 'session.run of the batch',
  postprocess: 'output decode (per frame)',
  workerRoundTrip: 'batch start -> batch results back on the main thread (includes the three above and transfers)',
  tracking: 'tracker update',
  publish: 'tracking end -> handed to subscribers (sendTs)',
  captureToSend: 'capture -> sendTs',
} as const;

export type Stage = keyof typeof STAGES;

export function stageSamples(results: readonly FrameResult[]): Record<Stage, number[]> {
  const out = Object.fromEntries(Object.keys(STAGES).map((k) => [k, [] as number[]])) as Record<Stage, number[]>;
  const push = (k: Stage, a: number | undefined, b: number | undefined): void => {
    if (a !== undefined && b !== undefined) out[k].push(b - a);
  };
  for (const { timing: t } of results) {
    push('mailboxWait', t.captureTs, t.queuedTs);
    push('batchWait', t.queuedTs, t.inferStartTs);
    if (t.preprocessMs !== undefined) out.preprocess.push(t.preprocessMs);
    if (t.inferenceMs !== undefined) out.inference.push(t.inferenceMs);
    if (t.postprocessMs !== undefined) out.postprocess.push(t.postprocessMs);
    push('workerRoundTrip', t.inferStartTs, t.inferEndTs);
    push('tracking', t.inferEndTs, t.trackEndTs);
    push('publish', t.trackEndTs ?? t.inferEndTs, t.sendTs);
    push('captureToSend', t.captureTs, t.sendTs);
  }
  return out;
}

export function stageSummaries(results: readonly FrameResult[]): Partial<Record<Stage, Summary>> {
  const samples = stageSamples(results);
  const out: Partial<Record<Stage, Summary>> = {};
  for (const [k, v] of Object.entries(samples) as [Stage, number[]][]) if (v.length) out[k] = summarize(v);
  return out;
}

/** Stages FrameTiming did not provide for any result. */
export function missingStages(results: readonly FrameResult[]): Stage[] {
  const samples = stageSamples(results);
  return (Object.keys(samples) as Stage[]).filter((k) => samples[k].length === 0);
}
