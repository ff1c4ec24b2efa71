/**
 * Per-stream counters and sliding windows: fps in/out over the last few seconds, drops by reason,
 * and capture -> send latency and per-stage time percentiles over recent frames.
 */
import type { DropReason, FrameMotion, FrameTiming, LatencySummary, MotionStats, StreamState, StreamStats } from '../types.js';
import { percentileSorted } from '../percentile.js';

/** Timestamps of recent events, for a rate over the last `windowMs`. */
export class RateWindow {
  private readonly stamps: number[] = [];
  private start: number | undefined;

  constructor(private readonly windowMs = 5000) {}

  add(ts: number): void {
    this.start ??= ts;
    this.stamps.push(ts);
    this.trim(ts);
  }

  /** Events per second over the window ending at `now` (or since the first event, if shorter). */
  rate(now: number): number {
    this.trim(now);
    const span = this.start === undefined ? 0 : Math.min(this.windowMs, now - this.start);
    return span > 0 ? (this.stamps.length * 1000) / span : 0;
  }

  private trim(now: number): void {
    let drop = 0;
    while (drop < this.stamps.length && now - this.stamps[drop] >= this.windowMs) drop++;
    if (drop) this.stamps.splice(0, drop);
  }
}

/** Nearest-rank percentiles of the last `capacity` samples. */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  /** The last summary, until a sample is added (stats go to every client in one pass). */
  private summarised: LatencySummary | undefined;

  constructor(private readonly capacity = 1000) {}

  add(ms: number): void {
    if (this.samples.length < this.capacity) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
    this.summarised = undefined;
  }

  summary(): LatencySummary {
    if (this.summarised) return { ...this.summarised };
    if (!this.samples.length) return { p50: 0, p95: 0, p99: 0, max: 0 };
    const s = [...this.samples].sort((a, b) => a - b);
    const at = (q: number): number => round(percentileSorted(s, q));
    this.summarised = { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(s[s.length - 1]) };
    return { ...this.summarised };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export class StreamCounters {
  framesDecoded = 0;
  framesInferred = 0;
  framesSent = 0;
  readonly drops: Record<DropReason, number> = { policy: 0, staleness: 0, client: 0 };
  private readonly fpsIn = new RateWindow();
  private readonly fpsOut = new RateWindow();
  private readonly latency = new LatencyWindow();
  private readonly stages = new Map<string, LatencyWindow>();
  /** Set once a frame came through motion gating. */
  private motion: MotionStats | undefined;

  decoded(now: number): void {
    this.framesDecoded++;
    this.fpsIn.add(now);
  }

  inferred(): void {
    this.framesInferred++;
  }

  /** A result left the pipeline at `sendTs`. */
  sent(timing: FrameTiming, sendTs: number): void {
    this.framesSent++;
    this.fpsOut.add(sendTs);
    this.latency.add(sendTs - timing.captureTs);
    for (const name in timing.stages) {
      let w = this.stages.get(name);
      if (!w) this.stages.set(name, (w = new LatencyWindow()));
      w.add(timing.stages[name]);
    }
  }

  /** A frame motion gating decided on: counted by its reason, its changed fraction kept. */
  gated(m: FrameMotion, inferred: boolean): void {
    const stats = (this.motion ??= {
      changed: 0,
      skipped: { still: 0, small: 0, light: 0 },
      ran: { start: 0, motion: 0, moving: 0, lost: 0, keyframe: 0 },
    });
    stats.changed = m.changed;
    if (inferred) stats.ran[m.reason as keyof MotionStats['ran']]++;
    else stats.skipped[m.reason as keyof MotionStats['skipped']]++;
  }

  dropped(reason: DropReason, n = 1): void {
    this.drops[reason] += n;
  }

  snapshot(id: string, state: StreamState, reconnects: number, lastError: string | undefined, now: number): StreamStats {
    return {
      id,
      state,
      ...(lastError ? { lastError } : {}),
      reconnects,
      framesDecoded: this.framesDecoded,
      framesInferred: this.framesInferred,
      framesSent: this.framesSent,
      fpsIn: round(this.fpsIn.rate(now)),
      fpsOut: round(this.fpsOut.rate(now)),
      drops: { ...this.drops },
      latency: this.latency.summary(),
      stages: Object.fromEntries([...this.stages].map(([name, w]) => [name, w.summary()])),
      ...(this.motion ? { motion: { changed: Math.round(this.motion.changed * 1e4) / 1e4, skipped: { ...this.motion.skipped }, ran: { ...this.motion.ran } } } : {}),
    };
  }
}
