/**
 * The hub as the outputs (serve/) see it: the streams, their results and states, the models. The
 * local StreamHub implements it; a hub that runs streams on other machines implements the same
 * interface, and serve/ never knows which one it talks to.
 */
import type { Observable } from 'rxjs';
import type { BatcherMetrics } from '../infer/batcher.js';
import type { ModelBackend } from '../infer/backend.js';
import type { FrameResult, StreamState, StreamStats } from '../types.js';
import type { StreamSettings } from '../config.js';

export interface StreamStateEvent {
  stream: string;
  state: StreamState;
  reconnects: number;
  error?: string;
}

/** A loaded model as GET /api/info reports it. */
export interface ModelInfo {
  path: string;
  inputWidth: number;
  inputHeight: number;
  classes: string[];
  format: string;
  task: string;
  activeProvider: string;
  maxBatch: number;
  maxWaitMs: number;
  padBatchSizes: number[];
  maxQueuePerStream: number;
  /** Streams using the model. */
  streams: string[];
  batching: BatcherMetrics;
}

/** Per-model part of the WebSocket `stats` message. */
export interface ModelStats {
  path: string;
  activeProvider: string;
  batching: BatcherMetrics;
}

export class DuplicateStreamError extends Error {
  constructor(id: string) {
    super(`stream "${id}" already exists`);
    this.name = 'DuplicateStreamError';
  }
}

export class UnknownStreamError extends Error {
  constructor(id: string) {
    super(`no stream "${id}"`);
    this.name = 'UnknownStreamError';
  }
}

/** The hub cannot change its streams now (e.g. a cluster node cut off from the cluster's state); try again later. */
export class HubUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HubUnavailableError';
  }
}

export interface DecoderInfo {
  version: string;
  /** `FFMPEG_PATH`, `system` or `bundled` (docs/sources.md). */
  origin: string;
  path: string;
}

export interface StreamHubApi {
  ids(): string[];
  has(id: string): boolean;
  settings(id: string): StreamSettings | undefined;
  stats(id: string): StreamStats | undefined;
  list(): StreamStats[];
  /**
   * Starts a stream. Resolves once its model is loaded and frames are being pulled; a model that
   * cannot be loaded leaves the stream in state `failed` with the reason in `lastError`. Rejects
   * with DuplicateStreamError when the id is taken.
   */
  add(settings: StreamSettings): Promise<StreamStats>;
  /** Stops a stream (its source released when this resolves). False when there is no such stream. */
  remove(id: string): Promise<boolean>;
  /**
   * Applies changed settings of a running stream (e.g. its analytics) without restarting its
   * source where possible. Rejects with UnknownStreamError when there is no such stream.
   */
  update(id: string, settings: StreamSettings): Promise<StreamStats>;
  /** Every stream's results, in frame order per stream, with `timing.sendTs` set. Hot. */
  readonly results$: Observable<FrameResult>;
  readonly states$: Observable<StreamStateEvent>;
  /** The models loaded now. */
  modelInfo(): Promise<ModelInfo[]>;
  /** Provider and batching metrics of the loaded models among `paths`, without waiting. */
  modelStats(paths: Iterable<string>): ModelStats[];
  /** ffmpeg/ffprobe child processes the hub's sources keep alive now (for /metrics). */
  childProcesses(): number;
  /**
   * Sets a stream's line counts to 0 (its zone occupancy is the present and stays). False when the
   * stream has no zones or lines. Rejects with UnknownStreamError when there is no such stream.
   */
  resetAnalytics(id: string): Promise<boolean>;
  /** The decoder the hub's sources run: ffmpeg's version, where it was found and its path (for /api/info). */
  decoder(): DecoderInfo;
  /** The backend for POST /api/detect (shares the streams' batcher); loaded on first use, kept until close. */
  detectBackend(modelPath: string): Promise<ModelBackend>;
  /** Stops every stream and closes the models. */
  close(): Promise<void>;
  /**
   * A hub whose streams may run on other machines (a cluster node): results of those streams,
   * relayed for this server's WebSocket clients only (never counted, stored or published again
   * here: their owner does that). Absent on a hub that runs every stream itself.
   */
  readonly relayed$?: Observable<FrameResult>;
  /**
   * This server's WebSocket clients follow `stream` (and its video when `video`): a hub whose
   * streams run elsewhere relays a stream only while someone follows it, and its video only while
   * someone asks for it. Returns the release; absent on a hub that runs every stream itself.
   */
  follow?(stream: string, options: { video: boolean }): () => void;
}
