/** The inference stage: each frame goes to its model backend (batched with other streams' frames). */
import type { BatchItem } from '../infer/batcher.js';
import type { ModelBackend } from '../infer/backend.js';
import type { FrameStage, StageFactory, StageItem } from './stage.js';

/** Raised when the model itself fails: retrying the same frames would fail the same way. */
export class InferenceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InferenceError';
  }
}

class InferenceStage implements FrameStage {
  readonly name = 'infer';
  private readonly classes: readonly number[] | undefined;

  constructor(
    private readonly model: ModelBackend,
    private readonly conf: number,
    classes: readonly number[],
  ) {
    this.classes = classes.length ? classes : undefined;
  }

  async process({ frame, result }: StageItem): Promise<void> {
    // A stage before this one decided the detector need not run on this frame.
    if (result.inferred === false) return;
    const item: BatchItem = { streamId: frame.streamId, rgb: frame.rgb, letterbox: frame.letterbox, conf: this.conf, classes: this.classes };
    let out;
    try {
      out = await this.model.submit(item);
    } catch (err) {
      throw new InferenceError(`inference failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    result.detections = out.detections;
    const t = result.timing;
    const o = out.timing;
    t.queuedTs = o.queuedTs;
    t.inferStartTs = o.inferStartTs;
    t.inferEndTs = o.inferEndTs;
    t.preprocessMs = o.preprocessMs;
    t.inferenceMs = o.inferenceMs;
    t.postprocessMs = o.postprocessMs;
    t.batchSize = o.batchSize;
  }
}

export const inferenceStage: StageFactory = ({ model, settings }) => new InferenceStage(model, settings.conf, settings.classes);
