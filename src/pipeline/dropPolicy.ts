/**
 * The link between decoding and inference, where frames are dropped (like a GStreamer queue with
 * `leaky`). Inference `take()`s one frame when it is ready for the next:
 *
 * - `latest`: the decoder runs freely into a LatestFrameMailbox; take() gets the newest frame and
 *   every frame overwritten while inference was busy is dropped (reason `policy`).
 * - `queue:N`: the decoder runs freely into a FIFO of N frames; when full, the oldest is dropped.
 * - `all`: nothing is buffered; take() pulls straight from the decoder, so ffmpeg's pipe fills and
 *   decoding pauses while inference is behind. No frame is ever dropped by the policy.
 *
 * With `maxStalenessMs` > 0 any policy also drops (reason `staleness`) a frame that has waited
 * longer than that when inference could start.
 */
import type { DropPolicy, DropReason, Frame } from '../types.js';

export type LinkDropReason = Exclude<DropReason, 'client'>;

export interface FrameLink {
  /** The next frame for inference; null once the source has ended. Rejects with the source's error. */
  take(): Promise<Frame | null>;
}

export interface LinkOptions {
  maxStalenessMs: number;
  onDrop(reason: LinkDropReason, frame: Frame): void;
  now?: () => number;
}

/** A FIFO of at most `capacity` items that evicts its oldest item to make room. */
export class DropOldestQueue<T> {
  private readonly items: T[] = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
  }

  /** Adds an item; returns the evicted one, if any. */
  put(item: T): T | undefined {
    this.items.push(item);
    return this.items.length > this.capacity ? this.items.shift() : undefined;
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  get size(): number {
    return this.items.length;
  }
}

/** Holds only the newest frame: a queue of one. */
export class LatestFrameMailbox extends DropOldestQueue<Frame> {
  constructor() {
    super(1);
  }
}

function isStale(frame: Frame, opts: LinkOptions): boolean {
  return opts.maxStalenessMs > 0 && (opts.now ?? Date.now)() - frame.captureTs > opts.maxStalenessMs;
}

/** `all`: pull-through, the decoder only runs when inference asks. */
class PullThroughLink implements FrameLink {
  constructor(
    private readonly frames: AsyncIterator<Frame>,
    private readonly opts: LinkOptions,
  ) {}

  async take(): Promise<Frame | null> {
    for (;;) {
      const next = await this.frames.next();
      if (next.done) return null;
      if (!isStale(next.value, this.opts)) return next.value;
      this.opts.onDrop('staleness', next.value);
    }
  }
}

/** `latest` and `queue:N`: a pump drains the decoder into a drop-oldest buffer. */
class BufferedLink implements FrameLink {
  private ended = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  constructor(
    frames: AsyncIterator<Frame>,
    private readonly buffer: DropOldestQueue<Frame>,
    private readonly opts: LinkOptions,
  ) {
    void this.pump(frames);
  }

  private async pump(frames: AsyncIterator<Frame>): Promise<void> {
    try {
      for (;;) {
        const next = await frames.next();
        if (next.done) break;
        const evicted = this.buffer.put(next.value);
        if (evicted) this.opts.onDrop('policy', evicted);
        this.notify();
      }
    } catch (err) {
      this.error = err ?? new Error('frame source failed');
    }
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async take(): Promise<Frame | null> {
    for (;;) {
      const frame = this.buffer.shift();
      if (frame) {
        if (!isStale(frame, this.opts)) return frame;
        this.opts.onDrop('staleness', frame);
        continue;
      }
      if (this.error !== undefined) throw this.error;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** Builds the link a stream's drop policy names, reading from a decoder's frame iterator. */
export function linkFrames(policy: DropPolicy, frames: AsyncIterator<Frame>, opts: LinkOptions): FrameLink {
  switch (policy.kind) {
    case 'all':
      return new PullThroughLink(frames, opts);
    case 'latest':
      return new BufferedLink(frames, new LatestFrameMailbox(), opts);
    case 'queue':
      return new BufferedLink(frames, new DropOldestQueue<Frame>(policy.size), opts);
  }
}
