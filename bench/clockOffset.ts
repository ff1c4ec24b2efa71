/**
 * The offset between a server's clock and ours (offset = server clock - our clock), bounded by
 * causality, the argument NTP makes:
 *
 *  - a message the server stamped at S and we received at R left the server after S was taken and
 *    reached us at R, so S - offset <= R: offset >= S - R (a lower bound);
 *  - a message the server stamped at S only after something we sent at T had reached it means
 *    T <= S - offset: offset <= S - T (an upper bound).
 *
 * The offset lies between the largest lower and the smallest upper bound; the estimate is the
 * middle and its accuracy half the width, which is at most the two one-way delays plus what the
 * server took to react (on a LAN, about one round trip). Pure: no I/O, no clock reads.
 */

export interface ClockOffset {
  /** Server clock - our clock, ms (the middle of [lo, hi]; lo when there is no upper bound). */
  estimateMs: number;
  /** Half the width of [lo, hi], ms: the true offset is within estimate +- accuracy. Infinity without an upper bound. */
  accuracyMs: number;
  lo: number;
  hi: number;
  lowerSamples: number;
  upperSamples: number;
  /** The bounds crossed (lo > hi): a clock stepped during the measurement, or the server broke an assumption. */
  inconsistent: boolean;
}

export class ClockOffsetBounds {
  private lo = -Infinity;
  private hi = Infinity;
  private lowerSamples = 0;
  private upperSamples = 0;

  /** The server stamped `serverTs` before we received the message at `receivedAt` (our clock). */
  received(serverTs: number, receivedAt: number): void {
    this.lo = Math.max(this.lo, serverTs - receivedAt);
    this.lowerSamples++;
  }

  /** The server stamped `serverTs` after our message sent at `sentAt` (our clock) had reached it. */
  caused(sentAt: number, serverTs: number): void {
    this.hi = Math.min(this.hi, serverTs - sentAt);
    this.upperSamples++;
  }

  /** The current upper bound (Infinity before any). */
  get upper(): number {
    return this.hi;
  }

  get lower(): number {
    return this.lo;
  }

  result(): ClockOffset | undefined {
    if (this.lowerSamples === 0) return undefined;
    const bounded = this.upperSamples > 0;
    const estimate = bounded ? (this.lo + this.hi) / 2 : this.lo;
    return {
      estimateMs: round(estimate),
      accuracyMs: bounded ? round(Math.abs(this.hi - this.lo) / 2) : Infinity,
      lo: round(this.lo),
      hi: round(this.hi),
      lowerSamples: this.lowerSamples,
      upperSamples: this.upperSamples,
      inconsistent: bounded && this.lo > this.hi,
    };
  }
}

const round = (v: number): number => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v);

/**
 * Where the next probe should aim: the offset value it tests. A probe sent so that it reaches the
 * server just before a frame is stamped proves offset <= the aimed value when that frame is the
 * first one back (a hit); otherwise (a miss) the next aim moves halfway towards the upper bound.
 * Bisection between the bounds, ending near the round trip's width.
 */
export function nextAim(lo: number, hi: number, previous: { aim: number; hit: boolean } | undefined): number {
  if (!previous || previous.hit) return (lo + hi) / 2;
  return (previous.aim + hi) / 2;
}
