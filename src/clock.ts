/**
 * The one clock of the pipeline: epoch milliseconds with sub-millisecond precision. Every
 * FrameTiming field, the batcher's queue times and the stats windows read it, so spans between
 * stamps taken in different stages (and different modules) are comparable.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
