/**
 * One stream's tile: its newest frame with the overlay, fitted to the tile (`contain`, scaled up or
 * down) at the screen's resolution; a badge and, when the video is not live, a message over it
 * (tileStatus.ts); the stats as a line over the video's foot. JPEG decoding is a latest-wins link
 * too: while one frame decodes, only the newest next frame waits.
 */
import { visibleObjects, type ObjectFilter } from './filters.js';
import { FrameMailbox, type PairedFrame } from './frameMailbox.js';
import { FrameAcks } from './frameAcks.js';
import { containSize } from './gridLayout.js';
import { drawOverlay, MaskLayer, MotionRegionsLayer } from './overlay.js';
import { statsLines } from './streamRates.js';
import { tileStatus, type TileStatus } from './tileStatus.js';
import { TrackTrails } from '../../geometry/trails.js';
import type { DetectionsMessage, FrameHeader, StreamState, StreamStats } from './wire.js';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  e.textContent = text;
  return e;
}

/**
 * Writes only what changed: every DOM write, even of the same value, makes the page compute style
 * and draw again, and tiles are refreshed for every stats message, shown or not.
 */
function setText(e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

function setAttribute(e: HTMLElement, name: string, value: string): void {
  if (e.getAttribute(name) !== value) e.setAttribute(name, value);
}

/** Draws over a tile's frame; `pixelRatio` is canvas pixels per CSS pixel. */
export type TileLayer = (ctx: CanvasRenderingContext2D, frame: { sourceWidth: number; sourceHeight: number; pixelRatio: number }) => void;

/** Aspect of a tile before its first frame says otherwise. */
const DEFAULT_ASPECT = 16 / 9;
/** Window over which the frames this page drew are counted for "shown … fps". */
const VIEW_FPS_WINDOW_MS = 2000;

export class StreamTile {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  /** False for streams configured with `"video": false`: detections are drawn on a blank frame. */
  video = true;
  /** Width / height of the stream's frames. */
  aspect = DEFAULT_ASPECT;

  private readonly ctx: CanvasRenderingContext2D;
  private readonly view: HTMLElement;
  /** The video's box inside the view: the canvas and the stats over its foot. */
  private readonly frameBox: HTMLElement;
  private readonly head: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly openButton: HTMLButtonElement;
  private readonly message: HTMLElement;
  private readonly messageText: HTMLElement;
  private readonly messageDetail: HTMLElement;
  private readonly statsBox: HTMLElement;
  private readonly statsRows: HTMLElement[];

  private readonly mailbox = new FrameMailbox<ImageBitmap>(8, (b) => b.close());
  private readonly trails = new TrackTrails({ length: 30, forgetAfterFrames: 45 });
  private readonly masks = new MaskLayer();
  private readonly motionRegions = new MotionRegionsLayer();
  /** Draw the frames' motion regions (toggled by the motion meter); kept for the page's life. */
  private showMotionRegions = false;
  private readonly layers: TileLayer[] = [];
  private shownFrame: PairedFrame<ImageBitmap> | undefined;
  private decoding = false;
  /** Bumped on disconnect, so a decode that finishes afterwards is not taken for a frame of the new connection. */
  private generation = 0;
  private waiting: { detections: DetectionsMessage; jpeg: Uint8Array } | undefined;
  private redraw = false;
  private framesDrawn = 0;
  private drawTimes: number[] = [];

  private state: StreamState | undefined;
  private error: string | undefined;
  private stats: StreamStats | undefined;
  private prevStats: StreamStats | undefined;
  private online = true;
  /** When the newest detections arrived (the page's clock): what "no signal" is judged on, drawn or not. */
  private lastFrameAt: number | undefined;
  /** The frames a second the server sends this tile (subscribe `maxFps`); undefined: every frame. */
  private maxFps: number | undefined;
  private status: TileStatus | undefined;
  /** In the grid's visible area (its page of the grid, or the large view). */
  private intersecting = true;
  /** The page's tab is in front. */
  private pageVisible = true;
  private readonly acks = new FrameAcks();

  constructor(
    readonly id: string,
    private readonly handlers: {
      open(id: string): void;
      aspectChanged(tile: StreamTile): void;
      /** The tile has something new to draw: the page schedules an animation frame (none runs while nothing changes). */
      needsDraw(): void;
    },
  ) {
    const onOpen = handlers.open;
    this.element = el('article', 'tile');
    this.element.dataset.stream = id;
    this.element.dataset.frames = '0';
    this.element.dataset.objects = '0';
    this.element.tabIndex = 0;

    this.head = el('header', 'tile-head');
    this.badge = el('span', 'badge');
    this.openButton = el('button', 'tile-open', '⤢');
    this.openButton.type = 'button';
    this.head.append(el('h2', 'tile-name', id), this.badge, this.openButton);
    this.view = el('div', 'tile-view');
    this.canvas = el('canvas', 'tile-canvas');
    // Opaque: every pixel is drawn each time, and the compositor copies an opaque canvas instead of blending it.
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
    this.message = el('div', 'tile-message');
    this.message.setAttribute('aria-hidden', 'true');
    this.messageText = el('strong', 'tile-message-text');
    this.messageDetail = el('span', 'tile-message-detail');
    this.message.append(this.messageText, this.messageDetail);
    this.statsRows = [el('div', 'stat'), el('div', 'stat'), el('div', 'stat')];
    this.statsBox = el('div', 'tile-stats');
    this.statsBox.setAttribute('aria-hidden', 'true');
    this.statsBox.append(...this.statsRows);
    this.frameBox = el('div', 'tile-frame');
    this.frameBox.append(this.canvas, this.statsBox);
    this.view.append(this.frameBox, this.message);
    this.element.append(this.head, this.view);
    this.element.addEventListener('click', () => onOpen(id));
    this.element.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && e.target === this.element) onOpen(id);
    });
    this.openButton.addEventListener('click', (e) => {
      e.stopPropagation();
      onOpen(id);
    });
    this.setExpanded(false);
    this.refresh(performance.now());
  }

  /** The element whose size the video fits into. */
  get viewElement(): HTMLElement {
    return this.view;
  }

  onDetections(d: DetectionsMessage): void {
    const now = (this.lastFrameAt = performance.now());
    this.acks.receive(d.seq, now);
    if (d.width > 0 && d.height > 0 && Math.abs(d.width / d.height - this.aspect) > 1e-3) {
      this.aspect = d.width / d.height;
      this.layout();
      this.handlers.aspectChanged(this);
    }
    this.trails.update(d.seq, d.objects, (o) => o.track_id);
    this.mailbox.addDetections(d);
    // Without video (the stream's, or this page's while the tile is off screen) detections are the frame.
    if (!this.video || !this.isOnScreen) {
      this.mailbox.offer(d);
      if (this.isOnScreen) this.handlers.needsDraw();
    }
    // Off screen nothing is drawn: the detections were all this frame was for.
    if (!this.isOnScreen) this.acks.consume(d.seq, now);
    if (this.status?.dim) this.refresh(this.lastFrameAt);
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

  setState(state: StreamState, error?: string): void {
    this.state = state;
    this.error = error;
    this.refresh(performance.now());
  }

  setStats(s: StreamStats): void {
    this.prevStats = this.stats;
    this.stats = s;
    this.state = s.state;
    this.error = s.lastError;
    this.refresh(performance.now());
  }

  /** The server took a subscription for this tile with `maxFps` (undefined: every frame): frames may come that far apart. */
  setMaxFps(maxFps: number | undefined): void {
    if (this.maxFps === maxFps) return;
    this.maxFps = maxFps;
    this.refresh(performance.now());
  }

  /** The page's connection to the server came or went. */
  setOnline(online: boolean): void {
    this.online = online;
    if (!online) {
      this.generation++;
      this.mailbox.clear();
      this.waiting = undefined;
      this.trails.clear();
      this.acks.reset();
    }
    this.refresh(performance.now());
  }

  /** In the grid's visible area or not; off screen the tile takes detections only and draws nothing. */
  setIntersecting(on: boolean): void {
    const before = this.isOnScreen;
    this.intersecting = on;
    if (!before && this.isOnScreen) this.cameOnScreen();
  }

  /** The page's tab came to the front or went behind. */
  setPageVisible(visible: boolean): void {
    const before = this.isOnScreen;
    this.pageVisible = visible;
    if (!before && this.isOnScreen) this.cameOnScreen();
  }

  private cameOnScreen(): void {
    // Detections taken off screen belong to pictures this page never got: drawn over the last one
    // it has (from before), they would show a scene that was not. That frame stays as it was
    // drawn until video comes.
    if (this.video) this.mailbox.dropWithoutImage();
    this.refresh(performance.now());
    this.invalidate();
  }

  get isOnScreen(): boolean {
    return this.intersecting && this.pageVisible;
  }

  /** The newest seq to acknowledge to the server (frames consumed since the last call), or undefined. */
  takeAck(now: number): number | undefined {
    return this.acks.take(now);
  }

  setExpanded(expanded: boolean): void {
    this.element.classList.toggle('expanded', expanded);
    this.openButton.setAttribute('aria-label', expanded ? `Back to all cameras` : `Open ${this.id} large`);
    this.openButton.title = expanded ? 'Back to all cameras (Esc)' : 'Open large';
  }

  /**
   * Recomputes what the tile says (state, frame age, stats) and updates its badge, message, stats
   * and accessible name; called on every state or stats change, once a second and when the tile
   * comes on screen.
   */
  refresh(now: number): void {
    const frameAgeMs = this.lastFrameAt === undefined ? undefined : now - this.lastFrameAt;
    const status = tileStatus({ state: this.state, error: this.error, stats: this.stats, frameAgeMs, online: this.online, maxFps: this.maxFps });
    const before = this.status;
    this.status = status;
    if (before?.dim !== status.dim) this.invalidate();
    setAttribute(this.element, 'data-state', this.online ? (this.state ?? 'connecting') : 'disconnected');
    setAttribute(this.element, 'data-condition', status.condition);
    this.element.classList.toggle('dim', status.dim);
    setText(this.badge, status.badge);
    setAttribute(this.badge, 'class', `badge condition-${status.condition}`);
    setAttribute(this.badge, 'title', status.detail ?? '');
    if (this.message.hidden !== (status.message === undefined)) this.message.hidden = status.message === undefined;
    setText(this.messageText, status.message ?? '');
    setText(this.messageDetail, status.message && status.detail && !status.message.includes(status.detail) ? status.detail : '');
    setAttribute(this.element, 'aria-label', `${this.id}: ${status.summary}`);
    this.drawTimes = this.drawTimes.filter((t) => now - t < VIEW_FPS_WINDOW_MS);
    // The figures of a tile off screen wait until it is back (cameOnScreen).
    if (!this.isOnScreen) return;
    const live = status.condition === 'live' || status.condition === 'degraded';
    const lines = statsLines(this.stats, this.prevStats, live, this.stats ? this.drawTimes.length / (VIEW_FPS_WINDOW_MS / 1000) : undefined);
    setText(this.statsRows[0]!, lines.rates);
    setText(this.statsRows[1]!, lines.latency);
    setText(this.statsRows[2]!, lines.drops);
  }

  /** Shows or hides the frames' motion regions over the video; returns whether they are shown now. */
  toggleMotionRegions(): boolean {
    this.showMotionRegions = !this.showMotionRegions;
    if (!this.showMotionRegions) delete this.element.dataset.motionBoxes;
    this.invalidate();
    return this.showMotionRegions;
  }

  /** Controls shown in the tile's header (e.g. the analytics editor's). */
  addTools(tools: HTMLElement): void {
    this.head.insertBefore(tools, this.badge);
  }

  /** Something drawn over the frame after the detections, in source coordinates scaled to the canvas. */
  addLayer(layer: TileLayer): void {
    this.layers.push(layer);
  }

  /** Size of the source frame shown now; undefined before the first frame. */
  sourceSize(): { width: number; height: number } | undefined {
    const d = this.shownFrame?.detections;
    return d ? { width: d.width, height: d.height } : undefined;
  }

  /** Width of the video on screen in device pixels: what the tile asks the server for. */
  devicePixelWidth(): number {
    return this.canvas.width;
  }

  /** Fits the canvas into the tile's view at the stream's aspect, at the screen's resolution. */
  layout(): void {
    const box = containSize(this.view.clientWidth, this.view.clientHeight, this.aspect);
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(box.width * dpr));
    const h = Math.max(1, Math.round(box.height * dpr));
    this.frameBox.style.width = `${box.width}px`;
    this.frameBox.style.height = `${box.height}px`;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.invalidate();
    }
  }

  /** Filter or size changed: draw the shown frame again. */
  invalidate(): void {
    this.redraw = true;
    this.handlers.needsDraw();
  }

  /**
   * Called from the page's one animation-frame loop; draws only when on screen and something
   * changed. Returns the seq of a newly drawn frame, undefined when none was.
   */
  draw(filter: ObjectFilter): number | undefined {
    if (!this.isOnScreen) return undefined;
    const next = this.mailbox.take();
    if (next) {
      // A detections-only pair (a stream without video) keeps the last picture.
      if (next.image === undefined && this.video && this.shownFrame?.image) next.image = this.shownFrame.image;
      else this.shownFrame?.image?.close();
      this.shownFrame = next;
    } else if (!this.redraw || !this.shownFrame) {
      return undefined;
    }
    this.redraw = false;
    const { image, detections } = this.shownFrame;
    const { width: w, height: h } = this.canvas;
    if (image) this.ctx.drawImage(image, 0, 0, w, h);
    else {
      this.ctx.fillStyle = '#111';
      this.ctx.fillRect(0, 0, w, h);
    }
    let objects = 0;
    let motionBoxes = 0;
    // A frame that is not live is shown dimmed (CSS) and without boxes: they would be old news.
    if (!this.status?.dim) {
      const visible = visibleObjects(detections.objects, filter);
      const frame = { sourceWidth: detections.width, sourceHeight: detections.height, pixelRatio: w / Math.max(1, this.canvas.clientWidth) };
      // Under the detections, so their tags stay readable.
      if (this.showMotionRegions) motionBoxes = detections.motion ? this.motionRegions.draw(this.ctx, detections.motion.regions, frame) : 0;
      const tags = drawOverlay(this.ctx, { objects: visible, trails: this.trails, masks: this.masks, ...frame });
      for (const layer of this.layers) layer(this.ctx, frame);
      objects = visible.length;
      // Where the tags went, in canvas pixels: readable without the page's pixels (tests, tools).
      this.element.dataset.tags = JSON.stringify(tags.map((t) => [t.x, t.y, t.w, t.h].map(Math.round)));
    }
    if (next) {
      this.acks.consume(next.seq, performance.now());
      this.framesDrawn++;
      this.drawTimes.push(performance.now());
      this.element.dataset.frames = String(this.framesDrawn);
      this.element.dataset.seq = String(detections.seq);
    }
    this.element.dataset.objects = String(objects);
    // How many motion regions were drawn, readable without the page's pixels (tests, tools).
    if (this.showMotionRegions) setAttribute(this.element, 'data-motion-boxes', String(motionBoxes));
    return next?.seq;
  }

  dispose(): void {
    this.mailbox.clear();
    this.shownFrame?.image?.close();
    this.shownFrame = undefined;
    this.element.remove();
  }

  private decode(detections: DetectionsMessage, jpeg: Uint8Array): void {
    this.decoding = true;
    const generation = this.generation;
    createImageBitmap(new Blob([jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }))
      .then(
        (bitmap) => {
          if (generation !== this.generation) bitmap.close();
          else if (this.mailbox.offer(detections, bitmap)) this.handlers.needsDraw();
        },
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
