/**
 * Detector crops around motion (pure, no I/O): where a high-resolution frame moved, the detector
 * also runs on a window of the source frame at (about) its own pixels instead of only on the
 * whole frame shrunk to the model input, so a small object there keeps enough pixels to be found
 * (Frigate's regions). Three steps:
 *
 *  1. planCrops: each motion region, with a margin, becomes a window of the model input's shape,
 *     at least the model input's size in source pixels (1 source pixel per model pixel) and larger
 *     only when the region is; windows whose union costs no more pixels than the two apart are
 *     merged; windows that would see the frame no sharper than the whole frame does are left out
 *     (the full-frame run already sees that), and at most `maxCrops` stay, most motion first.
 *  2. cropInput: a window's pixels as a letterboxed model input (box average, pad colour where
 *     the frame is smaller than the window).
 *  3. mergeCropDetections: detections of the windows in source pixels, without those cut by a
 *     window's edge inside the frame, merged with the full frame's by per-class NMS.
 */
import { boxIou } from '../geometry/iou.js';
import { computeLetterbox } from '../ingest/letterbox.js';
import { chromaSize, toRgbCoefficients } from '../ingest/yuv.js';
import type { Box, Detection, Letterbox, SourceImage } from '../types.js';

/** A window of the source frame, whole source pixels. */
export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Changed area (source pixels) of the motion regions it was planned from: the order of importance. */
  motion: number;
}

export interface CropPlanOptions {
  /** Most windows per frame. */
  maxCrops: number;
  /** Margin around a region on each side, as a fraction of its larger side (the object's motion box is tight). */
  margin?: number;
  /** A window must see the frame at least this much sharper (linear) than the whole frame in the model input. */
  minGain?: number;
}

const DEFAULT_MARGIN = 0.25;
const DEFAULT_MIN_GAIN = 1.5;
/** Pixels of a window's inner edge within which a detection counts as cut by it. */
const EDGE_PX = 2;
/** IoU over which two detections of one class are the same object (the detectors' NMS default). */
const MERGE_IOU = 0.5;
/** The model input's pad colour (ingest/ffmpeg.ts PAD_COLOR), so a window's padding looks like the full frame's. */
export const PAD_LEVEL = 114;

/**
 * Windows for the motion `regions` (source pixels) of a `frameWidth` x `frameHeight` frame, for a
 * `inputWidth` x `inputHeight` model input.
 */
export function planCrops(regions: readonly Box[], frameWidth: number, frameHeight: number, inputWidth: number, inputHeight: number, o: CropPlanOptions): Crop[] {
  const margin = o.margin ?? DEFAULT_MARGIN;
  // Source pixels per model pixel when the whole frame is letterboxed: what a window must beat.
  const fullFactor = Math.max(frameWidth / inputWidth, frameHeight / inputHeight);
  const maxFactor = fullFactor / (o.minGain ?? DEFAULT_MIN_GAIN);
  if (maxFactor < 1 || o.maxCrops < 1) return [];
  let boxes = regions.map((r) => {
    const pad = margin * Math.max(r[2] - r[0], r[3] - r[1]);
    return { box: [r[0] - pad, r[1] - pad, r[2] + pad, r[3] + pad] as Box, motion: (r[2] - r[0]) * (r[3] - r[1]) };
  });
  // Merge while some pair's window costs no more than the two apart (fewer, fuller model runs).
  for (let merged = true; merged && boxes.length > 1; ) {
    merged = false;
    for (let i = 0; i < boxes.length && !merged; i++) {
      for (let j = i + 1; j < boxes.length && !merged; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const union: Box = [Math.min(a.box[0], b.box[0]), Math.min(a.box[1], b.box[1]), Math.max(a.box[2], b.box[2]), Math.max(a.box[3], b.box[3])];
        const cost = (box: Box): number => factorFor(box, inputWidth, inputHeight) ** 2;
        if (cost(union) <= cost(a.box) + cost(b.box)) {
          boxes = boxes.filter((_, k) => k !== i && k !== j);
          boxes.push({ box: union, motion: a.motion + b.motion });
          merged = true;
        }
      }
    }
  }
  return boxes
    .filter((b) => factorFor(b.box, inputWidth, inputHeight) <= maxFactor)
    .sort((a, b) => b.motion - a.motion)
    .slice(0, o.maxCrops)
    .map((b) => place(b.box, factorFor(b.box, inputWidth, inputHeight), frameWidth, frameHeight, inputWidth, inputHeight, b.motion));
}

/** Source pixels per model pixel a window around `box` needs: 1, or more when the box is larger than the input. */
function factorFor(box: Box, inputWidth: number, inputHeight: number): number {
  return Math.max(1, (box[2] - box[0]) / inputWidth, (box[3] - box[1]) / inputHeight);
}

/** The window of the input's shape at `factor`, centred on `box`, moved (not shrunk) inside the frame; cut to the frame where larger. */
function place(box: Box, factor: number, frameWidth: number, frameHeight: number, inputWidth: number, inputHeight: number, motion: number): Crop {
  const axis = (lo: number, hi: number, size: number, frame: number): [number, number] => {
    const side = Math.min(frame, Math.ceil(size * factor));
    const start = Math.round((lo + hi) / 2 - side / 2);
    return [Math.min(Math.max(0, start), frame - side), side];
  };
  const [x, width] = axis(box[0], box[2], inputWidth, frameWidth);
  const [y, height] = axis(box[1], box[3], inputHeight, frameHeight);
  return { x, y, width, height, motion };
}

