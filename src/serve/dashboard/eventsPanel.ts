/**
 * The events panel: the newest analytics events of every stream first, each with a snapshot
 * thumbnail when the server keeps one (GET /api/events/:id/snapshot.jpg). The list is bounded; the
 * oldest rows leave as new ones come.
 */
import type { AnalyticsEvent } from './wire.js';

/** Rows kept in the panel. */
const MAX_ROWS = 100;
/** The snapshot is written just after the event is published: ask a moment later, retry once. */
const SNAPSHOT_DELAY_MS = 400;
const SNAPSHOT_RETRY_MS = 2000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  e.textContent = text;
  return e;
}

/** "gate in", "bay enter", "bay loiter 12.0 s", "bay exit 14.5 s". */
export function describeEvent(e: AnalyticsEvent): string {
  if (e.type === 'line_cross') return `${e.line} ${e.direction}`;
  const what = e.type.slice('zone_'.length);
  return `${e.zone} ${what}${e.dwell !== undefined ? ` ${e.dwell.toFixed(1)} s` : ''}`;
}

function clock(e: AnalyticsEvent): string {
  if (e.time) return new Date(e.time).toLocaleTimeString();
  return `${e.pts.toFixed(2)} s`;
}

export class EventsPanel {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLElement;

  constructor(private readonly snapshotUrl: (id: string) => string) {
    this.element = el('aside', 'events');
    this.element.id = 'events';
    this.list = el('ol', 'events-list');
    this.empty = el('p', 'muted events-empty', 'No events yet: zones and lines report here.');
    this.element.append(el('h2', 'events-title', 'Events'), this.empty, this.list);
  }

  /** Events in the order they happened; shown newest first. */
  add(events: readonly AnalyticsEvent[]): void {
    for (const e of events) this.list.prepend(this.row(e));
    while (this.list.childElementCount > MAX_ROWS) this.list.lastElementChild!.remove();
    this.empty.hidden = this.list.childElementCount > 0;
    this.element.dataset.count = String(this.list.childElementCount);
  }

  private row(e: AnalyticsEvent): HTMLLIElement {
    const li = el('li', `event event-${e.type}`);
    li.dataset.type = e.type;
    li.dataset.stream = e.stream;
    li.dataset.id = e.id;
    const thumb = el('img', 'event-thumb');
    thumb.alt = '';
    thumb.width = 96;
    thumb.height = 54;
    thumb.hidden = true;
    let tries = 0;
    const load = (): void => {
      tries++;
      thumb.src = this.snapshotUrl(e.id);
    };
    thumb.addEventListener('load', () => (thumb.hidden = false));
    thumb.addEventListener('error', () => {
      if (tries < 2) setTimeout(load, SNAPSHOT_RETRY_MS);
      else thumb.remove(); // no snapshot for this event (no video, or not kept)
    });
    setTimeout(load, SNAPSHOT_DELAY_MS);
    const text = el('div', 'event-text');
    text.append(
      el('div', 'event-what', describeEvent(e)),
      el('div', 'event-who muted', `${e.stream} · ${e.label} #${e.track_id} · ${clock(e)}`),
    );
    li.append(thumb, text);
    return li;
  }
}
