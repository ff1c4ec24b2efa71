/**
 * Detector: the main-thread handle of one model. Loading, session runs and output decoding all
 * happen in a worker thread, so the event loop stays responsive during inference.
 *
 * Frame buffers: when a frame's `rgb` spans its whole ArrayBuffer, that buffer is *transferred* to
 * the worker (zero copy) and the caller's Uint8Array becomes detached (length 0): do not touch
 * `rgb` after calling detect(). Views into a larger buffer are copied instead.
 *
 * If the worker dies, calls in flight reject, and a new worker is started for later calls.
 */
import { Worker } from 'node:worker_threads';
import { DEFAULT_MODEL, type ExecutionProvider, type ModelSettings } from '../config/schema.js';
import type { Letterbox } from '../types.js';
import type { FrameDetections, FromWorker, ModelInfo, ToWorker, WorkerConfig, WorkerFrame } from './protocol.js';
import { workerUrl } from './workerUrl.js';

export type { FrameDetections, ModelInfo } from './protocol.js';

/**
 * The model to open: its path and its settings (the config's ModelSettings, docs/configuration.md);
 * settings left out are the config's defaults (DEFAULT_MODEL). Providers are tried in order, each
 * failure a warning.
 */
export type DetectorOptions = Pick<ModelSettings, 'path'> &
  Partial<ModelSettings> & {
    /** Receives provider-fallback warnings; default console.warn. */
    onWarning?: (message: string) => void;
  };

export interface DetectFrame {
  rgb: Uint8Array;
  letterbox: Letterbox;
  /** Per-frame overrides of the call's conf/classes. */
  conf?: number;
  classes?: readonly number[];
}

export interface DetectOptions {
  conf: number;
  classes?: readonly number[];
  iou?: number;
  maxDet?: number;
  /** Pad dynamic-batch runs with blank images up to this size (fixed-shape engine reuse). */
  padTo?: number;
}

interface Pending {
  resolve: (r: FrameDetections[]) => void;
  reject: (e: Error) => void;
}

export class Detector {
  private worker!: Worker;
  private ready!: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private _info!: ModelInfo;
  private _activeProvider!: ExecutionProvider;
  /** Set when a restarted worker failed to load; later calls reject with it. */
  private broken?: Error;
  /** Called when the worker reports its session released (after a close request). */
  private onClosed?: () => void;

  private constructor(private readonly cfg: WorkerConfig, private readonly warn: (m: string) => void) {}

  static async open(opts: DetectorOptions): Promise<Detector> {
    const { onWarning, ...given } = opts;
    const s: ModelSettings = { ...DEFAULT_MODEL, ...definedOnly(given), path: given.path };
    const cfg: WorkerConfig = {
      path: s.path,
      format: s.format,
      maxBatch: s.maxBatch,
      providers: s.providers,
      intraOpThreads: s.intraOpThreads,
      allowSpinning: s.allowSpinning,
      graphOptimizationLevel: s.graphOptimizationLevel,
      deviceId: s.deviceId,
    };
    const d = new Detector(cfg, onWarning ?? ((m) => console.warn(`[infer] ${m}`)));
    d.start();
    try {
      await d.ready;
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

  get info(): ModelInfo {
    return this._info;
  }

  get activeProvider(): ExecutionProvider {
    return this._activeProvider;
  }

  private start(): void {
    const worker = new Worker(workerUrl('./worker.js', import.meta.url), { workerData: this.cfg });
    this.worker = worker;
    let loaded = false;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            loaded = true;
            this._info = m.info;
            this._activeProvider = m.activeProvider;
            for (const w of m.warnings) this.warn(w);
            resolve();
            break;
          case 'failed':
            reject(new Error(m.message));
            break;
          case 'closed':
            this.onClosed?.();
            break;
          case 'result':
          case 'error': {
            const p = this.pending.get(m.id);
            if (!p) break;
            this.pending.delete(m.id);
            if (m.type === 'result') p.resolve(m.results);
            else p.reject(new Error(`inference failed: ${m.message}`));
            break;
          }
        }
      });
      const died = (reason: string): void => {
        if (this.worker !== worker) return;
        reject(new Error(`inference worker stopped before loading the model: ${reason}`));
        // Only a worker that had loaded is restarted: a load-time crash would only repeat.
        if (this.closed || !loaded) return;
        const err = new Error(`inference worker died: ${reason}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        this.warn(`${err.message}; restarting it`);
        this.start();
        this.ready.catch((e: Error) => (this.broken = e));
      };
      worker.on('error', (err) => died(err.message));
      worker.on('exit', (code) => died(`exit code ${code}`));
    });
    this.ready.catch(() => undefined);
  }

  /** Detections per frame, in order. See the class comment about `rgb` being transferred. */
  async detect(frames: DetectFrame[], opts: DetectOptions): Promise<FrameDetections[]> {
    if (this.closed) throw new Error('detector is closed');
    if (frames.length === 0) return [];
    await this.ready;
    // close() may have been called while this call waited: the worker is going away.
    if (this.closed) throw new Error('detector is closed');
    if (this.broken) throw this.broken;
    const transfer: ArrayBuffer[] = [];
    const sent: WorkerFrame[] = frames.map((f) => {
      let rgb = f.rgb;
      if (rgb.byteOffset !== 0 || rgb.byteLength !== rgb.buffer.byteLength || !(rgb.buffer instanceof ArrayBuffer)) {
        rgb = new Uint8Array(rgb); // a copy with its own buffer (Buffer#slice would be a view)
      }
      if (!transfer.includes(rgb.buffer as ArrayBuffer)) transfer.push(rgb.buffer as ArrayBuffer);
      return { rgb, letterbox: f.letterbox, conf: f.conf, classes: f.classes };
    });
    const id = this.nextId++;
    const { padTo, ...decode } = opts;
    const msg: ToWorker = { type: 'detect', id, frames: sent, opts: decode, padTo };
    return new Promise<FrameDetections[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  /**
   * Closes the model. Calls waiting for results reject at once; a session run already in progress
   * is allowed to finish in the worker and the session is released before the thread is ended
   * (terminating during a run aborts the process from onnxruntime's native callback). A worker
   * that does not answer within `graceMs` is terminated anyway.
   */
  async close(graceMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('detector is closed');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    const worker = this.worker;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.onClosed = resolve;
      worker.once('exit', () => resolve());
      timer = setTimeout(resolve, graceMs);
      try {
        worker.postMessage({ type: 'close' } satisfies ToWorker);
      } catch {
        resolve();
      }
    });
    clearTimeout(timer);
    this.onClosed = undefined;
    await worker.terminate();
  }
}

/** `o` without its undefined members, so they do not hide defaults when spread over them. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