/** The letterbox that maps a window's pixels to the model input (boxes come back in window pixels). */
export function cropLetterbox(crop: Crop, inputWidth: number, inputHeight: number): Letterbox {
  return computeLetterbox(crop.width, crop.height, inputWidth, inputHeight);
}

/**
 * The window's pixels letterboxed into a new model input (RGB, HWC): each model pixel is the mean
 * of the source pixels it covers (Y of each, U and V of each one's chroma block), turned into RGB
 * by the source's matrix as ffmpeg's letterbox of the whole frame does; padding is PAD_LEVEL.
 */
export function cropInput(source: SourceImage, crop: Crop, lb: Letterbox): Uint8Array {
  const out = new Uint8Array(lb.dstWidth * lb.dstHeight * 3).fill(PAD_LEVEL);
  const { width: sw, height: sh, yuv } = source;
  const [cw, ch] = chromaSize(sw, sh);
  const uPlane = sw * sh;
  const vPlane = uPlane + cw * ch;
  const k = toRgbCoefficients(source.matrix);
  const fx = crop.width / lb.resizedWidth;
  const fy = crop.height / lb.resizedHeight;
  // Source columns of each output column, computed once per call.
  const x0s = new Int32Array(lb.resizedWidth);
  const x1s = new Int32Array(lb.resizedWidth);
  for (let ox = 0; ox < lb.resizedWidth; ox++) {
    x0s[ox] = crop.x + Math.floor(ox * fx);
    x1s[ox] = crop.x + Math.max(Math.floor(ox * fx) + 1, Math.floor((ox + 1) * fx));
  }
  const byte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let oy = 0; oy < lb.resizedHeight; oy++) {
    const y0 = crop.y + Math.floor(oy * fy);
    const y1 = crop.y + Math.max(Math.floor(oy * fy) + 1, Math.floor((oy + 1) * fy));
    let o = ((lb.padY + oy) * lb.dstWidth + lb.padX) * 3;
    for (let ox = 0; ox < lb.resizedWidth; ox++, o += 3) {
      let ys = 0;
      let us = 0;
      let vs = 0;
      const xa = x0s[ox]!;
      const xb = x1s[ox]!;
      for (let y = y0; y < y1; y++) {
        const chroma = (y >> 1) * cw;
        for (let x = xa, p = y * sw + xa; x < xb; x++, p++) {
          ys += yuv[p]!;
          us += yuv[uPlane + chroma + (x >> 1)]!;
          vs += yuv[vPlane + chroma + (x >> 1)]!;
        }
      }
      const n = (y1 - y0) * (xb - xa);
      const l = k.y * (ys / n - 16);
      const u = us / n - 128;
      const v = vs / n - 128;
      out[o] = byte(l + k.rv * v);
      out[o + 1] = byte(l - k.gu * u - k.gv * v);
      out[o + 2] = byte(l + k.bu * u);
    }
  }
  return out;
}

/**
 * The full frame's detections merged with the windows' (`crops[i]`'s detections in
 * `perCrop[i]`, in window pixels): window detections are moved to source pixels, dropped when
 * they touch a window edge that is not the frame's (the object goes on outside: the full frame or
 * another window sees it whole), lose their mask (it covers the window, not the frame), and the
 * union is reduced by per-class NMS, higher scores first.
 */
export function mergeCropDetections(full: readonly Detection[], crops: readonly Crop[], perCrop: readonly (readonly Detection[])[], frameWidth: number, frameHeight: number): Detection[] {
  const all: Detection[] = [...full];
  crops.forEach((c, i) => {
    for (const d of perCrop[i] ?? []) {
      const box: Box = [d.box[0] + c.x, d.box[1] + c.y, d.box[2] + c.x, d.box[3] + c.y];
      const cut =
        (c.x > 0 && box[0] <= c.x + EDGE_PX) ||
        (c.y > 0 && box[1] <= c.y + EDGE_PX) ||
        (c.x + c.width < frameWidth && box[2] >= c.x + c.width - EDGE_PX) ||
        (c.y + c.height < frameHeight && box[3] >= c.y + c.height - EDGE_PX);
      if (cut) continue;
      const { mask: _mask, ...rest } = d;
      all.push({ ...rest, box });
    }
  });
  if (all.length === full.length) return [...full];
  const order = all.map((_, i) => i).sort((a, b) => all[b]!.score - all[a]!.score || a - b);
  const boxes = new Float64Array(all.length * 4);
  all.forEach((d, i) => boxes.set(d.box, 4 * i));
  const kept: number[] = [];
  for (const i of order) {
    if (!kept.some((j) => all[j]!.class === all[i]!.class && boxIou(boxes, i, boxes, j) > MERGE_IOU)) kept.push(i);
  }
  return kept.sort((a, b) => a - b).map((i) => all[i]!);
}
