/**
 * The camera dashboard: one tile per configured stream, fed by the WebSocket (detections, video,
 * state, stats), drawn by a single requestAnimationFrame loop that only paints tiles whose content
 * changed. `?token=` is passed on to the API and the WebSocket.
 */
import { EventsPanel } from './eventsPanel.js';
import type { ObjectFilter } from './filters.js';
import { LiveConnection, type ConnectionStatus } from './liveConnection.js';
import { MotionIndicator } from './motionIndicator.js';
import { StreamTile } from './streamTile.js';
import { TileAnalytics } from './tileAnalytics.js';
import { decodeVideoMessage, type AnalyticsView, type ServerMessage, type StreamView, type WireAnalyticsConfig } from './wire.js';

/** How often the stream list is re-read, to pick up streams added or removed over the API. */
const STREAM_LIST_REFRESH_MS = 5000;

const params = new URLSearchParams(location.search);
const token = params.get('token') ?? undefined;

const grid = document.getElementById('grid')!;
const banner = document.getElementById('banner')!;
const emptyNote = document.getElementById('empty')!;
const classBox = document.getElementById('classes')!;
const scoreInput = document.getElementById('min-score') as HTMLInputElement;
const scoreValue = document.getElementById('min-score-value')!;
const clientDrops = document.getElementById('client-drops')!;

const tiles = new Map<string, StreamTile>();
const analytics = new Map<string, TileAnalytics>();
const motion = new Map<string, MotionIndicator>();
const eventsPanel = new EventsPanel((id) => withToken(`/api/events/${encodeURIComponent(id)}/snapshot.jpg`));
document.getElementById('content')!.append(eventsPanel.element);
const hiddenLabels = new Set<string>();
const labelsSeen = new Set<string>();
const filter: ObjectFilter = { minScore: Number(scoreInput.value), hiddenLabels };

function withToken(path: string): string {
  return token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path;
}

function authHeaders(): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function showBanner(text: string, kind: 'warn' | 'error'): void {
  banner.textContent = text;
  banner.className = `banner ${kind}`;
  banner.hidden = false;
}

// ---- tiles ----

function openStream(id: string): void {
  location.hash = decodeURIComponent(location.hash.slice(1)) === id ? '' : encodeURIComponent(id);
}

function applyExpanded(): void {
  const id = decodeURIComponent(location.hash.slice(1));
  const open = tiles.has(id) ? id : '';
  grid.classList.toggle('single', open !== '');
  for (const [tid, tile] of tiles) {
    tile.element.classList.toggle('expanded', tid === open);
    tile.invalidate();
  }
}

function ensureTiles(ids: readonly string[]): string[] {
  const added: string[] = [];
  for (const id of ids) {
    if (tiles.has(id)) continue;
    const tile = new StreamTile(id, openStream);
    tiles.set(id, tile);
    analytics.set(id, new TileAnalytics(tile, (config) => saveAnalytics(id, config)));
    motion.set(id, new MotionIndicator(tile));
    grid.append(tile.element);
    added.push(id);
  }
  emptyNote.hidden = tiles.size > 0;
  if (added.length) applyExpanded();
  return added;
}

function removeTilesExcept(ids: ReadonlySet<string>): void {
  for (const [id, tile] of tiles) {
    if (ids.has(id)) continue;
    tile.dispose();
    tiles.delete(id);
    analytics.delete(id);
    motion.delete(id);
  }
  emptyNote.hidden = tiles.size > 0;
}

// ---- filter ----

function noteLabels(labels: Iterable<string>): void {
  let added = false;
  for (const label of labels) {
    if (labelsSeen.has(label)) continue;
    labelsSeen.add(label);
    added = true;
  }
  if (!added) return;
  classBox.replaceChildren(
    ...[...labelsSeen].sort().map((label) => {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = label;
      box.checked = !hiddenLabels.has(label);
      box.addEventListener('change', () => {
        if (box.checked) hiddenLabels.delete(label);
        else hiddenLabels.add(label);
        redrawAll();
      });
      const wrap = document.createElement('label');
      wrap.className = 'class-option';
      wrap.append(box, ` ${label}`);
      return wrap;
    }),
  );
}

function redrawAll(): void {
  for (const tile of tiles.values()) tile.invalidate();
}

scoreInput.addEventListener('input', () => {
  filter.minScore = Number(scoreInput.value);
  scoreValue.textContent = filter.minScore.toFixed(2);
  redrawAll();
});
scoreValue.textContent = filter.minScore.toFixed(2);

// ---- server ----

/** Set while the server refuses the token; shown instead of the reconnect countdown. */
let authProblem: string | undefined;

async function readStreams(): Promise<StreamView[] | undefined> {
  try {
    const res = await fetch('/api/streams', { headers: authHeaders(), cache: 'no-store' });
    if (res.status === 401) {
      authProblem = token ? 'The token in the address (?token=…) is not accepted by the server.' : 'This server needs a token: open the page as /?token=<token>.';
      showBanner(authProblem, 'error');
      return undefined;
    }
    authProblem = undefined;
    if (!res.ok) return undefined;
    return ((await res.json()) as { streams: StreamView[] }).streams;
  } catch {
    return undefined; // the WebSocket's reconnect loop reports the outage
  }
}

