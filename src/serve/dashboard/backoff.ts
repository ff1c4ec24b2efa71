/** Reconnect delays: exponential, capped, minus up to `jitter` of it at random so tabs do not retry in step. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  jitter: number;
}

export const dashboardBackoff: BackoffOptions = { initialMs: 500, maxMs: 5000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, o: BackoffOptions = dashboardBackoff, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - o.jitter * random()));
}
