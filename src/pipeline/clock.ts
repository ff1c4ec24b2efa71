/** Epoch milliseconds with sub-ms precision, the clock every FrameTiming field uses. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
