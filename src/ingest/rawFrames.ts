/** Cuts a raw video pipe into frames of a fixed byte size. Pure (no I/O). */
export class RawFrameSplitter {
  private current: Buffer | undefined;
  private filled = 0;

  constructor(readonly frameBytes: number) {}

  /** The frames this chunk completes; each owns its ArrayBuffer, so it can be transferred to a worker. */
  push(chunk: Buffer): Buffer[] {
    const done: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      this.current ??= Buffer.allocUnsafeSlow(this.frameBytes);
      const n = chunk.copy(this.current, this.filled, off);
      off += n;
      this.filled += n;
      if (this.filled === this.frameBytes) {
        done.push(this.current);
        this.current = undefined;
        this.filled = 0;
      }
    }
    return done;
  }

  /** Bytes of the frame in progress. */
  get partialBytes(): number {
    return this.filled;
  }
}
