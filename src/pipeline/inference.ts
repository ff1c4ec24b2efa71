/**
 * The inference stage: each frame goes to its model backend (batched with other streams' frames).
 * With motion regions (docs/motion.md) and the source frame at hand, windows of the source around
 * the frame's motion go to the backend beside it, and their detections are merged in.
 */
import type { BatchItem, BatchResult } from '../infer/batcher.js';
import type { ModelBackend } from '../infer/backend.js';
import { cropInput, cropLetterbox, mergeCropDetections, planCrops, type Crop } from '../motion/crops.js';
import type { Box, Frame, FrameResult } from '../types.js';
import { needsSourceFrames } from './motion.js';
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
    /** Detector windows around motion (at most this many per frame); 0: none. */
    private readonly maxCrops: number,
  ) {
    this.classes = classes.length ? classes : undefined;
  }

  async process({ frame, result }: StageItem): Promise<void> {
    // A stage before this one decided the detector need not run on this frame.
    if (result.inferred === false) return;
    const crops = this.cropsOf(frame, result);
    // Built before the frame's pixels are handed over with its own submit.
    const cropItems = crops.map((c, i): BatchItem => {
      const letterbox = cropLetterbox(c, frame.letterbox.dstWidth, frame.letterbox.dstHeight);
      return { streamId: frame.streamId, window: i, rgb: cropInput(frame.source!, c, letterbox), letterbox, conf: this.conf, classes: this.classes };
    });
    const item: BatchItem = { streamId: frame.streamId, rgb: frame.rgb, letterbox: frame.letterbox, conf: this.conf, classes: this.classes };
    let out: BatchResult;
    let perCrop: BatchResult[] = [];
    try {
      // Without windows, the frame alone, as directly as before (no arrays, no extra turn of the
      // microtask queue before the stage hands the model its next frame).
      if (cropItems.length === 0) out = await this.model.submit(item);
      else [out, ...perCrop] = await Promise.all([this.model.submit(item), ...cropItems.map((c) => this.model.submit(c))]);
    } catch (err) {
      throw new InferenceError(`inference failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    result.detections = crops.length ? this.merged(frame, out, crops, perCrop) : out.detections;
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

  /** Windows around the frame's motion regions, in the source frame's pixels. */
  private cropsOf(frame: Frame, result: FrameResult): Crop[] {
    const regions = result.motion?.regions;
    const source = frame.source;
    if (this.maxCrops === 0 || !source || !regions?.length) return [];
    const lb = frame.letterbox;
    // Regions are in the decoded frame's pixels; source frames keep the first size after a resolution change.
    const sx = source.width / lb.srcWidth;
    const sy = source.height / lb.srcHeight;
    const scaled = regions.map((r): Box => [r[0] * sx, r[1] * sy, r[2] * sx, r[3] * sy]);
    return planCrops(scaled, source.width, source.height, lb.dstWidth, lb.dstHeight, { maxCrops: this.maxCrops });
  }

  /** The frame's and the windows' detections as one set, in the decoded frame's pixels. */
  private merged(frame: Frame, out: BatchResult, crops: Crop[], perCrop: BatchResult[]): FrameResult['detections'] {
    const source = frame.source!;
    const lb = frame.letterbox;
    const sx = lb.srcWidth / source.width;
    const sy = lb.srcHeight / source.height;
    const full = out.detections.map((d) => ({ ...d, box: [d.box[0] / sx, d.box[1] / sy, d.box[2] / sx, d.box[3] / sy] as Box }));
    const merged = mergeCropDetections(full, crops, perCrop.map((r) => r.detections), source.width, source.height);
    return merged.map((d) => ({ ...d, box: [d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy] as Box }));
  }
}

/** Detector windows per frame when motion regions are on: each costs one more model input. */
export const MAX_REGION_CROPS = 4;

export const inferenceStage: StageFactory = ({ model, settings }) =>
  new InferenceStage(model, settings.conf, settings.classes, needsSourceFrames(settings.motion) ? MAX_REGION_CROPS : 0);
