/**
 * `GET /api/events` and `GET /api/events/:id/snapshot.jpg`: the event store over HTTP
 * (docs/analytics.md). Without a store (no `dataDir`) both answer 404 saying so.
 */
import { EventQueryError, parseEventQuery } from '../output/events/eventQuery.js';
import { EventStoreUnavailable } from '../output/events/eventStore.js';
import type { StoredEvent } from '../output/events/eventDb.js';
import type { EventFilter } from '../output/events/eventQuery.js';
import { HttpError } from './body.js';

/** What the API needs of the store. */
export interface EventQueries {
  query(filter: EventFilter): Promise<StoredEvent[]>;
  snapshot(id: string): Promise<Uint8Array | undefined>;
}

const NO_STORE = 'no event store: set "dataDir" in the config to keep events';

export function snapshotPath(id: string): string {
  return `/api/events/${encodeURIComponent(id)}/snapshot.jpg`;
}

async function ask<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof EventStoreUnavailable) throw new HttpError(503, err.message);
    throw err;
  }
}

/** The body of GET /api/events: `{"events": [...]}`, newest first, `snapshot` set where there is one. */
export async function listEvents(store: EventQueries | undefined, params: URLSearchParams): Promise<{ events: unknown[] }> {
  if (!store) throw new HttpError(404, NO_STORE);
  let filter: EventFilter;
  try {
    filter = parseEventQuery(params);
  } catch (err) {
    if (err instanceof EventQueryError) throw new HttpError(400, err.message, { parameter: err.parameter });
    throw err;
  }
  const stored = await ask(() => store.query(filter));
  return { events: stored.map((s) => (s.snapshot ? { ...s.event, snapshot: snapshotPath(s.event.id) } : s.event)) };
}

/** The JPEG of GET /api/events/:id/snapshot.jpg. */
export async function eventSnapshot(store: EventQueries | undefined, id: string): Promise<Uint8Array> {
  if (!store) throw new HttpError(404, NO_STORE);
  const jpeg = await ask(() => store.snapshot(id));
  if (!jpeg) throw new HttpError(404, `no snapshot of event "${id}"`);
  return jpeg;
}
