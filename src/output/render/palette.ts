/**
 * Colours: one per class id, stable across runs and outputs (the rendered video, the report and the
 * dashboard use this palette), and the text colour that reads best on each.
 */
import type { Rgb } from './image.js';

/** Ultralytics' 20-colour palette, so classes look as users of those tools expect. */
const PALETTE: readonly Rgb[] = [
  [255, 56, 56], [255, 157, 151], [255, 112, 31], [255, 178, 29], [207, 210, 49], [72, 249, 10], [146, 204, 23],
  [61, 219, 134], [26, 147, 52], [0, 212, 187], [44, 153, 168], [0, 194, 255], [52, 69, 147], [100, 115, 255],
  [0, 24, 236], [132, 56, 255], [82, 0, 133], [203, 56, 255], [255, 149, 200], [255, 55, 199],
];

export function classRgb(cls: number): Rgb {
  return PALETTE[((cls % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** WCAG relative luminance of an sRGB colour, 0..1. */
export function relativeLuminance(c: Rgb): number {
  const lin = (v: number): number => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

/** WCAG contrast ratio between two colours, 1..21. */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

export const BLACK: Rgb = [0, 0, 0];
export const WHITE: Rgb = [255, 255, 255];

/** Black or white, whichever contrasts more with `background`. */
export function textRgbOn(background: Rgb): Rgb {
  return contrastRatio(background, BLACK) >= contrastRatio(background, WHITE) ? BLACK : WHITE;
}

/** `#rrggbb` for HTML and SVG. */
export function cssHex(c: Rgb): string {
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}
