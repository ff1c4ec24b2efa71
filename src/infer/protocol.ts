/** Messages between Detector (main thread) and its inference worker. */
import type { Detection, Letterbox } from '../types.js';
import type { ExecutionProvider, ModelFormat, ModelSettings, SessionSettings } from '../config/schema.js';
import type { DecodeOptions } from './adapters/types.js';
import type { Dim, TensorSpec } from './onnx/modelFile.js';

/** What the worker needs of the model's settings (maxBatch: most frames per session run of a dynamic-batch model). */
export type WorkerConfig = SessionSettings & Pick<ModelSettings, 'path' | 'format' | 'maxBatch'>;

export interface ModelInfo {
  path: string;
  inputName: string;
  outputNames: string[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  format: ModelFormat;
  task: 'detect' | 'segment';
  /** [height, width] */
  imgsz: [number, number];
  inputWidth: number;
  inputHeight: number;
  /** Declared batch axis: a fixed size, or 'dynamic'. */
  batch: number | 'dynamic';
  /** Most frames one session run takes (the fixed batch size, or the configured cap). */
  maxBatch: number;
  names: Record<number, string>;
  /** Number of classes: from the output shape, else from metadata names; 0 when unknown. */
  nc: number;
  stride?: number;
  metadata: Record<string, string>;
}

export interface WorkerFrame {
  rgb: Uint8Array;
  letterbox: Letterbox;
  /** Per-frame overrides of the call's options (the batcher mixes streams). */
  conf?: number;
  classes?: readonly number[];
}

export interface FrameDetections {
  detections: Detection[];
  /** Tensor fill for this frame, ms. */
  preprocessMs: number;
  /** session.run of the batch this frame ran in, ms. */
  inferenceMs: number;
  /** Output decode for this frame, ms. */
  postprocessMs: number;
  /** Real frames in the session run (padding excluded). */
  batchSize: number;
}

export interface DetectRequest {
  type: 'detect';
  id: number;
  frames: WorkerFrame[];
  opts: DecodeOptions;
  /** Pad each run with blank images up to this many (results discarded). */
  padTo?: number;
}

export type ToWorker =
  | DetectRequest
  /** Finish the run in progress, refuse the queued ones, release the session, answer `closed`. */
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo; activeProvider: ExecutionProvider; warnings: string[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; results: FrameDetections[] }
  | { type: 'error'; id: number; message: string }
  /** The session is released: the worker may be terminated safely. */
  | { type: 'closed' };

export type { Dim };
