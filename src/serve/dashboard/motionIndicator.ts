/**
 * A tile's motion indicator (streams with motion gating, docs/motion.md): a small meter in the
 * header filled by the share of the frame that changed, lit when the detector ran on the frame and
 * dim when it was skipped (its boxes carried forward). Fed by the `detections` messages.
 */
import type { StreamTile } from './streamTile.js';
import type { DetectionsMessage } from './wire.js';

/** A change of this share of the frame fills the meter; the square root shows small changes. */
const FULL_SCALE = 0.25;

export class MotionIndicator {
  private readonly meter: HTMLElement;
  private readonly fill: HTMLElement;

  constructor(private readonly tile: StreamTile) {
    this.meter = document.createElement('span');
    this.meter.className = 'motion-meter';
    this.meter.hidden = true;
    this.fill = document.createElement('span');
    this.fill.className = 'motion-fill';
    this.meter.append(this.fill);
    tile.addTools(this.meter);
  }

  update(d: DetectionsMessage): void {
    const m = d.motion;
    this.meter.hidden = m === undefined;
    const data = this.tile.element.dataset;
    if (!m) {
      delete data.motion;
      delete data.inferred;
      return;
    }
    const ran = d.inferred !== false;
    this.fill.style.width = `${Math.min(100, 100 * Math.sqrt(m.changed / FULL_SCALE)).toFixed(1)}%`;
    this.meter.classList.toggle('skipped', !ran);
    this.meter.title = `motion: ${(100 * m.changed).toFixed(2)} % of the frame changed · detector ${ran ? 'ran' : 'skipped'} (${m.reason})`;
    // Readable without the page's pixels (tests, accessibility tools).
    data.motion = String(m.changed);
    data.inferred = String(ran);
  }
}
