/** One small adapter per model output format, behind one interface (Frigate-style detector plugins). */
import type { ModelFormat } from '../../config/schema.js';
import type { Detection, Letterbox } from '../../types.js';

/** A float32 output tensor as returned by the session (row-major). */
export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface DecodeOptions {
  /** Keep detections with score > conf (Ultralytics compares strictly). */
  conf: number;
  /** Class ids to keep; undefined or empty = all. */
  classes?: readonly number[];
  /** NMS IoU threshold (formats that need NMS). Default 0.7. */
  iou?: number;
  /** Maximum detections per image. Default 300. */
  maxDet?: number;
}

export interface OutputAdapter {
  readonly format: ModelFormat;
  /** Detections of image `batchIndex` in source-frame pixels; `outputs` in the model's output order. */
  decode(outputs: readonly OutputTensor[], batchIndex: number, letterbox: Letterbox, opts: DecodeOptions): Detection[];
}

export const DEFAULT_IOU = 0.7;
export const DEFAULT_MAX_DET = 300;

/** Class id to label; unnamed classes are labelled by their id. */
export function labelOf(names: Readonly<Record<number, string>>, cls: number): string {
  return names[cls] ?? String(cls);
}

export function classFilter(classes: readonly number[] | undefined): ((c: number) => boolean) | undefined {
  if (!classes || classes.length === 0) return undefined;
  const set = new Set(classes);
  return (c) => set.has(c);
}
