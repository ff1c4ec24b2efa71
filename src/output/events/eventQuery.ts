/**
 * The query of `GET /api/events?stream=&type=&label=&since=&until=&limit=`, validated: every error
 * names its parameter. `since` is inclusive, `until` exclusive; both take ISO 8601 times (with a
 * zone, e.g. `2025-01-31T12:00:00Z`) or epoch milliseconds.
 */
import type { AnalyticsEventType } from '../../types.js';
import { EVENT_TYPES } from '../../config.js';

export interface EventFilter {
  stream?: string;
  type?: AnalyticsEventType;
  label?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  limit: number;
}

export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;

export class EventQueryError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
    this.name = 'EventQueryError';
  }
}

const PARAMETERS = ['stream', 'type', 'label', 'since', 'until', 'limit'] as const;
/** Date, `T`, time with optional fraction, and a zone: what Date.parse reads the same everywhere. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function quote(v: string): string {
  return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
}

function time(name: string, v: string): number {
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const ms = ISO_TIME.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw new EventQueryError(name, `expected an ISO 8601 time with a zone (2025-01-31T12:00:00Z) or epoch milliseconds, got ${quote(v)}`);
  return ms;
}

/** Reads the URL's query; throws EventQueryError naming the first bad parameter. */
export function parseEventQuery(params: URLSearchParams): EventFilter {
  for (const key of new Set(params.keys())) {
    if (!(PARAMETERS as readonly string[]).includes(key)) throw new EventQueryError(key, `unknown parameter (known: ${PARAMETERS.join(', ')})`);
    if (params.getAll(key).length > 1) throw new EventQueryError(key, 'given more than once');
  }
  const filter: EventFilter = { limit: DEFAULT_EVENT_LIMIT };
  for (const key of ['stream', 'label'] as const) {
    const v = params.get(key);
    if (v === null) continue;
    if (v.length === 0 || v.length > 200) throw new EventQueryError(key, `expected 1 to 200 characters, got ${quote(v)}`);
    filter[key] = v;
  }
  const type = params.get('type');
  if (type !== null) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new EventQueryError('type', `expected one of ${EVENT_TYPES.join(', ')}, got ${quote(type)}`);
    filter.type = type as AnalyticsEventType;
  }
  const since = params.get('since');
  const until = params.get('until');
  if (since !== null) filter.since = time('since', since);
  if (until !== null) filter.until = time('until', until);
  if (filter.since !== undefined && filter.until !== undefined && filter.until < filter.since) {
    throw new EventQueryError('until', `expected a time at or after since (${new Date(filter.since).toISOString()}), got ${quote(until as string)}`);
  }
  const limit = params.get('limit');
  if (limit !== null) {
    const n = /^\d{1,7}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= MAX_EVENT_LIMIT)) throw new EventQueryError('limit', `expected an integer from 1 to ${MAX_EVENT_LIMIT}, got ${quote(limit)}`);
    filter.limit = n;
  }
  return filter;
}
