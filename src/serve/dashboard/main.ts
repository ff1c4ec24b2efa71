/**
 * The camera dashboard: one tile per stream in a grid that fits the window (tileGrid.ts), fed by
 * the WebSocket (detections, video, state, stats) and drawn in animation frames requested only
 * when a tile on screen has something new (none run while nothing changes). Tiles off screen take a few detections
 * a second and no video, and each tile on screen asks for video no wider than it shows it (subscriptions.ts). The filter and
 * the view settings live in the address (filters.ts); `?token=` is passed on to the API and the
 * WebSocket; `#camera` opens a camera large.
 */
import { ClassFilter } from './classFilter.js';
import { EventsPanel } from './eventsPanel.js';
import { readViewSettings, writeViewSettings, type ObjectFilter, type ViewSettings } from './filters.js';
import { LiveConnection, type ConnectionStatus } from './liveConnection.js';
import { MotionIndicator } from './motionIndicator.js';
import { ratePerSecond } from './streamRates.js';
import { StreamTile } from './streamTile.js';
import { subscribeMessages, tileWant, type Want } from './subscriptions.js';
import { TileAnalytics } from './tileAnalytics.js';
import { TileGrid } from './tileGrid.js';
import { decodeVideoMessage, type AnalyticsView, type ServerMessage, type StreamView, type WireAnalyticsConfig } from './wire.js';

/** How often the stream list is re-read, to pick up streams added or removed over the API. */
const STREAM_LIST_REFRESH_MS = 5000;
/** Subscription changes (tiles scrolling, resizing, paging) are gathered this long before they go out. */
const SUBSCRIBE_DEBOUNCE_MS = 150;
/** How often frames consumed without a draw are acknowledged (besides once per drawn screen). */
const ACK_INTERVAL_MS = 100;
/** Wide enough for the events panel beside the grid (narrower, it opens over the grid). */
const WIDE_PX = 1100;

const params = new URLSearchParams(location.search);
const token = params.get('token') ?? undefined;
const view: ViewSettings = readViewSettings(location.search);

const grid = document.getElementById('grid')!;
const banner = document.getElementById('banner')!;
const emptyNote = document.getElementById('empty')!;
const scoreInput = document.getElementById('min-score') as HTMLInputElement;
const scoreValue = document.getElementById('min-score-value')!;
const clientDrops = document.getElementById('client-drops')!;
const statsToggle = document.getElementById('stats-toggle') as HTMLButtonElement;
const eventsToggle = document.getElementById('events-toggle') as HTMLButtonElement;

const tiles = new Map<string, StreamTile>();
const analytics = new Map<string, TileAnalytics>();
const motion = new Map<string, MotionIndicator>();
const filter: ObjectFilter = { minScore: view.minScore, hiddenLabels: view.hiddenLabels };

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

/** The view settings into the address (replacing the entry: filters are not history). */
function saveView(): void {
  history.replaceState(history.state, '', `${location.pathname}${writeViewSettings(location.search, view)}${location.hash}`);
}

// ---- events panel ----

const eventsPanel = new EventsPanel((id) => withToken(`/api/events/${encodeURIComponent(id)}/snapshot.jpg`));
document.getElementById('content')!.append(eventsPanel.element);
/** Set once the viewer opens or closes the panel: then it stays as they left it. */
let eventsChosen = false;

function showEvents(open: boolean): void {
  eventsPanel.element.hidden = !open;
  eventsToggle.setAttribute('aria-pressed', String(open));
}

/** Opens the panel by itself when there is something for it, on a screen wide enough to keep the grid beside it. */
function offerEvents(): void {
  if (!eventsChosen && eventsPanel.element.hidden && window.innerWidth >= WIDE_PX) showEvents(true);
}

eventsToggle.addEventListener('click', () => {
  eventsChosen = true;
  showEvents(eventsPanel.element.hidden);
});
showEvents(false);

// ---- tiles ----

const tileGrid = new TileGrid(grid, document.getElementById('pager')!, {
  onScreenChanged: (tile, on) => {
    tile.setIntersecting(on);
    scheduleSubscriptions();
  },
  onPageChanged: (page) => {
    view.page = page;
    saveView();
  },
});
tileGrid.setPage(view.page);

function openStream(id: string): void {
  location.hash = decodeURIComponent(location.hash.slice(1)) === id ? '' : encodeURIComponent(id);
}

