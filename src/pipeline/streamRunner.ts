/**
 * One stream, end to end: source -> drop policy -> stage chain (stages.ts) -> results, inside a
 * connection state machine:
 *
 *   connecting -> streaming -> reconnecting | stalled | unauthorized -> streaming -> ... -> stopped
 *                      \-> ended (a finite source that is not looped reached its end: a file, a
 *                          file over HTTP, an HLS recording; or a live HLS broadcast finished)
 *   any -> failed (permanent: the model cannot run, a local file is not a video)
 *
 * A connection attempt opens the source (SourceFactory); it fails on an open/decode error, on a
 * stall (no frame for `stallTimeoutSeconds` while the chain waits for one, a camera that went
 * silent, an HLS playlist that stopped advancing) and, for live sources, on end of stream. Failed
 * attempts retry after an exponential, jittered, capped backoff that resets once a frame has gone
 * through; the state says why: `stalled` (the source is there but sends nothing new),
 * `unauthorized` (refused credentials: retried at the slowest pace, they will not fix themselves)
 * or `reconnecting`. Every source is stopped (its ffmpeg ended) when its attempt ends, whatever the
 * reason, before the next opens. A reconnect travels through the stage chain as a discontinuity
 * (the tracker forgets its tracks unless told not to).
 */
import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subscription,
  concat,
  concatMap,
  defer,
  finalize,
  from,
  of,
  repeat,
  retry,
  switchMap,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import { DecodeError } from '../ingest/decoder.js';
import type { HlsPlaylist } from '../ingest/hls.js';
import { hwaccelOf } from '../ingest/hwaccel.js';
import { SourceError, type SourceErrorCode } from '../ingest/probe.js';
import type { FrameSource, SourceFactory } from '../ingest/source.js';
import { isFileSource } from '../ingest/sourceUrl.js';
import type { ModelBackend } from '../infer/backend.js';
import type { Frame, FrameResult, SourceInfo, StreamState, StreamStats } from '../types.js';
import type { StreamSettings } from '../config.js';
import type { Logger } from '../log.js';
import { nowMs } from '../clock.js';
import { backoffDelay } from './backoff.js';
import { linkFrames, type FrameLink } from './dropPolicy.js';
import { InferenceError } from './inference.js';
import type { StageChain } from './stage.js';
import { analyticsCounts, resetAnalyticsCounts } from './analytics.js';
import { needsSourceFrames } from './motion.js';
import { buildStageChain } from './stages.js';
import { StreamCounters } from './stats.js';

export class StallError extends Error {
  constructor(seconds: number) {
    super(`no frame for ${seconds} s (the source sent nothing): reopening it`);
    this.name = 'StallError';
  }
}

class SourceEndedError extends Error {
  constructor(isFile: boolean) {
    super(isFile ? 'looped file ended (emptied or cut short while playing)' : 'live source ended the stream');
    this.name = 'SourceEndedError';
  }
}

export interface StreamRunnerOptions {
  log: Logger;
  /** Opens the stream's source for each connection attempt. */
  sources: SourceFactory;
  /** Called once per frame that made it through the pipeline, in seq order, with `timing.sendTs` set. */
  onResult(result: FrameResult): void;
}

export class StreamRunner {
  readonly counters = new StreamCounters();
  readonly state$: BehaviorSubject<StreamState>;
  reconnects = 0;
  lastError: string | undefined;
  private nextSeq = 0;
  private subscription: Subscription | undefined;
  private chain: StageChain | undefined;
  private provider: string | undefined;
  private readonly stopping = new Set<Promise<void>>();
  /** Stage state that outlives a chain rebuilt for new settings (tracker, analytics). */
  private readonly memory = new Map<string, unknown>();
  /** A local file: one that cannot be read will not become readable by retrying. */
  private readonly localFile: boolean;
  /** The source as last opened (shown in the stats). */
  private source: SourceInfo | undefined;
  /** Live HLS: the newest playlist seen, so a frozen one is not played again. */
  private playlist: HlsPlaylist | undefined;
  /** Damaged-data reports of the sources closed so far, and the open one. */
  private decodeErrorsBefore = 0;
  private openSource: FrameSource | undefined;

