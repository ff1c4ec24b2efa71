/**
 * `GET /metrics`: Prometheus text format via prom-client. The serve stage observes; the pipeline
 * knows nothing of Prometheus:
 *
 * - per-stream gauges and counters are read from the streams' stats when scraped (fps, frames,
 *   drops by reason, reconnects, state);
 * - latency histograms are fed from every result (it is a result sink): the latency terms of
 *   src/latency.ts and the time of each stage of the chain, from the result's FrameTiming;
 * - WebSocket figures come from the gateway, aggregated over clients (no per-client labels);
 * - prom-client's default metrics cover process memory, CPU, handles and event-loop lag.
 *
 * Names and labels are listed in docs/observability.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamHubApi } from '../pipeline/hub.js';
import type { AnalyticsEventType, FrameResult, FrameTiming, StreamState, StreamStats } from '../types.js';
import type { ResultSink } from '../output/sink.js';
import { LATENCY_TERM_NAMES, latencyMs } from '../latency.js';
import type { StreamStatsSource } from './streamStats.js';

const EVENT_TYPES: readonly AnalyticsEventType[] = ['line_cross', 'zone_enter', 'zone_exit', 'zone_loiter'];

const STATES: readonly StreamState[] = ['connecting', 'streaming', 'reconnecting', 'stalled', 'unauthorized', 'stopped', 'failed', 'ended'];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];

/** What the metrics need from the WebSocket gateway. */
export interface ClientFigures {
  clientCount(): number;
  /** Messages dropped for slow clients since start, all clients together. */
  clientDrops(): { video: number; detections: number; events: number };
  /** Connections accepted since start. */
  connectionsAccepted(): number;
  /** Smaller JPEGs for clients with `maxWidth` since start, by outcome. */
  renditions(): { encoded: number; failed: number; skipped: number };
}

/**
 * Seconds of a sent frame's time, by `stage` label: each latency term it has stamps for, then
 * each stage of the chain (timing.stages) under its name.
 */
export function stageSeconds(t: FrameTiming): Record<string, number> {
  const out: Record<string, number> = {};
  for (const term of LATENCY_TERM_NAMES) {
    const ms = latencyMs(t, term);
    if (ms !== undefined && Number.isFinite(ms) && ms >= 0) out[term] = ms / 1000;
  }
  for (const name in t.stages) {
    const ms = t.stages[name];
    if (Number.isFinite(ms) && ms >= 0) out[name] = ms / 1000;
  }
  return out;
}

export class ServerMetrics implements ResultSink {
  readonly name = 'metrics';
  /** Observing a result is a few counter updates: nothing to drop. */
  readonly backpressure = 'drop';
  readonly registry = new Registry();
  private readonly stage: Histogram<'stream' | 'stage'>;
  private readonly inference: Histogram<'model'>;
  private readonly batchSize: Histogram<'model'>;
  private readonly events: Counter<'stream' | 'type'>;
  /** Streams that have histogram series, to drop them once the stream is removed. */
  private readonly observed = new Set<string>();
  /** Every `stage` label observed (latency terms and chain stage names). */
  private readonly stageLabels = new Set<string>();