function applyExpanded(): void {
  const id = decodeURIComponent(location.hash.slice(1));
  tileGrid.setExpanded(tiles.has(id) ? id : undefined);
}

function ensureTiles(ids: readonly string[]): void {
  let added = false;
  for (const id of ids) {
    if (tiles.has(id)) continue;
    const tile = new StreamTile(id, { open: openStream, aspectChanged: () => tileGrid.layout(), needsDraw: scheduleDraw });
    tile.setPageVisible(!document.hidden);
    tiles.set(id, tile);
    analytics.set(id, new TileAnalytics(tile, (config) => saveAnalytics(id, config)));
    motion.set(id, new MotionIndicator(tile));
    tileGrid.add(tile);
    added = true;
  }
  emptyNote.hidden = tiles.size > 0;
  if (added) {
    applyExpanded(); // lays the grid out
    scheduleSubscriptions();
  }
}

function removeTilesExcept(ids: ReadonlySet<string>): void {
  for (const [id, tile] of tiles) {
    if (ids.has(id)) continue;
    tileGrid.remove(tile);
    tile.dispose();
    tiles.delete(id);
    analytics.delete(id);
    motion.delete(id);
    sent.delete(id);
  }
  emptyNote.hidden = tiles.size > 0;
}

function redrawAll(): void {
  for (const tile of tiles.values()) tile.invalidate();
}

// ---- subscriptions: every frame and video for the tiles on screen, as wide as they are shown; a few detections for the rest ----

/** What the server was last asked for, per stream (cleared on every new connection). */
const sent = new Map<string, Want>();
let subscribeTimer: ReturnType<typeof setTimeout> | undefined;

function scheduleSubscriptions(): void {
  if (subscribeTimer === undefined) subscribeTimer = setTimeout(sendSubscriptions, SUBSCRIBE_DEBOUNCE_MS);
}

function sendSubscriptions(): void {
  clearTimeout(subscribeTimer);
  subscribeTimer = undefined;
  if (!connected) return;
  const wanted = new Map<string, Want>();
  for (const [id, tile] of tiles) {
    wanted.set(id, tileWant({ hasVideo: tile.video, shown: tile.isOnScreen, devicePixels: tile.devicePixelWidth() }));
  }
  for (const msg of subscribeMessages(sent, wanted)) connection.send(msg);
  for (const [id, want] of wanted) sent.set(id, want);
}

document.addEventListener('visibilitychange', () => {
  for (const tile of tiles.values()) tile.setPageVisible(!document.hidden);
  scheduleSubscriptions();
});

// ---- acknowledgements (flow control): the server sends a stream's next frames once these are consumed ----

/** Streams the server acknowledged subscribing with `ack` (a server without flow control does not echo it). */
const ackStreams = new Set<string>();

/** One `ack` naming the newest consumed frame of each stream that has one; called once per drawn screen. */
function sendAcks(now: number): void {
  if (!connected) return;
  for (const id of ackStreams) {
    const seq = tiles.get(id)?.takeAck(now);
    if (seq !== undefined) connection.acknowledge(id, seq);
  }
  connection.flushAcks();
}

// ---- filter and view settings ----

const classFilter = new ClassFilter(document.getElementById('classes')!, view.hiddenLabels, () => {
  saveView();
  redrawAll();
});

scoreInput.value = String(view.minScore);
scoreValue.textContent = view.minScore.toFixed(2);
scoreInput.addEventListener('input', () => {
  filter.minScore = view.minScore = Number(scoreInput.value);
  scoreValue.textContent = filter.minScore.toFixed(2);
  saveView();
  redrawAll();
});

function showStats(on: boolean): void {
  view.stats = on;
  document.body.classList.toggle('hide-stats', !on);
  statsToggle.setAttribute('aria-pressed', String(on));
}
statsToggle.addEventListener('click', () => {
  showStats(!view.stats);
  saveView();
});
showStats(view.stats);

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
    if (!res.ok) return;
    const v = (await res.json()) as AnalyticsView;
    analytics.get(id)?.setView(v);
    if ((v.config.zones?.length ?? 0) + (v.config.lines?.length ?? 0) > 0) offerEvents();
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

