/**
 * The class filter: one checkbox per label seen, with the class's colour as a swatch (the colour
 * its boxes have). Labels are inserted in place, in alphabetical order, so a new class never
 * rebuilds the list (a focused checkbox keeps its focus). Labels switched off in the address are
 * listed from the start, their colour shown once their class is seen.
 */
import { classRgb, cssHex } from '../../output/render/palette.js';

export class ClassFilter {
  private readonly entries = new Map<string, { wrap: HTMLElement; swatch: HTMLElement; box: HTMLInputElement; classId?: number }>();
  private readonly hint: HTMLElement | null;

  constructor(
    private readonly list: HTMLElement,
    private readonly hidden: Set<string>,
    private readonly changed: () => void,
  ) {
    this.hint = list.querySelector('.muted');
    for (const label of hidden) this.ensure(label, undefined);
  }

  /** Labels (with their class ids) seen in a frame. */
  note(objects: ReadonlyArray<{ label: string; class: number }>): void {
    for (const o of objects) {
      const e = this.entries.get(o.label);
      if (e && e.classId !== undefined) continue;
      this.ensure(o.label, o.class);
    }
  }

  private ensure(label: string, classId: number | undefined): void {
    let e = this.entries.get(label);
    if (!e) {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = label;
      box.checked = !this.hidden.has(label);
      box.addEventListener('change', () => {
        if (box.checked) this.hidden.delete(label);
        else this.hidden.add(label);
        this.changed();
      });
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.setAttribute('aria-hidden', 'true');
      const wrap = document.createElement('label');
      wrap.className = 'class-option';
      wrap.dataset.label = label;
      wrap.append(box, swatch, label);
      e = { wrap, swatch, box };
      this.entries.set(label, e);
      const next = [...this.entries.keys()].filter((l) => l > label).sort()[0];
      this.list.insertBefore(wrap, next === undefined ? null : this.entries.get(next)!.wrap);
      this.hint?.remove();
    }
    if (classId !== undefined && e.classId === undefined) {
      e.classId = classId;
      e.swatch.style.background = cssHex(classRgb(classId));
    }
  }
}
