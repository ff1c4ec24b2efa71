/**
 * A tile's motion indicator (streams with motion gating, docs/motion.md): a small meter in the
 * header filled by the share of the frame that changed, lit when the detector ran on the frame and
 * dim when it was skipped (its boxes carried forward). Fed by the `detections` messages. A click on
 * the meter shows or hides the frames' motion regions over the video (the tile draws them), the
 * way an operator tuning the gating sees what the estimate sees.
 */
import type { StreamTile } from './streamTile.js';
import type { DetectionsMessage } from './wire.js';

/** A change of this share of the frame fills the meter; the square root shows small changes. */
const FULL_SCALE = 0.25;

export class MotionIndicator {
  private readonly meter: HTMLButtonElement;
  private readonly fill: HTMLElement;

  constructor(private readonly tile: StreamTile) {
    this.meter = document.createElement('button');
    this.meter.type = 'button';
    this.meter.className = 'motion-meter';
    this.meter.hidden = true;
    this.meter.setAttribute('aria-pressed', 'false');
    this.meter.setAttribute('aria-label', `Motion regions of ${tile.id}`);
    this.meter.addEventListener('click', (e) => {
      e.stopPropagation(); // not a click that opens the tile
      this.meter.setAttribute('aria-pressed', String(tile.toggleMotionRegions()));
    });
    this.fill = document.createElement('span');
    this.fill.className = 'motion-fill';
    this.meter.append(this.fill);
    tile.addTools(this.meter);
  }

  /**
   * Called for every detections message, on screen or not: the DOM is written only where something
   * changed, and the meter of a tile off screen waits for its next frame on screen, since every
   * write makes the page lay out and draw again.
   */
  update(d: DetectionsMessage): void {
    const m = d.motion;
    if (this.meter.hidden !== (m === undefined)) this.meter.hidden = m === undefined;
    const data = this.tile.element.dataset;
    if (!m) {
      if (data.motion !== undefined) {
        delete data.motion;
        delete data.inferred;
      }
      return;
    }
    if (!this.tile.isOnScreen) return;
    const ran = d.inferred !== false;
    const width = `${Math.min(100, 100 * Math.sqrt(m.changed / FULL_SCALE)).toFixed(1)}%`;
    if (this.fill.style.width !== width) this.fill.style.width = width;
    this.meter.classList.toggle('skipped', !ran);
    const title = `motion: ${(100 * m.changed).toFixed(2)} % of the frame changed · detector ${ran ? 'ran' : 'skipped'} (${m.reason}) · click to show or hide the motion regions`;
    if (this.meter.title !== title) this.meter.title = title;
    // Readable without the page's pixels (tests, accessibility tools).
    if (data.motion !== String(m.changed)) data.motion = String(m.changed);
    if (data.inferred !== String(ran)) data.inferred = String(ran);
  }
}