async function syncStreams(): Promise<void> {
  const views = await readStreams();
  if (!views) return;
  ensureTiles(views.map((v) => v.id));
  removeTilesExcept(new Set(views.map((v) => v.id)));
  for (const v of views) {
    const tile = tiles.get(v.id)!;
    if (tile.video !== (v.config.video !== false)) {
      tile.video = v.config.video !== false;
      scheduleSubscriptions();
    }
    tile.setStats(v);
    void readAnalytics(v.id);
  }
}

/** The client's own drops at the previous stats message, for a rate. */
let lastClientDrops: { at: number; count: number } | undefined;

function onMessage(msg: ServerMessage): void {
  switch (msg.type) {
    case 'hello':
      // A new connection: every subscription is asked for again.
      sent.clear();
      ackStreams.clear();
      ensureTiles(msg.streams);
      sendSubscriptions();
      void syncStreams();
      return;
    case 'detections': {
      const tile = tiles.get(msg.stream);
      if (!tile) return;
      classFilter.note(msg.objects);
      tile.onDetections(msg);
      motion.get(msg.stream)?.update(msg);
      return;
    }
    case 'subscribed':
      for (const id of msg.streams) {
        if (msg.ack === true) ackStreams.add(id);
        tiles.get(id)?.setMaxFps(msg.maxFps);
      }
      return;
    case 'events':
      eventsPanel.add(msg.events);
      offerEvents();
      return;
    case 'state':
      tiles.get(msg.stream)?.setState(msg.state, msg.error);
      return;
    case 'stats': {
      for (const s of msg.streams) {
        tiles.get(s.id)?.setStats(s);
        analytics.get(s.id)?.setCounts(s.analytics);
      }
      const count = msg.client.drops.video + msg.client.drops.detections;
      const rate = ratePerSecond(lastClientDrops?.count, count, lastClientDrops ? (msg.ts - lastClientDrops.at) / 1000 : 0);
      lastClientDrops = { at: msg.ts, count };
      clientDrops.textContent = rate !== undefined && rate > 0 ? `this page misses ${rate.toFixed(1)} frames/s (slow network or busy computer)` : '';
      return;
    }
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
let connected = false;

function onStatus(status: ConnectionStatus): void {
  clearInterval(countdown);
  connected = status.kind === 'open';
  document.body.dataset.connection = status.kind;
  if (status.kind === 'open') {
    banner.hidden = true;
    for (const tile of tiles.values()) tile.setOnline(true);
    return;
  }
  if (status.kind === 'connecting') {
    showBanner('Connecting to the server…', 'warn');
    return;
  }
  lastClientDrops = undefined;
  for (const tile of tiles.values()) tile.setOnline(false);
  const show = (): void => {
    const s = Math.max(0, (status.retryAt - Date.now()) / 1000);
    if (authProblem) showBanner(authProblem, 'error');
    else showBanner(`Reconnecting… ${status.reason}. Trying again in ${s.toFixed(1)} s (attempt ${status.attempt}).`, 'warn');
  };
  show();
  countdown = setInterval(show, 250);
  // A refused WebSocket upgrade looks like any other failure to the page: the API says whether it is the token.
  void readStreams();
}

const wsUrl = withToken(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
const connection = new LiveConnection(wsUrl, { onStatus, onMessage, onVideo });

// ---- drawing: one animation frame whenever a tile has something new, none while nothing changes ----

let drawScheduled = false;

function scheduleDraw(): void {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(drawFrame);
}

function drawFrame(now: number): void {
  drawScheduled = false;
  for (const tile of tiles.values()) tile.draw(filter);
  sendAcks(now);
}

// ---- start ----

window.addEventListener('hashchange', () => {
  applyExpanded();
  scheduleSubscriptions();
});
window.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && location.hash) location.hash = '';
});
// Tile sizes follow the window (ResizeObserver); the resolution follows the screen's pixel ratio.
window.addEventListener('resize', () => {
  tileGrid.layout();
  scheduleSubscriptions();
});

// Frames taken without a draw (off screen, a hidden tab) and videos that never came are acknowledged from here.
setInterval(() => sendAcks(performance.now()), ACK_INTERVAL_MS);
// Frame ages ("last frame 14 s ago") and the no-signal state move with the clock.
setInterval(() => {
  const now = performance.now();
  for (const tile of tiles.values()) tile.refresh(now);
}, 1000);
setInterval(() => {
  if (document.body.dataset.connection === 'open') void syncStreams();
}, STREAM_LIST_REFRESH_MS);

void syncStreams();
connection.start();
