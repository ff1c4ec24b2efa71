/**
 * `GET /metrics`: Prometheus text format via prom-client. The serve stage observes; the pipeline
 * knows nothing of Prometheus:
 *
 * - per-stream gauges and counters are read from the hub's stats when scraped (fps, frames,
 *   drops by reason, reconnects, state);
 * - latency histograms are fed from every result on `hub.results$` (its FrameTiming);
 * - WebSocket figures come from the gateway, aggregated over clients (no per-client labels);
 * - prom-client's default metrics cover process memory, CPU, handles and event-loop lag.
 *
 * Names and labels are listed in docs/observability.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { StreamHub } from '../pipeline/streamHub.js';
import type { FrameResult, StreamState } from '../types.js';
import { liveFfmpegChildren } from '../ingest/ffmpeg.js';

const STATES: readonly StreamState[] = ['connecting', 'streaming', 'reconnecting', 'stopped', 'failed', 'ended'];

/** Pipeline stages timed per frame (FrameTiming), in pipeline order. */
export const STAGES = ['wait', 'queue', 'preprocess', 'inference', 'postprocess', 'track', 'capture_to_send'] as const;
export type Stage = (typeof STAGES)[number];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];

/** What the metrics need from the WebSocket gateway. */
export interface ClientFigures {
  clientCount(): number;
  /** Messages dropped for slow clients since start, all clients together. */
  clientDrops(): { video: number; detections: number };
  /** Connections accepted since start. */
  connectionsAccepted(): number;
}

/** Seconds spent in each stage, from a sent frame's timing; stages without timestamps are left out. */
export function stageSeconds(t: FrameResult['timing']): Partial<Record<Stage, number>> {
  const out: Partial<Record<Stage, number>> = {};
  const span = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined && b >= a ? (b - a) / 1000 : undefined);
  const put = (stage: Stage, s: number | undefined): void => {
    if (s !== undefined && Number.isFinite(s) && s >= 0) out[stage] = s;
  };
  put('wait', span(t.captureTs, t.queuedTs));
  put('queue', span(t.queuedTs, t.inferStartTs));
  put('preprocess', t.preprocessMs !== undefined ? t.preprocessMs / 1000 : undefined);
  put('inference', t.inferenceMs !== undefined ? t.inferenceMs / 1000 : undefined);
  put('postprocess', t.postprocessMs !== undefined ? t.postprocessMs / 1000 : undefined);
  put('track', span(t.inferEndTs, t.trackEndTs));
  put('capture_to_send', span(t.captureTs, t.sendTs));
  return out;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly subscription: Subscription;
  private readonly stage: Histogram<'stream' | 'stage'>;
  private readonly inference: Histogram<'model'>;
  private readonly batchSize: Histogram<'model'>;
  /** Streams that have histogram series, to drop them once the stream is removed. */
  private readonly observed = new Set<string>();

  constructor(
    private readonly hub: StreamHub,
    clients: ClientFigures,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const streamGauge = (name: string, help: string, read: (s: ReturnType<StreamHub['list']>[number]) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['stream'],
        registers,
        collect() {
          this.reset();
          for (const s of hub.list()) this.set({ stream: s.id }, read(s));
        },
      });
    };
    // Counters mirror the pipeline's own cumulative counts (absolute values, set at scrape time).
    const streamCounter = (name: string, help: string, read: (s: ReturnType<StreamHub['list']>[number]) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['stream'],
        registers,
        collect() {
          this.reset();
          for (const s of hub.list()) this.inc({ stream: s.id }, read(s));
        },
      });
    };
    streamGauge('streamlens_stream_fps_in', 'Frames per second out of the decoder (last 5 s).', (s) => s.fpsIn);
    streamGauge('streamlens_stream_fps_out', 'Results per second sent to clients (last 5 s).', (s) => s.fpsOut);
    streamCounter('streamlens_stream_frames_decoded_total', 'Frames decoded.', (s) => s.framesDecoded);
    streamCounter('streamlens_stream_frames_inferred_total', 'Frames run through the model.', (s) => s.framesInferred);
    streamCounter('streamlens_stream_frames_sent_total', 'Results handed to clients.', (s) => s.framesSent);
    streamCounter('streamlens_stream_reconnects_total', 'Connection attempts after the first.', (s) => s.reconnects);
    new Counter({
      name: 'streamlens_stream_drops_total',
      help: 'Frames dropped, by reason: policy (drop policy), staleness (maxStalenessMs), client (client backpressure, per message).',
      labelNames: ['stream', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const s of hub.list()) for (const [reason, n] of Object.entries(s.drops)) this.inc({ stream: s.id, reason }, n);
      },
    });
    new Gauge({
      name: 'streamlens_stream_state',
      help: 'Connection state: 1 for the current state of the stream, 0 for the others.',
      labelNames: ['stream', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of hub.list()) for (const state of STATES) this.set({ stream: s.id, state }, s.state === state ? 1 : 0);
      },
    });
    new Gauge({
      name: 'streamlens_streams',
      help: 'Streams configured or added at runtime.',
      registers,
      collect() {
        this.set(hub.ids().length);
      },
    });
    new Gauge({
      name: 'streamlens_ffmpeg_children',
      help: 'ffmpeg/ffprobe child processes alive.',
      registers,
      collect() {
        this.set(liveFfmpegChildren());
      },
    });
    new Gauge({
      name: 'streamlens_ws_clients',
      help: 'WebSocket clients connected.',
      registers,
      collect() {
        this.set(clients.clientCount());
      },
    });
    new Counter({
      name: 'streamlens_ws_connections_total',
      help: 'WebSocket connections accepted.',
      registers,
      collect() {
        this.reset();
        this.inc(clients.connectionsAccepted());
      },
    });
    new Counter({
      name: 'streamlens_ws_client_drops_total',
      help: 'Messages dropped for slow WebSocket clients, all clients together, by kind (video, detections).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const d = clients.clientDrops();
        this.inc({ kind: 'video' }, d.video);
        this.inc({ kind: 'detections' }, d.detections);
      },
    });
    this.stage = new Histogram({
      name: 'streamlens_stage_latency_seconds',
      help: 'Per-frame time in each pipeline stage: wait (capture to batcher), queue (batcher), preprocess, inference, postprocess (in the worker), track, capture_to_send (end to end).',
      labelNames: ['stream', 'stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inference = new Histogram({
      name: 'streamlens_inference_latency_seconds',
      help: 'session.run time of the batch each sent frame ran in, per model.',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'streamlens_batch_size',
      help: 'Size of the batch each sent frame ran in (frame-weighted: a batch of n counts n times), per model.',
      labelNames: ['model'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.subscription = hub.results$.subscribe((r) => this.observe(r));
  }

  /** Records one sent frame's timing. */
  observe(result: FrameResult): void {
    const stream = result.streamId;
    this.observed.add(stream);
    for (const [stage, s] of Object.entries(stageSeconds(result.timing))) this.stage.observe({ stream, stage }, s);
    const model = this.hub.settings(stream)?.model ?? 'unknown';
    if (result.timing.inferenceMs !== undefined) this.inference.observe({ model }, result.timing.inferenceMs / 1000);
    if (result.timing.batchSize !== undefined) this.batchSize.observe({ model }, result.timing.batchSize);
  }

  /** The exposition text; per-stream series of removed streams are dropped first. */
  async text(): Promise<string> {
    for (const stream of this.observed) {
      if (this.hub.has(stream)) continue;
      for (const stage of STAGES) this.stage.remove({ stream, stage });
      this.observed.delete(stream);
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.subscription.unsubscribe();
    this.registry.clear();
  }
}