  private model: ModelBackend | undefined;
  /**
   * Whether every source this runner opens hands over source-size frames too (motion regions need
   * them). Fixed for the runner's life: a settings change must not restart the source, so turning
   * regions on is possible only where this is already true.
   */
  readonly sourceFrames: boolean;

  constructor(
    private current: StreamSettings,
    private readonly options: StreamRunnerOptions,
  ) {
    this.state$ = new BehaviorSubject<StreamState>('connecting');
    this.localFile = isFileSource(current.url);
    this.sourceFrames = needsSourceFrames(current.motion);
  }

  get settings(): StreamSettings {
    return this.current;
  }

  get id(): string {
    return this.settings.id;
  }

  get state(): StreamState {
    return this.state$.value;
  }

  stats(now = nowMs()): StreamStats {
    const stats: StreamStats = this.counters.snapshot(this.id, this.state, this.reconnects, this.lastError, now);
    if (this.provider) stats.provider = this.provider;
    const counts = analyticsCounts(this.memory);
    if (counts) stats.analytics = counts;
    if (this.source) {
      const { type, width, height, rotation, interlaced, codec, fps } = this.source;
      stats.source = { type, width, height, rotation, interlaced, codec, fps };
    }
    stats.decodeErrors = this.decodeErrorsBefore + (this.openSource?.decodeErrors ?? 0);
    stats.sourceFrames = this.sourceFrames;
    return stats;
  }

  /** Starts pulling frames through the stage chain built for `model`. */
  start(model: ModelBackend): void {
    if (this.subscription || this.isOver()) return;
    this.provider = model.activeProvider;
    this.model = model;
    this.chain = this.buildChain(model);
    this.subscription = this.run$(model).subscribe({
      next: (result) => {
        const sendTs = nowMs();
        result.timing.sendTs = sendTs;
        this.counters.sent(result.timing, sendTs);
        this.options.onResult(result);
      },
      error: (err: unknown) => this.fail(err),
      complete: () => this.setState('ended'),
    });
  }

  /**
   * Takes new settings that only the stages read (conf, classes, tracker, ...): the next frame goes
   * through a chain built from them, the source keeps running. False (nothing changed) when a
   * setting the source, the drop policy or the connection logic reads differs: that needs a new
   * runner.
   */
  reconfigure(settings: StreamSettings): boolean {
    if (RUNNER_SETTINGS.some((k) => JSON.stringify(settings[k]) !== JSON.stringify(this.current[k]))) return false;
    this.current = settings;
    if (!this.model || !this.chain) return true;
    const old = this.chain;
    this.chain = this.buildChain(this.model);
    // The frame in flight (if any) finishes in the old chain; it is closed once nothing is in flight.
    this.track(Promise.all([...this.stopping]).then(() => old.close()));
    return true;
  }

  private buildChain(model: ModelBackend): StageChain {
    return buildStageChain({ streamId: this.id, settings: this.current, model, log: this.options.log, memory: this.memory, live: true });
  }

  /** Line counts back to 0 (docs/analytics.md); false when the stream has no analytics. */
  resetAnalytics(): boolean {
    return resetAnalyticsCounts(this.memory);
  }

  /** Marks the stream permanently failed (e.g. its model could not be loaded). */
  fail(err: unknown): void {
    this.lastError = errorMessage(err);
    this.options.log.error({ stream: this.id, err }, 'stream failed');
    this.setState('failed');
  }