  constructor(
    private readonly hub: Pick<StreamHubApi, 'has' | 'ids' | 'settings' | 'childProcesses'>,
    streams: StreamStatsSource,
    clients: ClientFigures,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const streamGauge = (name: string, help: string, read: (s: StreamStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['stream'],
        registers,
        collect() {
          this.reset();
          for (const s of streams.list()) this.set({ stream: s.id }, read(s));
        },
      });
    };
    // Counters mirror the pipeline's own cumulative counts (absolute values, set at scrape time).
    const streamCounter = (name: string, help: string, read: (s: StreamStats) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['stream'],
        registers,
        collect() {
          this.reset();
          for (const s of streams.list()) this.inc({ stream: s.id }, read(s));
        },
      });
    };
    streamGauge('streamlens_stream_fps_in', 'Frames per second out of the decoder (last 5 s).', (s) => s.fpsIn);
    streamGauge('streamlens_stream_fps_out', 'Results per second sent to clients (last 5 s).', (s) => s.fpsOut);
    streamCounter('streamlens_stream_frames_decoded_total', 'Frames decoded.', (s) => s.framesDecoded);
    streamCounter('streamlens_stream_frames_inferred_total', 'Frames run through the model.', (s) => s.framesInferred);
    streamCounter('streamlens_stream_frames_sent_total', 'Results handed to clients.', (s) => s.framesSent);
    streamCounter('streamlens_stream_reconnects_total', 'Connection attempts after the first.', (s) => s.reconnects);
    streamCounter('streamlens_stream_decode_errors_total', 'Frames the decoder met damaged data in (their pictures may be garbage).', (s) => s.decodeErrors ?? 0);
    /** A counter by stream and reason, from a stream's counts by reason (none: no series). */
    const streamReasonCounter = (name: string, help: string, read: (s: StreamStats) => Record<string, number> | undefined): void => {
      new Counter({
        name,
        help,
        labelNames: ['stream', 'reason'],
        registers,
        collect() {
          this.reset();
          for (const s of streams.list()) for (const [reason, n] of Object.entries(read(s) ?? {})) this.inc({ stream: s.id, reason }, n);
        },
      });
    };
    streamReasonCounter(
      'streamlens_stream_drops_total',
      'Frames dropped, by reason: policy (drop policy), staleness (maxStalenessMs), client (client backpressure, per message).',
      (s) => s.drops,
    );
    streamReasonCounter(
      'streamlens_stream_frames_skipped_total',
      'Frames motion gating kept from the detector (their detections carried forward; not drops), by reason: still, small (changes under minArea), light (a change of light).',
      (s) => s.motion?.skipped,
    );
    streamReasonCounter(
      'streamlens_stream_motion_runs_total',
      'Frames motion gating gave the detector, by reason: start, motion, moving (a tracked object moved lately), lost (one just went missing), keyframe.',
      (s) => s.motion?.ran,
    );
    new Gauge({
      name: 'streamlens_stream_motion_changed_ratio',
      help: "Fraction of the stream's last frame that changed against the background (streams with motion gating).",
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of streams.list()) if (s.motion) this.set({ stream: s.id }, s.motion.changed);
      },
    });
    new Gauge({
      name: 'streamlens_stream_state',
      help: 'Connection state: 1 for the current state of the stream, 0 for the others.',
      labelNames: ['stream', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of streams.list()) for (const state of STATES) this.set({ stream: s.id, state }, s.state === state ? 1 : 0);
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
        this.set(hub.childProcesses());
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
      help: 'Messages dropped for slow WebSocket clients, all clients together, by kind (video, detections, events).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const d = clients.clientDrops();
        this.inc({ kind: 'video' }, d.video);
        this.inc({ kind: 'detections' }, d.detections);
        this.inc({ kind: 'events' }, d.events);
      },
    });
    new Counter({
      name: 'streamlens_video_renditions_total',
      help: 'Smaller JPEGs for WebSocket clients that asked for a maxWidth, by outcome (encoded, failed: the full JPEG went instead, skipped: encoding was behind, the frame went without).',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const r = clients.renditions();
        for (const outcome of ['encoded', 'failed', 'skipped'] as const) this.inc({ outcome }, r[outcome]);
      },
    });
    // Analytics counts (docs/analytics.md), read from the streams' stats when scraped. A counts
    // reset shows as a counter reset.
    new Counter({
      name: 'streamlens_analytics_line_crossings_total',
      help: 'Line crossings per stream, line, direction (in, out) and label, since the stream started or its counts were reset.',
      labelNames: ['stream', 'line', 'direction', 'label'],
      registers,
      collect() {
        this.reset();
        for (const s of streams.list()) {
          for (const [line, c] of Object.entries(s.analytics?.lines ?? {})) {
            for (const direction of ['in', 'out'] as const) for (const [label, n] of Object.entries(c[direction])) this.inc({ stream: s.id, line, direction, label }, n);
          }
        }
      },
    });
    new Gauge({
      name: 'streamlens_analytics_zone_occupancy',
      help: 'Tracked objects inside each zone now, per stream, zone and label.',
      labelNames: ['stream', 'zone', 'label'],
      registers,
      collect() {
        this.reset();
        for (const s of streams.list()) {
          for (const [zone, c] of Object.entries(s.analytics?.zones ?? {})) for (const [label, n] of Object.entries(c)) this.set({ stream: s.id, zone, label }, n);
        }
      },
    });
    this.events = new Counter({
      name: 'streamlens_analytics_events_total',
      help: 'Analytics events per stream and type (line_cross, zone_enter, zone_exit, zone_loiter).',
      labelNames: ['stream', 'type'],
      registers,
    });
    this.stage = new Histogram({
      name: 'streamlens_stage_latency_seconds',
      help: 'Per-frame time by stage: the latency terms (wait, queue, preprocess, inference, postprocess, run, publish, total; docs/observability.md) and each stage of the chain by name (infer, track, ...).',
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
  }

  /** Records one sent frame's timing. */
  write(result: FrameResult): void {
    const stream = result.streamId;
    this.observed.add(stream);
    const seconds = stageSeconds(result.timing);
    for (const stage in seconds) {
      if (!this.stageLabels.has(stage)) this.stageLabels.add(stage);
      this.stage.observe({ stream, stage }, seconds[stage]);
    }
    const model = this.hub.settings(stream)?.model ?? 'unknown';
    if (result.timing.inferenceMs !== undefined) this.inference.observe({ model }, result.timing.inferenceMs / 1000);
    if (result.timing.batchSize !== undefined) this.batchSize.observe({ model }, result.timing.batchSize);
    for (const e of result.events ?? []) this.events.inc({ stream, type: e.type });
  }

  /** The exposition text; per-stream series of removed streams are dropped first. */
  async text(): Promise<string> {
    for (const stream of this.observed) {
      if (this.hub.has(stream)) continue;
      for (const stage of this.stageLabels) this.stage.remove({ stream, stage });
      for (const type of EVENT_TYPES) this.events.remove({ stream, type });
      this.observed.delete(stream);
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async close(): Promise<void> {
    this.registry.clear();
  }
}
