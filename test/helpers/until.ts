/**
 * Waiting for a condition in tests. A deadline here only catches a hang: it is never shorter than
 * HANG_DEADLINE_MS, whatever the caller passes, because a loaded CI machine (two test files side by
 * side on two cores) can be many times slower than an idle one. A test that claims a time bound
 * measures the time itself and asserts it separately.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export const HANG_DEADLINE_MS = 30_000;

export async function until(pred: () => boolean | Promise<boolean>, ms = 5000, what = 'condition', pollMs = 2): Promise<void> {
  const limit = Math.max(ms, HANG_DEADLINE_MS);
  const end = Date.now() + limit;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${limit} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** until() for a probe that finds something: resolves with the first value that is not undefined. */
export async function untilValue<T>(probe: () => Promise<T | undefined>, ms = 5000, what = 'value', pollMs = 100): Promise<T> {
  let found: T | undefined;
  await until(async () => (found = await probe()) !== undefined, ms, what, pollMs);
  return found!;
}
