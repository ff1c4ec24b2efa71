/**
 * One stream, end to end: source -> drop policy -> inference -> tracking -> broadcast, inside a
 * connection state machine:
 *
 *   connecting -> streaming -> reconnecting -> streaming -> ... -> stopped
 *                      \-> ended (a file that is not looped reached its end)
 *   any -> failed (permanent: the model cannot run, a local file cannot be read)
 *
 * A connection attempt is probe + decoder; it fails on a probe/decode error, on a stall (no frame
 * for `stallTimeoutSeconds` while inference waits for one) and, for live sources, on end of
 * stream. Failed attempts retry after an exponential, jittered, capped backoff; the backoff
 * resets once a frame has gone through. Every decoder is stopped (its ffmpeg ended) when its
 * attempt ends, whatever the reason.
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
  tap,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import { probeSource, SourceError, type ProbedSource } from '../ingest/probe.js';
import { FrameDecoder } from '../ingest/decoder.js';
import type { ByteTracker } from '../track/byteTracker.js';
import type { Frame, FrameResult, StreamState, StreamStats } from '../types.js';
import type { StreamSettings } from '../config.js';
import type { Logger } from '../log.js';
import { backoffDelay } from './backoff.js';
import { linkFrames, type FrameLink } from './dropPolicy.js';
import { inferFrame, InferenceError } from './inference.js';
import type { LoadedModel } from './modelPool.js';
import { StreamCounters } from './stats.js';
import { nowMs } from './clock.js';
import { createTracker, trackDetections } from './tracking.js';

export class StallError extends Error {
  constructor(seconds: number) {
    super(`no frame for ${seconds} s: restarting the decoder`);
    this.name = 'StallError';
  }
}

class SourceEndedError extends Error {
  constructor() {
    super('live source ended the stream');
    this.name = 'SourceEndedError';
  }
}

export interface StreamRunnerOptions {
  log: Logger;
  /** Called once per frame that made it through the pipeline, in seq order. */
  onResult(result: FrameResult): void;
}

export class StreamRunner {
  readonly counters = new StreamCounters();
  readonly state$: BehaviorSubject<StreamState>;
  reconnects = 0;
  lastError: string | undefined;
  private nextSeq = 0;
  private subscription: Subscription | undefined;
  private tracker: ByteTracker | undefined;
  private provider: string | undefined;
  private readonly stopping = new Set<Promise<void>>();
  private readonly isFile: boolean;

  constructor(
    readonly settings: StreamSettings,
    private readonly options: StreamRunnerOptions,
  ) {
    this.state$ = new BehaviorSubject<StreamState>('connecting');
    this.isFile = !/^[a-z][a-z0-9+.-]+:\/\//i.test(settings.url);
    this.tracker = createTracker(settings.tracker);
  }

  get id(): string {
    return this.settings.id;
  }

  get state(): StreamState {
    return this.state$.value;
  }

  stats(now = nowMs()): StreamStats {
    const stats = this.counters.snapshot(this.id, this.state, this.reconnects, this.lastError, now);
    return this.provider ? { ...stats, provider: this.provider } : stats;
  }

  /** Starts pulling frames through `model`. */
  start(model: LoadedModel): void {
    if (this.subscription || this.isOver()) return;
    this.provider = model.detector.activeProvider;
    this.subscription = this.run$(model).subscribe({
      next: (result) => this.options.onResult(result),
      error: (err: unknown) => this.fail(err),
      complete: () => this.setState('ended'),
    });
  }

  /** Marks the stream permanently failed (e.g. its model could not be loaded). */
  fail(err: unknown): void {
    this.lastError = errorMessage(err);
    this.options.log.error({ stream: this.id, err }, 'stream failed');
    this.setState('failed');
  }

