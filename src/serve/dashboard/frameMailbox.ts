/**
 * Pairs one stream's video frames with their detections and keeps only the newest pair for the
 * renderer. Detections arrive first (docs/protocol.md), so the last few are kept by seq; a frame
 * claims its own and everything older is forgotten. Nothing is queued: a newer frame replaces an
 * undrawn one (counted as skipped), and a frame older than one already shown is released.
 */
import type { DetectionsMessage } from './wire.js';

export interface PairedFrame<Image> {
  seq: number;
  image: Image | undefined;
  detections: DetectionsMessage;
}

export class FrameMailbox<Image> {
  private readonly recent = new Map<number, DetectionsMessage>();
  private latest: PairedFrame<Image> | undefined;
  private lastDetectionsSeq = -1;
  private newestSeq = -1;
  /** Frames replaced before they were drawn. */
  skipped = 0;
  /** Frames whose detections were no longer (or never) known. */
  unpaired = 0;

  constructor(
    private readonly keep = 8,
    private readonly release: (image: Image) => void = () => {},
  ) {}

  /** Keeps a frame's detections until its video arrives. Seq going back means the stream restarted. */
  addDetections(d: DetectionsMessage): void {
    if (d.seq <= this.lastDetectionsSeq) this.clear();
    this.lastDetectionsSeq = d.seq;
    this.recent.set(d.seq, d);
    // A Map keeps insertion order: the first key is the oldest seq.
    while (this.recent.size > this.keep) this.recent.delete(this.recent.keys().next().value as number);
  }

  /** The detections of the frame `seq` (dropping those of older frames), or undefined. */
  claim(seq: number): DetectionsMessage | undefined {
    const d = this.recent.get(seq);
    if (!d) {
      this.unpaired++;
      return undefined;
    }
    for (const k of this.recent.keys()) if (k <= seq) this.recent.delete(k);
    return d;
  }

  /** Offers a decoded frame (or, for streams without video, none); false if a newer one was already offered. */
  offer(detections: DetectionsMessage, image?: Image): boolean {
    if (detections.seq <= this.newestSeq) {
      if (image !== undefined) this.release(image);
      return false;
    }
    if (this.latest) {
      this.skipped++;
      if (this.latest.image !== undefined) this.release(this.latest.image);
    }
    this.latest = { seq: detections.seq, image, detections };
    this.newestSeq = detections.seq;
    return true;
  }

  /** The newest undrawn pair, handed over to the caller (who then owns its image). */
  take(): PairedFrame<Image> | undefined {
    const p = this.latest;
    this.latest = undefined;
    return p;
  }

  /** Forgets an undrawn pair that has no picture (one with a picture stays). */
  dropWithoutImage(): void {
    if (this.latest && this.latest.image === undefined) this.latest = undefined;
  }

  get pending(): boolean {
    return this.latest !== undefined;
  }

  /** Forgets everything, e.g. after a reconnect (seq numbering may have restarted with the server). */
  clear(): void {
    this.recent.clear();
    if (this.latest?.image !== undefined) this.release(this.latest.image);
    this.latest = undefined;
    this.lastDetectionsSeq = -1;
    this.newestSeq = -1;
  }
}
