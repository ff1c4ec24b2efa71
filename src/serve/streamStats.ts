/**
 * Stream stats as serve reports them (GET /api/streams, WebSocket `stats`, /metrics): the hub's,
 * with the client drops that serve counts itself (the pipeline does not know its clients).
 */
import type { StreamState, StreamStats } from '../types.js';
import type { StreamHubApi } from '../pipeline/hub.js';

/** Messages dropped for slow WebSocket clients, per stream, since the stream was added. */
export class ClientDropCounts {
  private readonly counts = new Map<string, number>();

  add(stream: string, n = 1): void {
    this.counts.set(stream, (this.counts.get(stream) ?? 0) + n);
  }

  get(stream: string): number {
    return this.counts.get(stream) ?? 0;
  }

  /** The stream was removed: a stream added later under its id starts from zero. */
  forget(stream: string): void {
    this.counts.delete(stream);
  }
}

export interface StreamStatsSource {
  stats(id: string): StreamStats | undefined;
  list(): StreamStats[];
}

export function servedStats(hub: Pick<StreamHubApi, 'stats' | 'list'>, clientDrops: ClientDropCounts, options: { briefErrors?: boolean } = {}): StreamStatsSource {
  const withDrops = (s: StreamStats): StreamStats => ({
    ...s,
    drops: { ...s.drops, client: clientDrops.get(s.id) },
    ...(s.lastError !== undefined && options.briefErrors ? { lastError: briefError(s.state) } : {}),
  });
  return {
    stats: (id) => {
      const s = hub.stats(id);
      return s && withDrops(s);
    },
    list: () => hub.list().map(withDrops),
  };
}

/**
 * A stream's error as `server.sourceErrors: "brief"` shows it: that the stream is not running, not
 * why (connection refused, timeout, not a video...), so that API users cannot tell an internal
 * host that refuses from one that answers. The log keeps the details.
 */
export function briefError(state: StreamState): string {
  return state === 'failed' ? 'stream failed (details in the server log)' : 'source unavailable (details in the server log)';
}
