/**
 * Admission control for the server's image work (POST /api/detect, snapshot drawing), so no burst
 * of requests can take the memory or the CPU. Two limits:
 *
 * - requests: at most `concurrency + queue` /api/detect requests are in the server at once
 *   (uploading, waiting, decoding or in inference); one more is refused at once (BusyError, a 503
 *   with Retry-After), before its body is read.
 * - decodes: at most `concurrency` images are decoded at once, and together they may need at most
 *   `memoryBytes` (each decode's need estimated from the image's header, see detectImage.ts).
 *   Decodes wait their turn in order; one that waits longer than `waitMs` is refused (BusyError).
 */

export interface ImageGateLimits {
  concurrency: number;
  queue: number;
  memoryBytes: number;
  waitMs: number;
}

/** The server is too busy for this request now; the client may try again later. */
export class BusyError extends Error {
  override readonly name = 'BusyError';
}

interface Waiter {
  bytes: number;
  start(): void;
  timer: NodeJS.Timeout;
}

export class ImageGate {
  private admitted = 0;
  private decoding = 0;
  private bytesInUse = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly limits: ImageGateLimits) {}

  /** Takes a request in, or refuses it (BusyError) when `concurrency + queue` are in already. Call the returned release once, when it is answered. */
  admit(): () => void {
    if (this.admitted >= this.limits.concurrency + this.limits.queue) {
      throw new BusyError(`too many images in progress (${this.admitted}): try again shortly`);
    }
    this.admitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.admitted--;
    };
  }

  /** Runs `work` (a decode needing about `bytes` of memory) when a decode slot and the memory are free. */
  async decode<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    await this.acquire(Math.min(bytes, this.limits.memoryBytes));
    try {
      return await work();
    } finally {
      this.decoding--;
      this.bytesInUse -= Math.min(bytes, this.limits.memoryBytes);
      this.startWaiting();
    }
  }

  /** Requests in now, decodes running, bytes they hold (for tests and metrics). */
  get load(): { admitted: number; decoding: number; bytesInUse: number; waiting: number } {
    return { admitted: this.admitted, decoding: this.decoding, bytesInUse: this.bytesInUse, waiting: this.waiting.length };
  }

  private fits(bytes: number): boolean {
    return this.decoding < this.limits.concurrency && this.bytesInUse + bytes <= this.limits.memoryBytes;
  }

  private acquire(bytes: number): Promise<void> {
    // In order: nobody overtakes a waiting decode (a big image is not starved by small ones).
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        start: () => {
          clearTimeout(waiter.timer);
          this.take(bytes);
          resolve();
        },
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          reject(new BusyError(`waited ${this.limits.waitMs} ms for a decode slot: try again shortly`));
          this.startWaiting();
        }, this.limits.waitMs),
      };
      this.waiting.push(waiter);
    });
  }

  private take(bytes: number): void {
    this.decoding++;
    this.bytesInUse += bytes;
  }

  private startWaiting(): void {
    while (this.waiting.length && this.fits(this.waiting[0].bytes)) (this.waiting.shift() as Waiter).start();
  }
}