/** A stream's zones, lines and counts (GET /api/streams/:id/analytics). */
async function readAnalytics(id: string): Promise<void> {
  try {
    const res = await fetch(`/api/streams/${encodeURIComponent(id)}/analytics`, { headers: authHeaders(), cache: 'no-store' });
    if (res.ok) analytics.get(id)?.setView((await res.json()) as AnalyticsView);
  } catch {
    // the next refresh tries again
  }
}

/** PUT /api/streams/:id/analytics: the view the server took, or why it refused. */
async function saveAnalytics(id: string, config: WireAnalyticsConfig): Promise<AnalyticsView | string> {
  try {
    const res = await fetch(`/api/streams/${encodeURIComponent(id)}/analytics`, {
      method: 'PUT',
      headers: { ...authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify(config),
    });
    const body = (await res.json().catch(() => ({}))) as AnalyticsView & { error?: string };
    return res.ok ? body : (body.error ?? `HTTP ${res.status}`);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function subscribe(ids: readonly string[]): void {
  // ack: each frame is acknowledged once drawn, so a slow link gets the newest frames, not a backlog.
  if (ids.length) connection.send({ type: 'subscribe', streams: ids, video: true, ack: true });
}

async function syncStreams(): Promise<void> {
  const views = await readStreams();
  if (!views) return;
  subscribe(ensureTiles(views.map((v) => v.id)));
  removeTilesExcept(new Set(views.map((v) => v.id)));
  for (const v of views) {
    const tile = tiles.get(v.id)!;
    tile.video = v.config.video !== false;
    tile.setStats(v);
    void readAnalytics(v.id);
  }
}

function onMessage(msg: ServerMessage): void {
  switch (msg.type) {
    case 'hello':
      // Every stream the server has, new or known: a reconnect needs the subscriptions again.
      ensureTiles(msg.streams);
      subscribe(msg.streams);
      void syncStreams();
      return;
    case 'detections': {
      const tile = tiles.get(msg.stream);
      if (!tile) return;
      noteLabels(msg.objects.map((o) => o.label));
      tile.onDetections(msg);
      motion.get(msg.stream)?.update(msg);
      return;
    }
    case 'events':
      eventsPanel.add(msg.events);
      return;
    case 'state':
      tiles.get(msg.stream)?.setState(msg.state, msg.error);
      return;
    case 'stats':
      for (const s of msg.streams) {
        tiles.get(s.id)?.setStats(s);
        analytics.get(s.id)?.setCounts(s.analytics);
      }
      clientDrops.textContent = `this view missed: ${msg.client.drops.detections} detections, ${msg.client.drops.video} frames`;
      return;
    case 'error':
      if (msg.code !== 'unknown_stream') console.warn(`server: ${msg.code}: ${msg.message}`);
      return;
    default:
      return;
  }
}

function onVideo(buf: ArrayBuffer): void {
  const { header, jpeg } = decodeVideoMessage(buf);
  tiles.get(header.stream)?.onFrame(header, jpeg);
}

let countdown: ReturnType<typeof setInterval> | undefined;

function onStatus(status: ConnectionStatus): void {
  clearInterval(countdown);
  if (status.kind === 'open') {
    document.body.dataset.connection = 'open';
    banner.hidden = true;
    return;
  }
  document.body.dataset.connection = status.kind;
  if (status.kind === 'connecting') {
    showBanner('Connecting…', 'warn');
    return;
  }
  for (const tile of tiles.values()) tile.disconnected();
  const show = (): void => {
    const s = Math.max(0, (status.retryAt - Date.now()) / 1000);
    if (authProblem) showBanner(authProblem, 'error');
    else showBanner(`Reconnecting… ${status.reason}; attempt ${status.attempt}, next try in ${s.toFixed(1)} s`, 'warn');
  };
  show();
  countdown = setInterval(show, 250);
  // A refused WebSocket upgrade looks like any other failure to the page: the API says whether it is the token.
  void readStreams();
}

const wsUrl = withToken(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
const connection = new LiveConnection(wsUrl, { onStatus, onMessage, onVideo });

// ---- start ----

window.addEventListener('hashchange', applyExpanded);
window.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && location.hash) location.hash = '';
});
window.addEventListener('resize', redrawAll);

requestAnimationFrame(function frame() {
  for (const [id, tile] of tiles) {
    const drawn = tile.draw(filter);
    if (drawn !== undefined) connection.acknowledge(id, drawn);
  }
  connection.flushAcks();
  requestAnimationFrame(frame);
});
setInterval(() => {
  if (document.body.dataset.connection === 'open') void syncStreams();
}, STREAM_LIST_REFRESH_MS);

void syncStreams();
connection.start();
