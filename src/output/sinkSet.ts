/**
 * Fans results out to several sinks. Each sink gets every result; a 'wait' sink's promise is
 * returned (the producer awaits it), any other sink's failure is caught, counted and logged, so one
 * broken output never stops the pipeline or the other outputs.
 */
import type { FrameResult } from '../types.js';
import type { Logger } from '../log.js';
import type { ResultSink } from './sink.js';

export class SinkSet {
  private readonly failures = new Map<string, number>();

  /** `live`: results must never wait for a sink, so 'wait' sinks are refused. */
  constructor(
    readonly sinks: readonly ResultSink[],
    private readonly log: Logger,
    opts: { live?: boolean } = {},
  ) {
    const names = sinks.map((s) => s.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`two result sinks are named "${dup}"`);
    const waiting = opts.live ? sinks.find((s) => s.backpressure === 'wait') : undefined;
    if (waiting) throw new Error(`result sink "${waiting.name}" waits for its writes: a live server needs sinks that drop or buffer`);
  }

  /** Hands `result` to every sink; returns a promise only while a 'wait' sink has not taken it yet. */
  write(result: FrameResult): void | Promise<void> {
    let waits: Promise<void>[] | undefined;
    for (const sink of this.sinks) {
      let pending: void | Promise<void> = undefined;
      try {
        pending = sink.write(result);
      } catch (err) {
        if (sink.backpressure === 'wait') throw err;
        this.failed(sink, err);
        continue;
      }
      if (!pending) continue;
      if (sink.backpressure === 'wait') (waits ??= []).push(pending);
      else pending.catch((err: unknown) => this.failed(sink, err));
    }
    if (!waits) return;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /** Drops of every sink by reason, plus `failed` writes, keyed by sink name. */
  drops(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const sink of this.sinks) {
      const d = { ...sink.drops?.() };
      const failed = this.failures.get(sink.name);
      if (failed) d.failed = (d.failed ?? 0) + failed;
      out[sink.name] = d;
    }
    return out;
  }

  /** Closes every sink; rejects with the first failure after all have closed. */
  async close(): Promise<void> {
    const closed = await Promise.allSettled(this.sinks.map((s) => s.close()));
    const failed = closed.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private failed(sink: ResultSink, err: unknown): void {
    const n = (this.failures.get(sink.name) ?? 0) + 1;
    this.failures.set(sink.name, n);
    // The first failure and then every power of two: a sink that keeps failing does not flood the log.
    if ((n & (n - 1)) === 0) this.log.error({ sink: sink.name, failures: n, err }, 'result sink failed');
  }
}
