/**
 * Drawing a zone or a line on a tile with the mouse, saved with PUT /api/streams/:id/analytics.
 * A line is two clicks (from, to: "in" is to the right of from → to, as seen on the screen); a zone
 * is a click per corner, closed by clicking its first corner again, double-clicking or Enter.
 * Escape cancels. The shape is then named and saved; the server validates it and answers with a
 * message naming the field when it refuses. An existing zone or line is removed by choosing it in
 * the list and pressing "remove" (saved the same way).
 */
import type { DraftShape, Pt } from './analyticsLayer.js';
import type { WireAnalyticsConfig } from './wire.js';

/** Clicking within this many CSS pixels of a zone's first corner closes it. */
const CLOSE_RADIUS_PX = 10;

export interface EditorHost {
  canvas: HTMLCanvasElement;
  /** The source frame size the tile shows, once a frame is known. */
  sourceSize(): { width: number; height: number } | undefined;
  config(): WireAnalyticsConfig | undefined;
  /** Saves the whole analytics config; resolves to an error message, or undefined when saved. */
  save(config: WireAnalyticsConfig): Promise<string | undefined>;
  /** Something to draw changed. */
  invalidate(): void;
}

function button(text: string, className: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  return b;
}

function uniqueName(base: string, taken: ReadonlyArray<{ name: string }> | undefined): string {
  const names = new Set((taken ?? []).map((t) => t.name));
  let n = 1;
  while (names.has(`${base}${n}`)) n++;
  return `${base}${n}`;
}

/** The config without the named zone or line. */
export function withoutShape(config: WireAnalyticsConfig | undefined, kind: DraftShape['kind'], name: string): WireAnalyticsConfig {
  const base: WireAnalyticsConfig = structuredClone(config ?? {});
  if (kind === 'zone') base.zones = (base.zones ?? []).filter((z) => z.name !== name);
  else base.lines = (base.lines ?? []).filter((l) => l.name !== name);
  return base;
}