  /** Ends the pipeline and waits until every source it opened is stopped and inference in flight is done. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    await Promise.all([...this.stopping]);
    await this.chain?.close();
    this.chain = undefined;
    if (this.state !== 'stopped') this.setState('stopped');
    this.state$.complete();
  }

  private isOver(): boolean {
    return this.state === 'stopped' || this.state === 'failed' || this.state === 'ended';
  }

  private setState(state: StreamState): void {
    if (this.state$.closed || this.state === state) return;
    this.options.log.info({ stream: this.id, state, reconnects: this.reconnects, ...(this.lastError ? { lastError: this.lastError } : {}) }, 'stream state');
    this.state$.next(state);
  }

  private run$(model: ModelBackend): Observable<FrameResult> {
    return this.connection$(model).pipe(
      retry({
        resetOnSuccess: true,
        delay: (err: unknown, attempt: number) => {
          if (isPermanent(err, this.localFile)) return throwError(() => err);
          this.reconnects++;
          this.lastError = errorMessage(err);
          const state = retryState(err);
          this.setState(state);
          this.chain?.flush({ streamId: this.id, reason: 'reconnect' });
          const backoff = this.current.reconnect;
          // Refused credentials: the slowest pace from the first retry (maxMs, jittered).
          const delay = state === 'unauthorized' ? backoffDelay(1, { ...backoff, initialMs: backoff.maxMs }) : backoffDelay(attempt, backoff);
          this.options.log.warn({ stream: this.id, err, attempt, delayMs: delay }, 'stream reconnecting');
          // The next attempt starts once the failed one's source has stopped (a frozen ffmpeg is
          // killed before its replacement spawns). Its stop begins as the attempt is torn down,
          // just after this callback: hence the wait is looked up when the delay is over.
          return timer(delay).pipe(concatMap(() => Promise.all([...this.stopping])));
        },
      }),
    );
  }

  /** One connection attempt: open the source, run its frames until it fails or ends. */
  private connection$(model: ModelBackend): Observable<FrameResult> {
    const s = this.current;
    const output = { width: model.info.inputWidth, height: model.info.inputHeight };
    return new Observable<FrameSource>((subscriber) => {
      // Unsubscribing (stop, removal, shutdown) ends an open in flight at once: a silent camera
      // must not hold shutdown for the whole probe timeout. stop() still waits for that open to
      // settle (and stops a source that opened anyway), so no process outlives the stream.
      const abort = new AbortController();
      const opening = this.options.sources.open({
        streamId: s.id,
        url: s.url,
        realtime: s.realtime,
        loop: s.loop,
        fps: s.fps,
        jpeg: s.video ? { quality: s.jpegQuality, maxWidth: s.jpegMaxWidth } : undefined,
        // Motion regions crop the source frames (docs/motion.md).
        source: this.sourceFrames,
        rtspTransport: s.rtspTransport,
        deinterlace: s.deinterlace,
        hwaccel: hwaccelOf(s.hwaccel, s.hwaccelDevice),
        startSeq: this.nextSeq,
        // The model is known: a live source opens once, by its decoder.
        output,
        openTimeoutMs: s.probeTimeoutMs,
        previousPlaylist: this.playlist,
        signal: abort.signal,
      });
      this.track(
        opening.then(
          (source) => (subscriber.closed ? source.stop() : undefined),
          () => undefined,
        ),
      );
      opening.then(
        (source) => {
          subscriber.next(source);
          subscriber.complete();
        },
        (err: unknown) => subscriber.error(err),
      );
      return () => abort.abort();
    }).pipe(
      switchMap((source) => {
        this.source = source.info;
        this.openSource = source;
        const frames = source.frames(output);
        const link = linkFrames(s.dropPolicy, this.counted(frames), {
          maxStalenessMs: s.maxStalenessMs,
          onDrop: (reason) => this.counters.dropped(reason),
        });
        // A live source that ends has gone away (camera reboot, server restart): reconnect.
        // So has a looped finite source that ends: it was emptied or cut short while it played.
        // A live HLS broadcast whose playlist got its end marker is over: it ends (or, looped,
        // is reopened as the recording it now is).
        const ended = defer(() =>
          (source.info.isFile || source.playlist?.ended === true) && !s.loop ? EMPTY : throwError(() => new SourceEndedError(source.info.isFile)),
        );
        return concat(this.processEach(link), ended).pipe(
          finalize(() => {
            this.playlist = source.playlist ?? this.playlist;
            this.decodeErrorsBefore += source.decodeErrors ?? 0;
            this.openSource = undefined;
            this.track(source.stop());
          }),
        );
      }),
    );
  }

