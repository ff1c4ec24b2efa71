/**
 * One stream's tile: the newest frame with its overlay, the stream's state and stats. JPEG decoding
 * is a latest-wins link too: while one frame decodes, only the newest next frame waits.
 */
import { visibleObjects, type ObjectFilter } from './filters.js';
import { FrameMailbox, type PairedFrame } from './frameMailbox.js';
import { drawOverlay, MaskLayer } from './overlay.js';
import { TrackTrails } from './trails.js';
import type { DetectionsMessage, FrameHeader, StreamStats } from './wire.js';

/** Widest canvas used for a stream without video (detections drawn on a blank frame). */
const BLANK_MAX_WIDTH = 640;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  e.textContent = text;
  return e;
}

/** Draws over a tile's frame; `pixelRatio` is canvas pixels per CSS pixel. */
export type TileLayer = (ctx: CanvasRenderingContext2D, frame: { sourceWidth: number; sourceHeight: number; pixelRatio: number }) => void;

const fmt = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

export class StreamTile {
  readonly element: HTMLElement;
  /** False for streams configured with `"video": false`: detections are drawn on a blank frame. */
  video = true;

  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly stateBadge: HTMLElement;
  private readonly statsLine: HTMLElement;
  private readonly latencyLine: HTMLElement;
  private readonly dropsLine: HTMLElement;
  private readonly errorLine: HTMLElement;

  private readonly mailbox = new FrameMailbox<ImageBitmap>(8, (b) => b.close());
  private readonly trails = new TrackTrails();
  private readonly masks = new MaskLayer();
  private shown: PairedFrame<ImageBitmap> | undefined;
  private decoding = false;
  /** Bumped on disconnect, so a decode that finishes afterwards is not taken for a frame of the new connection. */
  private generation = 0;
  private waiting: { detections: DetectionsMessage; jpeg: Uint8Array } | undefined;
  private redraw = false;
  private framesDrawn = 0;
  private drawTimes: number[] = [];
  private readonly head: HTMLElement;
  private readonly layers: TileLayer[] = [];

