/**
 * The result-sink seam (issue 12, /work/coord/CONTRACT.md), with the contract's exact shape until
 * src/output/sink.ts lands; then this file is replaced by the import.
 */
import type { FrameResult } from '../../types.js';

/**
 * 'wait': the producer awaits write(). 'drop': write() never blocks, drops what it cannot take.
 * 'buffer': write() never blocks; a bounded queue, oldest dropped and counted when full.
 */
export type SinkBackpressure = 'wait' | 'drop' | 'buffer';

export interface ResultSink {
  readonly name: string;
  readonly backpressure: SinkBackpressure;
  write(result: FrameResult): void | Promise<void>;
  /** Flushes what is buffered (bounded time) and releases resources. */
  close(): Promise<void>;
  /** Drops by reason, for /metrics and stats. */
  drops?(): Record<string, number>;
}
