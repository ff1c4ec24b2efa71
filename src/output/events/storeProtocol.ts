/** Messages between the event store (main thread, eventStore.ts) and its worker (storeWorker.ts). */
import type { EventDbLimits, InsertResult, NewEvent, StoredEvent } from './eventDb.js';
import type { EventFilter } from './eventQuery.js';

export interface StoreWorkerData extends EventDbLimits {
  dir: string;
}

export type StoreRequest =
  | { op: 'insert'; req: number; batch: NewEvent[]; receivedMs: number }
  | { op: 'query'; req: number; filter: EventFilter }
  | { op: 'snapshot'; req: number; id: string }
  | { op: 'retain'; req: number; nowMs: number }
  | { op: 'close'; req: number };

export interface StoreReplies {
  insert: InsertResult;
  query: StoredEvent[];
  snapshot: Uint8Array | undefined;
  retain: number;
  close: undefined;
}

/** `error` set when the request failed (the database cannot be opened or written). */
export type StoreReply = { req: number; value?: unknown; error?: string };
