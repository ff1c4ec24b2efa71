/**
 * Frame stages and the chain that runs them (like GStreamer elements in a pipeline: data flows one
 * way, and a flush travels with it). A stage gets each frame with its result, fills the result in
 * place and may be async; the chain keeps frame order per stage, times each stage into
 * `result.timing.stages[name]`, and carries discontinuities (reconnect, resolution change, loop,
 * seek) through the stages in order with the frames.
 *
 * Which stages exist, and in which order, is registered in stages.ts.
 */
import type { ModelBackend } from '../infer/backend.js';
import type { Logger } from '../log.js';
import type { AnalyticsSettings, MotionConfig } from '../config/schema.js';
import type { Frame, FrameResult, TrackerConfig } from '../types.js';
import { nowMs } from '../clock.js';
import { LATENCY_TERMS } from '../latency.js';

/** One frame on its way through the chain. */
export interface StageItem {
  /** Pixels. `frame.rgb` is handed to the inference worker: not readable after the inference stage. */
  frame: Frame;
  /** Created at chain entry from the frame (no detections yet); stages fill it in place. */
  result: FrameResult;
  /**
   * Settles once every earlier frame has left the chain (done or failed). A stage that decides from
   * earlier frames' results (motion gating) awaits it, so its decision does not depend on how
   * many frames are in flight.
   */
  previousDone: Promise<void>;
}

/**
 * Why the frames before and after a point do not continue each other: the source reconnected,
 * changed resolution, looped or was sought, or the stream was reset.
 */
export type DiscontinuityReason = 'reconnect' | 'resolution' | 'seek' | 'loop' | 'reset';

export interface Discontinuity {
  streamId: string;
  reason: DiscontinuityReason;
}

export interface FrameStage {
  /** Key of this stage's time in result.timing.stages (ms), in /metrics, WS stats and the bench. */
  readonly name: string;
  /**
   * Called once per frame, in frame order. An async stage may be called for the next frame before
   * its promise for this one settles (that is how several frames in flight share one batch); the
   * chain still calls the next stage for the frames in order.
   */
  process(item: StageItem): void | Promise<void>;
  /** A discontinuity, between the frames it separates: forget temporal state. */
  flush?(d: Discontinuity): void;
  close?(): void | Promise<void>;
}

/** The settings the registered stages read: a stream's settings (StreamSettings) satisfy it. */
export interface ChainSettings {
  /** Detections below this score are dropped by the model. */
  conf: number;
  /** Class ids to keep; empty = all. */
  classes: readonly number[];
  tracker: TrackerConfig;
  /** Zones and lines (docs/analytics.md); absent or empty = no analytics stage. */
  analytics?: AnalyticsSettings;
  /** Motion gating (docs/motion.md); absent or not enabled = the detector runs on every frame. */
  motion?: MotionConfig;
}

/** What a stage factory gets: the stream's settings (as validated), its model backend, a logger. */
export interface StageContext {
  streamId: string;
  settings: ChainSettings;
  model: ModelBackend;
  log: Logger;
  /**
   * State that outlives the chain: the runner rebuilds the chain when settings change, and a
   * stateful stage (the tracker, the analytics) keeps its state here under its name, so tracks,
   * track ids and counts go on; so does the chain's last frame size (a resolution change at the
   * first frame of a rebuilt chain is still one). One per stream life; absent = nothing outlives
   * the chain.
   */
  memory?: Map<string, unknown>;
  /** Frames of a live source served in real time (events carry the wall clock), not a recording being analysed. */
  live?: boolean;
}

/** Returns undefined when the stage is not enabled by the settings. */
export type StageFactory = (ctx: StageContext) => FrameStage | undefined;

export interface StageChain {
  /** Names of the stages, in order. */
  readonly names: readonly string[];
  /**
   * Runs one frame through every stage. Call in frame order; several frames may be in flight (the
   * promises settle in order). Rejects with the first stage error for that frame; later frames
   * still go through.
   */
  process(frame: Frame): Promise<FrameResult>;
  /** A discontinuity before the next frame given to process(); reaches each stage after the frames before it. */
  flush(d: Discontinuity): void;
  /** Closes the stages. Call when no frame is in flight. */
  close(): Promise<void>;
}

/** A fresh result for `frame`: no detections yet, timing with its capture time. */
export function resultOf(frame: Frame): FrameResult {
  const result: FrameResult = {
    streamId: frame.streamId,
    seq: frame.seq,
    index: frame.index,
    pts: frame.pts,
    width: frame.letterbox.srcWidth,
    height: frame.letterbox.srcHeight,
    detections: [],
    timing: { captureTs: frame.captureTs, stages: {} },
  };
  if (frame.jpeg) result.jpeg = frame.jpeg;
  if (frame.source) result.source = frame.source;
  return result;
}

/** Stage memory key of the source size of the last frame that entered a chain of the stream. */
const FRAME_SIZE_KEY = 'chain.frameSize';

