/**
 * The latency terms, defined once on a frame's FrameTiming. Every report of where a frame's time
 * went uses these names and spans: the WebSocket `detections` message (`<term>_ms`), POST
 * /api/detect, the `stage` label of /metrics and the benchmarks' stage breakdown. The chain's own
 * per-stage times (`timing.stages`, one entry per stage name) are reported beside them.
 */
import type { FrameTiming } from './types.js';

/** Term -> what it spans, in the order a frame meets them. */
export const LATENCY_TERMS = {
  wait: 'capture -> handed to the model (time under the drop policy)',
  queue: "handed to the model -> its batch starts (the batcher's queue)",
  preprocess: 'tensor fill of this frame (in the inference worker)',
  inference: 'session.run of the batch this frame ran in',
  postprocess: 'output decode of this frame (in the inference worker)',
  run: 'batch start -> its results back on the main thread (the three above for the whole batch, plus transfers)',
  publish: 'end of the stage chain -> handed to the outputs',
  total: 'capture -> handed to the outputs',
} as const;

export type LatencyTerm = keyof typeof LATENCY_TERMS;

export const LATENCY_TERM_NAMES = Object.keys(LATENCY_TERMS) as LatencyTerm[];

function span(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b >= a ? b - a : undefined;
}

/** One term of a frame's timing, ms; undefined when the frame lacks the stamps it needs. */
export function latencyMs(t: FrameTiming, term: LatencyTerm): number | undefined {
  switch (term) {
    case 'wait':
      return span(t.captureTs, t.queuedTs);
    case 'queue':
      return span(t.queuedTs, t.inferStartTs);
    case 'preprocess':
      return t.preprocessMs;
    case 'inference':
      return t.inferenceMs;
    case 'postprocess':
      return t.postprocessMs;
    case 'run':
      return span(t.inferStartTs, t.inferEndTs);
    case 'publish':
      return span(t.doneTs, t.sendTs);
    case 'total':
      return span(t.captureTs, t.sendTs);
  }
}
