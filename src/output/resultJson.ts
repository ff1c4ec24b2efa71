/** The one JSON shape of a detection in every output (files, WebSocket, HTTP). */
import type { Box, Detection, FrameMotion } from '../types.js';

export interface DetectionJson {
  box: [number, number, number, number];
  score: number;
  class: number;
  label: string;
  track_id?: number;
  mask?: { size: [number, number]; counts: number[] };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
const round4 = (v: number): number => Math.round(v * 10000) / 10000;

/** Boxes to 0.01 px and scores to 1e-4: more digits are noise and cost bytes on every frame. */
export function detectionToJson(d: Detection): DetectionJson {
  const out: DetectionJson = {
    box: [round2(d.box[0]), round2(d.box[1]), round2(d.box[2]), round2(d.box[3])],
    score: round4(d.score),
    class: d.class,
    label: d.label,
  };
  if (d.trackId !== undefined) out.track_id = d.trackId;
  if (d.mask) out.mask = { size: d.mask.size, counts: d.mask.counts };
  return out;
}

/** Motion regions kept per frame in the outputs: the largest; a frame of many is mostly moving anyway. */
export const MOTION_REGIONS_KEPT = 16;

/** What motion gating saw on a frame, in files and on the WebSocket (docs/motion.md). */
export interface MotionJson {
  /** Fraction of the frame that changed, to 1e-4. */
  changed: number;
  reason: FrameMotion['reason'];
  /**
   * The frame's motion regions, source pixels rounded outward to whole pixels (each still covers
   * its region), largest area first, at most MOTION_REGIONS_KEPT. Absent when nothing moved: most
   * frames of a gated camera are still, and `[]` would cost each of them 13 bytes.
   */
  regions?: Box[];
}

const area = (b: Box): number => (b[2] - b[0]) * (b[3] - b[1]);

export function motionToJson(m: FrameMotion): MotionJson {
  const largest = [...m.regions].sort((a, b) => area(b) - area(a));
  if (largest.length > MOTION_REGIONS_KEPT) largest.length = MOTION_REGIONS_KEPT;
  const json: MotionJson = { changed: round4(m.changed), reason: m.reason };
  if (largest.length) json.regions = largest.map((b) => [Math.floor(b[0]), Math.floor(b[1]), Math.ceil(b[2]), Math.ceil(b[3])]);
  return json;
}
