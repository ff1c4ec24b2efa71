/**
 * Hardware decoding: the ffmpeg decoder options for a GPU host (pure; no GPU is needed to build
 * them). Frames are decoded on the GPU and copied back to memory by ffmpeg (no
 * -hwaccel_output_format), so the letterbox, JPEG and showinfo filters run as with software
 * decoding: the decode, the costly part for high-resolution streams, leaves the CPU.
 *
 *  - cuda:  NVDEC, any codec the GPU decodes. `device` is the GPU index ("0").
 *  - vaapi: Intel/AMD through libva. `device` is the DRM render node (default /dev/dri/renderD128).
 *  - qsv:   Intel Quick Sync. QSV decodes only through its own decoders (h264_qsv, hevc_qsv, ...),
 *           so the codec must be known: without it the options ask for nothing (software decoding).
 */

import type { HwaccelSetting } from '../config/schema.js';

export type HwaccelKind = Exclude<HwaccelSetting, 'none'>;

export interface Hwaccel {
  kind: HwaccelKind;
  /** The device: a GPU index for cuda, a DRM render node for vaapi and qsv. */
  device?: string;
}

export const DEFAULT_DRM_DEVICE = '/dev/dri/renderD128';

/** The decoding a stream's settings ask for; undefined for software decoding. */
export function hwaccelOf(setting: HwaccelSetting, device?: string): Hwaccel | undefined {
  return setting === 'none' ? undefined : { kind: setting, ...(device ? { device } : {}) };
}

/** Codecs with a QSV decoder in ffmpeg (`<codec>_qsv`). */
const QSV_DECODERS = new Set(['h264', 'hevc', 'mpeg2video', 'vc1', 'vp8', 'vp9', 'av1', 'mjpeg']);

/** Whether QSV decoding of `codec` needs the codec first (qsv with a codec it has a decoder for). */
export function hwaccelNeedsCodec(hw: Hwaccel | undefined): boolean {
  return hw?.kind === 'qsv';
}

/** Decoder options (before -i) for `hw`; `codec` is the stream's codec when known (ffmpeg's name). */
export function hwaccelArgs(hw: Hwaccel | undefined, codec?: string): string[] {
  if (!hw) return [];
  switch (hw.kind) {
    case 'cuda':
      return ['-hwaccel', 'cuda', ...(hw.device ? ['-hwaccel_device', hw.device] : [])];
    case 'vaapi':
      return ['-hwaccel', 'vaapi', '-hwaccel_device', hw.device ?? DEFAULT_DRM_DEVICE];
    case 'qsv':
      if (!codec || !QSV_DECODERS.has(codec)) return [];
      return ['-hwaccel', 'qsv', '-qsv_device', hw.device ?? DEFAULT_DRM_DEVICE, '-c:v', `${codec}_qsv`];
  }
}
