/**
 * One stream's flow-control acknowledgements (docs/protocol.md, "Flow control"): which frames the
 * page has consumed, so the server sends the next ones. A frame is consumed when it is drawn, when
 * it arrives for a tile that draws nothing now (off screen, hidden page: its detections are all it
 * takes), or once its video has not been drawn `VIDEO_GRACE_MS` after its detections came (the
 * server skipped it, or it did not decode): the page never waits on a frame that will not come.
 */

/** How long a frame's video may take to arrive and be drawn before the frame counts as consumed anyway. */
export const VIDEO_GRACE_MS = 250;

export class FrameAcks {
  private received = -1;
  private consumed = -1;
  private reported = -1;
  /** When the oldest frame received and not yet consumed arrived. */
  private waitingSince: number | undefined;

  /** A frame's detections arrived. A seq going back means the stream started again: counting restarts. */
  receive(seq: number, now: number): void {
    if (seq <= this.received) this.reset();
    this.received = seq;
    this.waitingSince ??= now;
  }

  /** The frame `seq` (and every earlier one) was drawn or needs no drawing. */
  consume(seq: number, now: number): void {
    if (seq > this.consumed) this.consumed = seq;
    this.waitingSince = this.received > this.consumed ? now : undefined;
  }

  /** The seq to acknowledge now (it covers every earlier frame), or undefined when there is nothing new. */
  take(now: number): number | undefined {
    if (this.waitingSince !== undefined && now - this.waitingSince >= VIDEO_GRACE_MS) this.consume(this.received, now);
    if (this.consumed <= this.reported) return undefined;
    this.reported = this.consumed;
    return this.consumed;
  }

  /** A new connection: nothing received, nothing owed. */
  reset(): void {
    this.received = this.consumed = this.reported = -1;
    this.waitingSince = undefined;
  }
}
