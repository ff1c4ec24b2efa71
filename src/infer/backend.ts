/**
 * A model backend: what the rest of the system sees of a loaded model. Frames go in through
 * `submit` (one at a time, batched across callers behind it), the model's contract is `info`, and
 * `close` releases it. The stage chain, the model pool and POST /api/detect depend on this
 * interface only, never on the Detector or the Batcher behind it, so a new runtime (another
 * execution engine, a remote model server) is one more implementation, and tests use a fake.
 */
import { Batcher, type BatcherMetrics, type BatcherOptions, type BatchingSettings, type BatchItem, type BatchResult } from './batcher.js';
import { Detector, type DetectorOptions, type ModelInfo } from './detector.js';

export type { BatchItem, BatchResult, BatcherMetrics, BatchingSettings, ModelInfo };


export interface ModelBackend {
  /** The model file. */
  readonly path: string;
  /** The model's contract: input size, classes, output format, batch limits. */
  readonly info: ModelInfo;
  /** Execution provider that runs the model ('cpu', 'cuda', ...). */
  readonly activeProvider: string;
  readonly batching: BatchingSettings;
  /**
   * Runs one frame (batched with the frames other callers submit meanwhile). `item.rgb` is handed
   * over: the caller must not read it afterwards. Rejects with a BatcherDropError when the frame
   * is dropped (per-stream queue full, backend closed) and with the model's error when it fails.
   */
  submit(item: BatchItem): Promise<BatchResult>;
  metrics(): BatcherMetrics;
  /** Rejects waiting frames, lets a run in progress finish, releases the model. */
  close(): Promise<void>;
}

/** Opens a model: loads it (worker thread, session, contract check) and puts a batcher in front. */
export async function openModelBackend(detector: DetectorOptions, batching: BatcherOptions = {}): Promise<ModelBackend> {
  return new BatchedDetector(await Detector.open(detector), batching);
}

/** The ONNX Runtime backend: one Detector (worker thread) behind one Batcher. */
class BatchedDetector implements ModelBackend {
  private readonly batcher: Batcher;
  readonly batching: BatchingSettings;

  constructor(
    private readonly detector: Detector,
    opts: BatcherOptions,
  ) {
    this.batcher = new Batcher(detector, opts);
    this.batching = this.batcher.settings;
  }

  get path(): string {
    return this.detector.info.path;
  }

  get info(): ModelInfo {
    return this.detector.info;
  }

  get activeProvider(): string {
    return this.detector.activeProvider;
  }

  submit(item: BatchItem): Promise<BatchResult> {
    return this.batcher.submit(item);
  }

  metrics(): BatcherMetrics {
    return this.batcher.metrics();
  }

  async close(): Promise<void> {
    this.batcher.close();
    await this.detector.close();
  }
}
