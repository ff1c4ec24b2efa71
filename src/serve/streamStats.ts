/**
 * Stream stats as serve reports them (GET /api/streams, WebSocket `stats`, /metrics): the hub's,
 * with the client drops that serve counts itself (the pipeline does not know its clients).
 */
import type { StreamStats } from '../types.js';
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

export function servedStats(hub: Pick<StreamHubApi, 'stats' | 'list'>, clientDrops: ClientDropCounts): StreamStatsSource {
  const withDrops = (s: StreamStats): StreamStats => ({ ...s, drops: { ...s.drops, client: clientDrops.get(s.id) } });
  return {
    stats: (id) => {
      const s = hub.stats(id);
      return s && withDrops(s);
    },
    list: () => hub.list().map(withDrops),
  };
}
