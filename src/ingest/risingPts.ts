/**
 * Keeps a live source's timestamps rising (pure). A camera's first frames can repeat a timestamp
 * or jump back (ffmpeg's RTP timing before the first sender report: 0, -0.2, -0.16, ...), and a
 * source can restart its clock mid-stream; the tracker works in stream time and needs it to move
 * forward. A step back is closed with an offset kept for the frames after it, so the time between
 * frames stays the source's own; the gap itself is the time between their arrivals (at least 1 ms).
 */
export class RisingPts {
  private offset = 0;
  private last: { pts: number; arrivedMs: number } | undefined;

  /** The pts to report for a frame with source pts `pts` (seconds) that arrived at `arrivedMs`. */
  next(pts: number, arrivedMs: number): number {
    let out = pts + this.offset;
    if (this.last && !(out > this.last.pts)) {
      const gap = Math.max(0.001, (arrivedMs - this.last.arrivedMs) / 1000);
      this.offset += this.last.pts + gap - out;
      out = this.last.pts + gap;
    }
    this.last = { pts: out, arrivedMs };
    return out;
  }
}
