/**
 * Inverse letterbox for boxes: model-input pixels to source pixels, clipped to the frame.
 * (Ingest owns the forward transform; this is the small inverse the decoders need.)
 */
import type { Box, Letterbox } from '../../types.js';

export function toSourceBox(x1: number, y1: number, x2: number, y2: number, lb: Letterbox): Box {
  const s = lb.scale;
  const clipX = (v: number): number => Math.min(Math.max(v, 0), lb.srcWidth);
  const clipY = (v: number): number => Math.min(Math.max(v, 0), lb.srcHeight);
  return [clipX((x1 - lb.padX) / s), clipY((y1 - lb.padY) / s), clipX((x2 - lb.padX) / s), clipY((y2 - lb.padY) / s)];
}