interface FrameSizeMemory {
  last?: { width: number; height: number };
}

/**
 * Runs `stages` in order. Order is kept with tickets: every frame and every discontinuity takes
 * the next ticket at entry, and a stage lets ticket t in only after ticket t-1 went in. With one
 * frame at a time (the live runner) every turn is already due and nothing waits.
 */
class OrderedChain implements StageChain {
  readonly names: readonly string[];
  private issued = 0;
  /** Per stage: the ticket allowed in next. */
  private readonly due: number[];
  /** Per stage: callers waiting for their ticket's turn. */
  private readonly waiting: Map<number, () => void>[];
  private readonly size: FrameSizeMemory;
  /** Settles when the last frame that entered, and every frame before it, left the chain. */
  private lastDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly stages: readonly FrameStage[],
    private readonly ctx: Pick<StageContext, 'streamId' | 'log' | 'memory'>,
  ) {
    this.names = stages.map((s) => s.name);
    const dup = this.names.find((n, i) => this.names.indexOf(n) !== i);
    if (dup) throw new Error(`two stages are named "${dup}"`);
    // Stage times and latency terms share the `stage` label of /metrics and the bench's breakdown.
    const clash = this.names.find((n) => Object.hasOwn(LATENCY_TERMS, n));
    if (clash) throw new Error(`stage name "${clash}" is taken by a latency term (src/latency.ts)`);
    this.due = stages.map(() => 0);
    this.waiting = stages.map(() => new Map());
    this.size = (ctx.memory?.get(FRAME_SIZE_KEY) as FrameSizeMemory | undefined) ?? {};
    ctx.memory?.set(FRAME_SIZE_KEY, this.size);
  }

  async process(frame: Frame): Promise<FrameResult> {
    this.checkResolution(frame);
    const ticket = this.issued++;
    const result = resultOf(frame);
    const previousDone = this.lastDone;
    let left!: () => void;
    const done = new Promise<void>((resolve) => (left = resolve));
    this.lastDone = previousDone.then(() => done);
    try {
      return await this.run({ frame, result, previousDone }, ticket);
    } finally {
      left();
    }
  }

  private async run(item: StageItem, ticket: number): Promise<FrameResult> {
    const { result } = item;
    const times = result.timing.stages;
    let failure: { error: unknown } | undefined;
    for (let i = 0; i < this.stages.length; i++) {
      if (this.due[i] !== ticket) await this.turn(i, ticket);
      if (failure) {
        this.pass(i);
        continue;
      }
      const stage = this.stages[i];
      const start = nowMs();
      let pending: void | Promise<void> = undefined;
      try {
        pending = stage.process(item);
      } catch (error) {
        failure = { error };
      }
      this.pass(i);
      if (pending) {
        try {
          await pending;
        } catch (error) {
          failure = { error };
        }
      }
      if (!failure) times[stage.name] = nowMs() - start;
    }
    if (failure) throw failure.error;
    result.timing.doneTs = nowMs();
    return result;
  }

  flush(d: Discontinuity): void {
    void this.flushFrom(this.issued++, d);
  }

  async close(): Promise<void> {
    for (const stage of this.stages) await stage.close?.();
  }

  /** Runs synchronously when nothing is in flight (every turn is due). */
  private async flushFrom(ticket: number, d: Discontinuity): Promise<void> {
    for (let i = 0; i < this.stages.length; i++) {
      if (this.due[i] !== ticket) await this.turn(i, ticket);
      try {
        this.stages[i].flush?.(d);
      } catch (err) {
        this.ctx.log.error({ stream: this.ctx.streamId, stage: this.stages[i].name, reason: d.reason, err }, 'stage flush failed');
      }
      this.pass(i);
    }
  }

  /** A new source resolution: boxes of the new geometry do not continue the old ones. */
  private checkResolution(frame: Frame): void {
    const { srcWidth: width, srcHeight: height } = frame.letterbox;
    const { last } = this.size;
    if (last && last.width === width && last.height === height) return;
    this.size.last = { width, height };
    if (!last) return;
    this.ctx.log.info({ stream: this.ctx.streamId, from: `${last.width}x${last.height}`, to: `${width}x${height}` }, 'source resolution changed; letterboxing the new size');
    this.flush({ streamId: this.ctx.streamId, reason: 'resolution' });
  }

  private turn(stage: number, ticket: number): Promise<void> {
    return new Promise((resolve) => this.waiting[stage].set(ticket, resolve));
  }

  private pass(stage: number): void {
    const next = ++this.due[stage];
    const wake = this.waiting[stage].get(next);
    if (wake) {
      this.waiting[stage].delete(next);
      wake();
    }
  }
}

/** A chain of the given stages (see stages.ts for the registered ones). */
export function composeStages(stages: readonly FrameStage[], ctx: Pick<StageContext, 'streamId' | 'log' | 'memory'>): StageChain {
  return new OrderedChain(stages, ctx);
}