/** The config with one more zone or line, in the config's own coordinates. */
export function withShape(config: WireAnalyticsConfig | undefined, shape: DraftShape, name: string, size: { width: number; height: number }): WireAnalyticsConfig {
  const base: WireAnalyticsConfig = structuredClone(config ?? {});
  const normalized = (base.coordinates ?? 'pixels') === 'normalized';
  const out = ([x, y]: Pt): [number, number] =>
    normalized ? [Math.round((x / size.width) * 1e4) / 1e4, Math.round((y / size.height) * 1e4) / 1e4] : [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  if (shape.kind === 'zone') base.zones = [...(base.zones ?? []), { name, polygon: shape.points.map(out) }];
  else base.lines = [...(base.lines ?? []), { name, from: out(shape.points[0]!), to: out(shape.points[1]!) }];
  return base;
}

export class AnalyticsEditor {
  readonly toolbar: HTMLElement;
  draft: DraftShape | undefined;

  private readonly zoneButton = button('+ zone', 'tool');
  private readonly lineButton = button('+ line', 'tool');
  private readonly nameInput = document.createElement('input');
  private readonly saveButton = button('save', 'tool primary');
  private readonly cancelButton = button('cancel', 'tool');
  private readonly removeSelect = document.createElement('select');
  private readonly removeButton = button('remove', 'tool');
  private readonly status = document.createElement('span');
  private finished = false;

  constructor(private readonly host: EditorHost) {
    this.toolbar = document.createElement('div');
    this.toolbar.className = 'tools';
    this.nameInput.className = 'tool-name';
    this.nameInput.placeholder = 'name';
    this.nameInput.maxLength = 64;
    this.status.className = 'tool-status';
    this.removeSelect.className = 'tool-remove';
    this.removeSelect.title = 'a zone or line to remove';
    this.toolbar.append(this.zoneButton, this.lineButton, this.removeSelect, this.removeButton, this.nameInput, this.saveButton, this.cancelButton, this.status);
    // The tile opens large on a click: clicks that edit must not reach it.
    this.toolbar.addEventListener('click', (e) => e.stopPropagation());
    this.toolbar.addEventListener('keydown', (e) => {
      e.stopPropagation();
      if (e.key === 'Enter' && this.finished) void this.save();
      if (e.key === 'Escape') this.cancel();
    });
    this.zoneButton.addEventListener('click', () => this.begin('zone'));
    this.lineButton.addEventListener('click', () => this.begin('line'));
    this.saveButton.addEventListener('click', () => void this.save());
    this.cancelButton.addEventListener('click', () => this.cancel());
    // The list is rebuilt when it is about to open: the config changes with every save, from any client.
    for (const type of ['focus', 'pointerdown'] as const) this.removeSelect.addEventListener(type, () => this.listShapes());
    this.removeSelect.addEventListener('change', () => this.showControls());
    this.removeButton.addEventListener('click', () => void this.remove());
    const { canvas } = host;
    canvas.addEventListener('click', (e) => this.onClick(e));
    canvas.addEventListener('dblclick', (e) => {
      if (!this.draft) return;
      e.stopPropagation();
      this.close();
    });
    canvas.addEventListener('mousemove', (e) => {
      if (!this.draft || this.finished) return;
      this.draft.cursor = this.toSource(e);
      host.invalidate();
    });
    window.addEventListener('keydown', (e) => {
      if (!this.draft || this.finished) return;
      if (e.key === 'Enter') this.close();
      if (e.key === 'Escape') this.cancel();
    });
    this.listShapes();
    this.showControls();
  }

  private begin(kind: DraftShape['kind']): void {
    if (!this.host.sourceSize()) {
      this.say('no frame yet');
      return;
    }
    this.draft = { kind, points: [] };
    this.finished = false;
    this.say(kind === 'line' ? 'click the two ends of the line' : 'click the corners; click the first again to close');
    this.showControls();
    this.host.invalidate();
  }

  private onClick(e: MouseEvent): void {
    if (!this.draft) return;
    e.stopPropagation();
    if (this.finished) return;
    const p = this.toSource(e);
    const d = this.draft;
    if (d.kind === 'zone' && d.points.length >= 3 && this.nearFirst(e)) {
      this.close();
      return;
    }
    d.points.push(p);
    if (d.kind === 'line' && d.points.length === 2) this.close();
    this.host.invalidate();
  }

  private close(): void {
    const d = this.draft;
    if (!d) return;
    // A double-click also lands as two clicks: drop corners that repeat the last one.
    d.points = d.points.filter((p, i, all) => i === 0 || p[0] !== all[i - 1]![0] || p[1] !== all[i - 1]![1]);
    if ((d.kind === 'zone' && d.points.length < 3) || (d.kind === 'line' && d.points.length < 2)) return;
    d.cursor = undefined;
    this.finished = true;
    const config = this.host.config();
    this.nameInput.value = uniqueName(d.kind, d.kind === 'zone' ? config?.zones : config?.lines);
    this.say('name it and save');
    this.showControls();
    this.nameInput.focus();
    this.nameInput.select();
    this.host.invalidate();
  }

  private async save(): Promise<void> {
    const size = this.host.sourceSize();
    if (!this.draft || !this.finished || !size) return;
    this.saveButton.disabled = true;
    const error = await this.host.save(withShape(this.host.config(), this.draft, this.nameInput.value.trim(), size));
    this.saveButton.disabled = false;
    if (error) {
      this.say(error, true);
      return;
    }
    this.draft = undefined;
    this.finished = false;
    this.listShapes();
    this.say('saved');
    this.showControls();
    this.host.invalidate();
  }

  private listShapes(): void {
    const config = this.host.config();
    const chosen = this.removeSelect.value;
    const options = [new Option('zones & lines…', '')];
    for (const z of config?.zones ?? []) options.push(new Option(`zone ${z.name}`, `zone:${z.name}`));
    for (const l of config?.lines ?? []) options.push(new Option(`line ${l.name}`, `line:${l.name}`));
    this.removeSelect.replaceChildren(...options);
    this.removeSelect.value = options.some((o) => o.value === chosen) ? chosen : '';
  }

  private async remove(): Promise<void> {
    const [kind, ...rest] = this.removeSelect.value.split(':');
    if (kind !== 'zone' && kind !== 'line') return;
    const name = rest.join(':');
    this.removeButton.disabled = true;
    const error = await this.host.save(withoutShape(this.host.config(), kind, name));
    this.removeButton.disabled = false;
    if (error) {
      this.say(error, true);
      return;
    }
    this.removeSelect.value = '';
    this.say(`removed ${kind} ${name}`);
    this.showControls();
    this.host.invalidate();
  }

  private cancel(): void {
    this.draft = undefined;
    this.finished = false;
    this.say('');
    this.showControls();
    this.host.invalidate();
  }

  private showControls(): void {
    const drawing = this.draft !== undefined;
    this.zoneButton.hidden = drawing;
    this.lineButton.hidden = drawing;
    this.cancelButton.hidden = !drawing;
    this.removeSelect.hidden = drawing;
    this.removeButton.hidden = drawing || this.removeSelect.value === '';
    this.nameInput.hidden = !this.finished;
    this.saveButton.hidden = !this.finished;
    this.toolbar.dataset.mode = this.finished ? 'naming' : drawing ? 'drawing' : 'idle';
  }

  private say(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
  }

  /** Mouse position in source pixels. */
  private toSource(e: MouseEvent): Pt {
    const r = this.host.canvas.getBoundingClientRect();
    const size = this.host.sourceSize()!;
    return [((e.clientX - r.left) / r.width) * size.width, ((e.clientY - r.top) / r.height) * size.height];
  }

  private nearFirst(e: MouseEvent): boolean {
    const first = this.draft!.points[0]!;
    const r = this.host.canvas.getBoundingClientRect();
    const size = this.host.sourceSize()!;
    const fx = r.left + (first[0] / size.width) * r.width;
    const fy = r.top + (first[1] / size.height) * r.height;
    return Math.hypot(e.clientX - fx, e.clientY - fy) <= CLOSE_RADIUS_PX;
  }
}