  /**
   * Demand-driven loop: the next frame is taken from the link only after the previous one has
   * been through the chain, so the drop policy (not an unbounded buffer) decides what waits.
   * Waiting longer than the stall timeout for a frame fails the attempt.
   */
  private processEach(link: FrameLink): Observable<FrameResult> {
    const stallSeconds = this.current.stallTimeoutSeconds;
    return defer(() => {
      let ended = false;
      return defer(() => link.take()).pipe(
        timeout({ first: stallSeconds * 1000, with: () => throwError(() => new StallError(stallSeconds)) }),
        concatMap((frame) => {
          if (frame === null) {
            ended = true;
            return EMPTY;
          }
          const processed = (this.chain as StageChain).process(frame).then(this.countInferred);
          // stop() waits for frames in flight, so a model is never closed under a running batch.
          this.track(processed.then(() => undefined, () => undefined));
          return from(processed);
        }),
        repeat({ delay: () => (ended ? EMPTY : of(0)) }),
      );
    });
  }

  private readonly countInferred = (result: FrameResult): FrameResult => {
    if (result.inferred !== false) this.counters.inferred();
    if (result.motion) this.counters.gated(result.motion, result.inferred !== false);
    return result;
  };

  /** Counts decoded frames, keeps seq continuous across sources, and marks the stream streaming. */
  private async *counted(frames: AsyncIterable<Frame>): AsyncGenerator<Frame> {
    for await (const frame of frames) {
      this.nextSeq = frame.seq + 1;
      this.counters.decoded(nowMs());
      if (this.state !== 'streaming') {
        this.lastError = undefined;
        this.setState('streaming');
      }
      yield frame;
    }
  }

  private track(stopped: Promise<void>): void {
    const p = stopped.catch((err: unknown) => this.options.log.warn({ stream: this.id, err }, 'source stop failed')).finally(() => this.stopping.delete(p));
    this.stopping.add(p);
  }
}

/** Settings the runner, its source and its drop policy read: changing one needs a new runner. */
const RUNNER_SETTINGS = [
  'url', 'model', 'fps', 'dropPolicy', 'maxStalenessMs', 'loop', 'realtime', 'video', 'stallTimeoutSeconds',
  'rtspTransport', 'deinterlace', 'hwaccel', 'hwaccelDevice', 'reconnect', 'probeTimeoutMs', 'jpegQuality', 'jpegMaxWidth',
] as const satisfies readonly (keyof StreamSettings)[];

/**
 * A file's errors that another attempt cannot fix: it is not a video (or has no video stream, or
 * is an MP4 without its index), or ffprobe cannot run. A file that is missing, unreadable or empty
 * may be back (restored, renamed back, written again): retried like a live source.
 */
const PERMANENT_FILE_ERRORS: ReadonlySet<SourceErrorCode> = new Set(['NOT_VIDEO', 'NO_VIDEO_STREAM', 'TRUNCATED', 'PROBE_FAILED']);

/** Errors that another attempt cannot fix. Network sources are always retried: cameras and servers come back. */
function isPermanent(err: unknown, localFile: boolean): boolean {
  if (err instanceof InferenceError) return true;
  return localFile && err instanceof SourceError && PERMANENT_FILE_ERRORS.has(err.code);
}

/** The state a failed attempt leaves the stream in until the next one: why it is not streaming. */
function retryState(err: unknown): StreamState {
  if ((err instanceof SourceError || err instanceof DecodeError) && err.code === 'UNAUTHORIZED') return 'unauthorized';
  if (err instanceof StallError || ((err instanceof SourceError || err instanceof DecodeError) && err.code === 'STALLED')) return 'stalled';
  return 'reconnecting';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