  /** Ends the pipeline and waits until every ffmpeg it started has exited and inference in flight is done. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    await Promise.all([...this.stopping]);
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

  private run$(model: LoadedModel): Observable<FrameResult> {
    const s = this.settings;
    return this.connection$(model).pipe(
      // A live source that ends has gone away (camera reboot, server restart): reconnect.
      (attempt) => (this.isFile ? attempt : concat(attempt, defer(() => throwError(() => new SourceEndedError())))),
      retry({
        resetOnSuccess: true,
        delay: (err: unknown, attempt: number) => {
          if (isPermanent(err, this.isFile)) return throwError(() => err);
          this.reconnects++;
          this.lastError = errorMessage(err);
          this.setState('reconnecting');
          if (!s.tracker.keepTracksOnReconnect) this.tracker?.reset();
          const delay = backoffDelay(attempt, s.reconnect);
          this.options.log.warn({ stream: this.id, err, attempt, delayMs: delay }, 'stream reconnecting');
          return timer(delay);
        },
      }),
    );
  }

  /** One connection attempt: probe, start a decoder, run frames until it fails or ends. */
  private connection$(model: LoadedModel): Observable<FrameResult> {
    const s = this.settings;
    return new Observable<ProbedSource>((subscriber) => {
      // Unsubscribing (stop, removal, shutdown) ends a probe in flight at once: a silent camera
      // must not hold shutdown for the whole probe timeout. stop() still waits for that ffprobe
      // to exit, so none outlives the stream.
      const abort = new AbortController();
      const probing = probeSource(s.url, { timeoutMs: s.probeTimeoutMs, rtspTransport: s.rtspTransport, signal: abort.signal });
      this.track(probing.then(() => undefined, () => undefined));
      probing.then(
        (info) => {
          subscriber.next(info);
          subscriber.complete();
        },
        (err: unknown) => subscriber.error(err),
      );
      return () => abort.abort();
    }).pipe(
      switchMap((info) => {
        const decoder = new FrameDecoder({
          streamId: s.id,
          url: s.url,
          info,
          dstWidth: model.detector.info.inputWidth,
          dstHeight: model.detector.info.inputHeight,
          realtime: s.realtime,
          loop: s.loop,
          fps: s.fps || undefined,
          jpeg: s.video ? { quality: s.jpegQuality, maxWidth: s.jpegMaxWidth || undefined } : undefined,
          rtspTransport: s.rtspTransport,
          startSeq: this.nextSeq,
          onResolutionChange: (c) =>
            this.options.log.info({ stream: this.id, from: `${c.previous.width}x${c.previous.height}`, to: `${c.width}x${c.height}` }, 'source resolution changed; letterboxing the new size'),
        });
        const link = linkFrames(s.dropPolicy, this.counted(decoder.frames()), {
          maxStalenessMs: s.maxStalenessMs,
          onDrop: (reason) => this.counters.dropped(reason),
        });
        return this.inferEach(link, model).pipe(
          trackDetections(this.tracker),
          finalize(() => this.track(decoder.stop())),
        );
      }),
    );
  }

  /**
   * Demand-driven loop: the next frame is taken from the link only after the previous one has
   * been inferred, so the drop policy (not an unbounded buffer) decides what waits. Waiting longer
   * than the stall timeout for a frame fails the attempt.
   */
  private inferEach(link: FrameLink, model: LoadedModel): Observable<FrameResult> {
    const infer = inferFrame(model.batcher, this.settings);
    const stallMs = this.settings.stallTimeoutSeconds * 1000;
    return defer(() => {
      let ended = false;
      return defer(() => link.take()).pipe(
        timeout({ first: stallMs, with: () => throwError(() => new StallError(this.settings.stallTimeoutSeconds)) }),
        concatMap((frame) => {
          if (frame === null) {
            ended = true;
            return EMPTY;
          }
          const inferred = infer(frame);
          // stop() waits for inference in flight, so a model is never closed under a running batch.
          this.track(inferred.then(() => undefined, () => undefined));
          return from(inferred);
        }),
        tap(() => this.counters.inferred()),
        repeat({ delay: () => (ended ? EMPTY : of(0)) }),
      );
    });
  }

  /** Counts decoded frames, keeps seq continuous across decoders, and marks the stream streaming. */
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
    const p = stopped.catch((err: unknown) => this.options.log.warn({ stream: this.id, err }, 'decoder stop failed')).finally(() => this.stopping.delete(p));
    this.stopping.add(p);
  }
}

/** Errors that another attempt cannot fix. Live sources are always retried: cameras come back. */
function isPermanent(err: unknown, isFile: boolean): boolean {
  if (err instanceof InferenceError) return true;
  return isFile && err instanceof SourceError;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
