/**
 * The tiles on screen: a grid that fills the space under the header for any number of streams
 * (gridLayout.ts), in pages when they would come out too small, or one stream large. It tells the
 * page which tiles are on screen (IntersectionObserver), so the others take detections only.
 */
import { fitGrid, type GridFit } from './gridLayout.js';
import type { StreamTile } from './streamTile.js';

/** Gap between tiles, px (as in dashboard.css). */
const GAP_PX = 8;
/** Narrowest video a page of the grid may give a tile, px; narrower takes pages. */
const MIN_VIDEO_WIDTH_PX = 160;

export interface TileGridHandlers {
  /** A tile came on screen or left it. */
  onScreenChanged(tile: StreamTile, onScreen: boolean): void;
  /** The page shown changed (by the pager or because tiles came or went). */
  onPageChanged(page: number): void;
}

export class TileGrid {
  private readonly tiles: StreamTile[] = [];
  private expanded: string | undefined;
  private page = 1;
  private fit: GridFit | undefined;
  private readonly intersections: IntersectionObserver;
  private readonly sizes: ResizeObserver;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly pageLabel: HTMLElement;

  constructor(
    private readonly element: HTMLElement,
    private readonly pager: HTMLElement,
    private readonly handlers: TileGridHandlers,
  ) {
    this.intersections = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          const tile = this.tiles.find((t) => t.element === e.target);
          if (tile) this.handlers.onScreenChanged(tile, e.isIntersecting);
        }
      },
      { threshold: 0 },
    );
    this.sizes = new ResizeObserver((entries) => {
      for (const e of entries) {
        if (e.target === this.element) this.layout();
        else this.tiles.find((t) => t.viewElement === e.target)?.layout();
      }
    });
    this.sizes.observe(this.element);
    this.prev = this.pagerButton('‹', 'Previous page', -1);
    this.next = this.pagerButton('›', 'Next page', 1);
    this.pageLabel = document.createElement('span');
    this.pageLabel.className = 'pager-label';
    this.pageLabel.setAttribute('aria-live', 'polite');
    pager.append(this.prev, this.pageLabel, this.next);
  }

  get size(): number {
    return this.tiles.length;
  }

  /** Adds a tile at the end; the caller lays out once it added what it has. */
  add(tile: StreamTile): void {
    this.tiles.push(tile);
    this.element.append(tile.element);
    this.intersections.observe(tile.element);
    this.sizes.observe(tile.viewElement);
  }

  remove(tile: StreamTile): void {
    const i = this.tiles.indexOf(tile);
    if (i < 0) return;
    this.tiles.splice(i, 1);
    this.intersections.unobserve(tile.element);
    this.sizes.unobserve(tile.viewElement);
    this.layout();
  }

  /** Shows one stream large (or the grid again with undefined). */
  setExpanded(id: string | undefined): void {
    this.expanded = this.tiles.some((t) => t.id === id) ? id : undefined;
    for (const t of this.tiles) t.setExpanded(t.id === this.expanded);
    this.layout();
  }

  setPage(page: number): void {
    this.page = page;
    this.layout();
  }

  /** Recomputes the arrangement for the space there is now and shows the tiles of the current page. */
  layout(): void {
    const single = this.expanded !== undefined;
    this.element.classList.toggle('single', single);
    const head = this.tiles[0]?.element.querySelector('.tile-head')?.getBoundingClientRect().height || 30;
    const fit = fitGrid(single ? 1 : this.tiles.length, {
      width: this.element.clientWidth,
      height: this.element.clientHeight,
      gap: GAP_PX,
      headHeight: head,
      aspect: commonAspect(this.tiles),
      minVideoWidth: Math.min(MIN_VIDEO_WIDTH_PX, this.element.clientWidth),
    });
    this.fit = fit;
    const pages = single ? 1 : fit.pages;
    // Before the first tiles the page asked for (e.g. in the address) is kept.
    const page = this.tiles.length === 0 ? this.page : Math.min(Math.max(1, this.page), pages);
    if (page !== this.page) {
      this.page = page;
      this.handlers.onPageChanged(page);
    }
    this.element.style.gridTemplateColumns = `repeat(${fit.cols}, minmax(0, 1fr))`;
    this.element.style.gridTemplateRows = `repeat(${fit.rows}, minmax(0, 1fr))`;
    const first = (page - 1) * fit.perPage;
    this.tiles.forEach((t, i) => {
      t.element.hidden = single ? t.id !== this.expanded : i < first || i >= first + fit.perPage;
    });
    this.element.dataset.cols = String(fit.cols);
    this.element.dataset.rows = String(fit.rows);
    this.pager.hidden = pages <= 1;
    this.prev.disabled = page <= 1;
    this.next.disabled = page >= pages;
    const last = Math.min(this.tiles.length, first + fit.perPage);
    this.pageLabel.textContent = `cameras ${first + 1}–${last} of ${this.tiles.length}`;
    for (const t of this.tiles) if (!t.element.hidden) t.layout();
  }

  /** The arrangement in use (for tests and the page's figures). */
  get current(): GridFit | undefined {
    return this.fit;
  }

  private pagerButton(text: string, label: string, step: number): HTMLButtonElement {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tool pager-button';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', () => {
      this.page += step;
      this.layout();
      this.handlers.onPageChanged(this.page);
    });
    return b;
  }
}

/** The median aspect of the tiles' streams: the grid is arranged for it. */
function commonAspect(tiles: readonly StreamTile[]): number {
  if (tiles.length === 0) return 16 / 9;
  const a = tiles.map((t) => t.aspect).sort((x, y) => x - y);
  return a[Math.floor(a.length / 2)]!;
}
