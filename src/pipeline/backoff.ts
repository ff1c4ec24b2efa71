/** Reconnect delays: exponential growth, capped, with random jitter so cameras do not retry in lockstep. */
import type { BackoffSettings } from '../config.js';

/**
 * Delay before reconnect attempt `attempt` (1-based): min(maxMs, initialMs * factor^(attempt-1)),
 * of which a random fraction up to `jitter` is taken off. Never above maxMs.
 */
export function backoffDelay(attempt: number, b: BackoffSettings, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.factor, Math.max(0, attempt - 1)));
  return Math.round(base * (1 - b.jitter * random()));
}
