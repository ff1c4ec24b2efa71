/** The inference stage: a frame goes to its model's shared batcher and comes back as a FrameResult. */
import type { Batcher } from '../infer/batcher.js';
import type { Frame, FrameResult } from '../types.js';
import { nowMs } from './clock.js';

export interface InferenceOptions {
  conf: number;
  /** Class ids to keep; empty = all. */
  classes: number[];
}

/** Raised when the model itself fails: retrying the same frames would fail the same way. */
export class InferenceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InferenceError';
  }
}

export function inferFrame(batcher: Batcher, opts: InferenceOptions): (frame: Frame) => Promise<FrameResult> {
  const classes = opts.classes.length ? opts.classes : undefined;
  return async (frame) => {
    const queuedTs = nowMs();
    // The batcher transfers frame.rgb to its worker: nothing may read it afterwards.
    const out = await batcher
      .submit({ streamId: frame.streamId, rgb: frame.rgb, letterbox: frame.letterbox, conf: opts.conf, classes })
      .catch((err: unknown) => {
        throw new InferenceError(`inference failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
    return {
      streamId: frame.streamId,
      seq: frame.seq,
      index: frame.index,
      pts: frame.pts,
      width: frame.letterbox.srcWidth,
      height: frame.letterbox.srcHeight,
      detections: out.detections,
      timing: { ...out.timing, captureTs: frame.captureTs, queuedTs },
      ...(frame.jpeg ? { jpeg: frame.jpeg } : {}),
    };
  };
}