  constructor(readonly id: string, onOpen: (id: string) => void) {
    this.element = el('article', 'tile');
    this.element.dataset.stream = id;
    this.element.dataset.frames = '0';
    this.element.dataset.objects = '0';
    this.element.dataset.state = 'connecting';
    this.element.tabIndex = 0;
    this.element.title = 'Open large (click again or Esc to go back)';

    const head = (this.head = el('header', 'tile-head'));
    head.append(el('h2', 'tile-name', id), (this.stateBadge = el('span', 'badge', 'connecting')));
    const view = el('div', 'tile-view');
    this.canvas = el('canvas', 'tile-canvas');
    this.canvas.width = 640;
    this.canvas.height = 360;
    this.ctx = this.canvas.getContext('2d')!;
    view.append(this.canvas);
    const foot = el('footer', 'tile-foot');
    foot.append(
      (this.statsLine = el('div', 'stat')),
      (this.latencyLine = el('div', 'stat')),
      (this.dropsLine = el('div', 'stat')),
      (this.errorLine = el('div', 'stat error')),
    );
    this.element.append(head, view, foot);
    this.element.addEventListener('click', () => onOpen(id));
    this.element.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') onOpen(id);
    });
    this.setStats(undefined);
  }

  onDetections(d: DetectionsMessage): void {
    this.trails.update(d.seq, d.objects);
    this.mailbox.addDetections(d);
    if (!this.video) this.mailbox.offer(d);
  }

  onFrame(header: FrameHeader, jpeg: Uint8Array): void {
    const detections = this.mailbox.claim(header.seq);
    if (!detections) return;
    if (this.decoding) {
      this.waiting = { detections, jpeg }; // replaces an older waiting frame: never a queue
      return;
    }
    this.decode(detections, jpeg);
  }

  setState(state: string, error?: string): void {
    this.element.dataset.state = state;
    this.stateBadge.textContent = state;
    this.stateBadge.className = `badge state-${state}`;
    this.errorLine.textContent = error ?? '';
    this.errorLine.title = error ?? '';
  }

  setStats(s: StreamStats | undefined): void {
    const now = performance.now();
    this.drawTimes = this.drawTimes.filter((t) => now - t < 2000);
    const viewFps = this.drawTimes.length / 2;
    this.statsLine.textContent = `fps in ${fmt(s?.fpsIn)} · out ${fmt(s?.fpsOut)} · view ${fmt(viewFps)}`;
    this.latencyLine.textContent = `latency p50 ${fmt(s?.latency.p50, 0)} ms · p95 ${fmt(s?.latency.p95, 0)} ms`;
    const d = s?.drops;
    this.dropsLine.textContent = `drops policy ${d?.policy ?? '–'} · stale ${d?.staleness ?? '–'} · client ${d?.client ?? '–'} · reconnects ${s?.reconnects ?? '–'}`;
    if (s) this.setState(s.state, s.lastError);
  }

  /** Controls shown in the tile's header (e.g. the analytics editor's). */
  addTools(tools: HTMLElement): void {
    this.head.insertBefore(tools, this.stateBadge);
  }

  /** Something drawn over the frame after the detections, in source coordinates scaled to the canvas. */
  addLayer(layer: TileLayer): void {
    this.layers.push(layer);
  }

  /** Size of the source frame shown now; undefined before the first frame. */
  sourceSize(): { width: number; height: number } | undefined {
    const d = this.shown?.detections;
    return d ? { width: d.width, height: d.height } : undefined;
  }

  /** The connection to the server is gone: what is shown is no longer live. */
  disconnected(): void {
    this.setState('disconnected');
    this.generation++;
    this.mailbox.clear();
    this.waiting = undefined;
    this.trails.clear();
  }

  /** Filter or size changed: draw the shown frame again. */
  invalidate(): void {
    this.redraw = true;
  }

  /**
   * Called from the page's one animation-frame loop; draws only when something changed. Returns the
   * seq of a newly drawn frame (the page acknowledges it), undefined when none was.
   */
  draw(filter: ObjectFilter): number | undefined {
    const next = this.mailbox.take();
    if (next) {
      if (this.shown?.image) this.shown.image.close();
      this.shown = next;
    } else if (!this.redraw || !this.shown) {
      return undefined;
    }
    this.redraw = false;
    const { image, detections } = this.shown;
    const w = image ? image.width : Math.min(BLANK_MAX_WIDTH, detections.width);
    const h = image ? image.height : Math.round((w * detections.height) / detections.width);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    if (image) this.ctx.drawImage(image, 0, 0);
    else {
      this.ctx.fillStyle = '#111';
      this.ctx.fillRect(0, 0, w, h);
    }
    const objects = visibleObjects(detections.objects, filter);
    const frame = { sourceWidth: detections.width, sourceHeight: detections.height, pixelRatio: w / Math.max(1, this.canvas.clientWidth) };
    drawOverlay(this.ctx, { objects, trails: this.trails, masks: this.masks, ...frame });
    for (const layer of this.layers) layer(this.ctx, frame);
    if (next) {
      this.framesDrawn++;
      this.drawTimes.push(performance.now());
      this.element.dataset.frames = String(this.framesDrawn);
      this.element.dataset.seq = String(detections.seq);
    }
    this.element.dataset.objects = String(objects.length);
    return next?.seq;
  }

  dispose(): void {
    this.mailbox.clear();
    this.shown?.image?.close();
    this.shown = undefined;
    this.element.remove();
  }

  private decode(detections: DetectionsMessage, jpeg: Uint8Array): void {
    this.decoding = true;
    const generation = this.generation;
    createImageBitmap(new Blob([jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }))
      .then(
        (bitmap) => (generation === this.generation ? this.mailbox.offer(detections, bitmap) : bitmap.close()),
        () => undefined, // a corrupt JPEG costs one frame, nothing else
      )
      .finally(() => {
        this.decoding = false;
        const w = this.waiting;
        this.waiting = undefined;
        if (w) this.decode(w.detections, w.jpeg);
      });
  }
}
