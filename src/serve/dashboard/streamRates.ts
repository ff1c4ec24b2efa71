/**
 * A tile's figures as an operator reads them: rates and shares over the last stats interval
 * rather than the server's running totals, and "–" where there is no data.
 */
import type { StreamStats } from './wire.js';

const fmt = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

/** Frames dropped (drop policy and staleness) as a share of the frames decoded between two stats. */
export function droppedShare(prev: StreamStats | undefined, next: StreamStats): number | undefined {
  if (!prev) return undefined;
  const decoded = next.framesDecoded - prev.framesDecoded;
  const dropped = next.drops.policy + next.drops.staleness - (prev.drops.policy + prev.drops.staleness);
  // A restarted count (the stream was added again) or no frames: no share.
  if (decoded <= 0 || dropped < 0) return undefined;
  return Math.min(1, dropped / decoded);
}

export interface StatsLines {
  rates: string;
  latency: string;
  drops: string;
}

/**
 * The three lines of a tile's stats. `live`: the stream delivers frames now (else its latency is
 * old news and shows "–"); `viewFps`: frames this page drew per second.
 */
export function statsLines(s: StreamStats | undefined, prev: StreamStats | undefined, live: boolean, viewFps: number | undefined): StatsLines {
  const share = s ? droppedShare(prev, s) : undefined;
  return {
    rates: `in ${fmt(s?.fpsIn)} · out ${fmt(live ? s?.fpsOut : undefined)} · shown ${fmt(viewFps)} fps`,
    latency: live && s && s.framesSent > 0 ? `latency ${fmt(s.latency.p50, 0)} ms · p95 ${fmt(s.latency.p95, 0)} ms` : 'latency –',
    drops: `dropped ${share === undefined ? '–' : `${fmt(share * 100, share > 0 && share < 0.01 ? 1 : 0)} %`} · reconnects ${s?.reconnects ?? '–'}`,
  };
}

/** Per-second rate of a running total between two readings. */
export function ratePerSecond(prevCount: number | undefined, count: number, seconds: number): number | undefined {
  if (prevCount === undefined || seconds <= 0 || count < prevCount) return undefined;
  return (count - prevCount) / seconds;
}
