/**
 * What a tile says about its stream, from the stream's state and stats, the age of its newest
 * frame and the page's connection: a condition an operator can trust (live, degraded, no signal,
 * failed, ...), a badge, a message over the video when it is not live, and a one-line summary for
 * the tile's accessible name.
 */
import type { StreamState, StreamStats } from './wire.js';

export type TileCondition = 'waiting' | 'live' | 'degraded' | 'no-signal' | 'reconnecting' | 'unauthorized' | 'failed' | 'ended' | 'stopped' | 'offline';

export interface TileStatusInput {
  state: StreamState | undefined;
  error?: string;
  stats?: StreamStats;
  /** Time since the newest frame arrived, ms; undefined before the first. */
  frameAgeMs: number | undefined;
  /** The frames a second the page asked the server for (subscribe `maxFps`); undefined: every frame. */
  maxFps?: number;
  /** The page is connected to the server. */
  online: boolean;
}

export interface TileStatus {
  condition: TileCondition;
  badge: string;
  /** Shown over the video when it is not live. */
  message?: string;
  /** Why the stream is degraded or failed, or how old the frame shown is. */
  detail?: string;
  /** The frame shown is not live: drawn dimmed, without boxes. */
  dim: boolean;
  /** For the accessible name: "live, 14.8 fps", "no signal, last frame 14 s ago". */
  summary: string;
}

/** No frame for this long (at least; longer for slow streams) is "no signal". */
export const NO_SIGNAL_MS = 2000;
/** Output under this share of the input rate is "degraded". */
export const DEGRADED_FPS_SHARE = 0.5;
/** A median latency over this is "degraded", ms. */
export const DEGRADED_LATENCY_MS = 500;

/** "800 ms", "14 s", "3 min", "2 h 5 min". */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms / 100) * 100)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 120) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Why a streaming stream is degraded, or undefined. */
export function degradedReason(s: StreamStats | undefined): string | undefined {
  if (!s) return undefined;
  const reasons: string[] = [];
  if (s.fpsIn >= 1 && s.fpsOut < DEGRADED_FPS_SHARE * s.fpsIn) reasons.push(`output ${s.fpsOut.toFixed(1)} of ${s.fpsIn.toFixed(1)} fps`);
  if (s.framesSent > 0 && s.latency.p50 > DEGRADED_LATENCY_MS) reasons.push(`latency ${Math.round(s.latency.p50)} ms`);
  return reasons.length ? reasons.join(', ') : undefined;
}

/**
 * How long without a frame means no signal: 2 s, or three of the longest intervals at which frames
 * can come: the stream's own, plus 1/maxFps when the page asked for fewer (the server sends the
 * first frame captured 1/maxFps after the last one sent).
 */
export function noSignalAfterMs(s: StreamStats | undefined, maxFps?: number): number {
  const intervalMs = (s && s.fpsIn > 0 ? 1000 / s.fpsIn : 0) + (maxFps ? 1000 / maxFps : 0);
  return Math.max(NO_SIGNAL_MS, 3 * intervalMs);
}

export function tileStatus(i: TileStatusInput): TileStatus {
  const age = i.frameAgeMs === undefined ? undefined : `last frame ${formatAge(i.frameAgeMs)} ago`;
  const never = 'no frame yet';
  if (!i.online) {
    return { condition: 'offline', badge: 'offline', message: 'No connection to the server', detail: age ?? never, dim: true, summary: `offline, ${age ?? never}` };
  }
  switch (i.state) {
    case 'failed': {
      const why = i.error ?? 'no reason given';
      return { condition: 'failed', badge: 'failed', message: `Failed: ${why}`, detail: age, dim: true, summary: `failed: ${why}` };
    }
    case 'ended':
      return { condition: 'ended', badge: 'ended', message: 'Ended: the file reached its end', detail: age, dim: true, summary: 'ended' };
    case 'stopped':
      return { condition: 'stopped', badge: 'stopped', message: 'Stopped', detail: age, dim: true, summary: 'stopped' };
    case 'unauthorized': {
      const why = i.error ?? 'the source refused the credentials';
      return { condition: 'unauthorized', badge: 'unauthorized', message: `Access denied: ${why}`, detail: age ?? never, dim: true, summary: `access denied: ${why}` };
    }
    case 'stalled':
      // The server saw the source go quiet (a frozen camera, a playlist that stopped): no signal, whatever the page's clock says.
      return { condition: 'no-signal', badge: 'stalled', message: `No signal · ${age ?? never}`, detail: i.error, dim: true, summary: `no signal, ${age ?? never}` };
    case 'reconnecting':
      return {
        condition: 'reconnecting',
        badge: 'reconnecting',
        message: i.error ? `Reconnecting: ${i.error}` : 'Reconnecting…',
        detail: age ?? never,
        dim: true,
        summary: `reconnecting, ${age ?? never}`,
      };
    case 'streaming':
      break;
    default:
      return { condition: 'waiting', badge: 'connecting', message: 'Connecting…', detail: age, dim: true, summary: 'connecting' };
  }
  if (i.frameAgeMs === undefined) return { condition: 'waiting', badge: 'waiting', message: 'Waiting for the first frame…', dim: true, summary: 'waiting for the first frame' };
  if (i.frameAgeMs > noSignalAfterMs(i.stats, i.maxFps)) return { condition: 'no-signal', badge: 'no signal', message: `No signal · ${age}`, detail: age, dim: true, summary: `no signal, ${age}` };
  const fps = i.stats ? `, ${i.stats.fpsOut.toFixed(1)} fps` : '';
  const degraded = degradedReason(i.stats);
  if (degraded) return { condition: 'degraded', badge: 'degraded', detail: degraded, dim: false, summary: `degraded: ${degraded}` };
  return { condition: 'live', badge: 'live', dim: false, summary: `live${fps}` };
}
