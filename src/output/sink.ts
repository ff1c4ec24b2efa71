/**
 * Where results go. Every output (WebSocket clients, result files, and later message buses,
 * webhooks, an event store, rendered video) is a ResultSink, and declares what it does when it
 * cannot keep up, the way a GStreamer queue declares `leaky`:
 *
 *  - 'wait'  : write() returns a promise and the producer awaits it: nothing is dropped, the
 *              producer (decoding) pauses. Only for analysis, where every frame must be written.
 *  - 'drop'  : write() never blocks; the sink drops what it cannot take now and counts it by
 *              reason (WebSocket clients: newest frame wins).
 *  - 'buffer': write() never blocks; a bounded queue whose oldest entry is dropped and counted
 *              when it is full (network outputs that retry).
 *
 * A live sink (serve) must be 'drop' or 'buffer': one slow output never holds the others back. A
 * sink must not throw into the pipeline: its failures are logged and counted by the SinkSet that
 * feeds it; a 'wait' sink's rejection ends an analysis (its output would be incomplete).
 */
import type { FrameResult } from '../types.js';

export type SinkBackpressure = 'wait' | 'drop' | 'buffer';

export interface ResultSink {
  /** Names the sink in logs, /metrics and stats. */
  readonly name: string;
  readonly backpressure: SinkBackpressure;
  /** Takes one result (results of a stream arrive in frame order). Returns a promise only for 'wait'. */
  write(result: FrameResult): void | Promise<void>;
  /** Flushes what is buffered (bounded time) and releases resources. Rejects when earlier writes failed. */
  close(): Promise<void>;
  /** Drops by reason since the sink opened, for /metrics and stats. */
  drops?(): Record<string, number>;
}
