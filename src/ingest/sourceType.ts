/**
 * How a source is opened (SourceType in types.ts), which depends on more than its URL scheme
 * (sourceUrl.ts). Each type is opened differently (ffmpeg.ts inputArgs, docs/sources.md). Files
 * and RTSP are known from the URL (here, pure); an HTTP URL needs one GET for its headers
 * (classify.ts).
 */
import type { SourceType } from '../types.js';
import type { HlsPlaylist } from './hls.js';
import { sourceKind } from './sourceUrl.js';

export interface SourceProfile {
  type: SourceType;
  /** HLS: the media playlist as read when the source was classified. */
  playlist?: HlsPlaylist;
}

/** Finite types end by themselves and can be read again: `loop` and `realtime` apply to them. */
export function isFiniteType(type: SourceType): boolean {
  return type === 'file' || type === 'http-file' || type === 'hls-vod';
}

/** The type as far as the URL alone tells (an HTTP URL by its path; classify.ts asks the server). */
export function typeFromUrl(url: string): SourceType {
  switch (sourceKind(url)) {
    case 'file':
      return 'file';
    case 'rtsp':
      return 'rtsp';
    case 'http': {
      const path = new URL(url).pathname;
      if (/\.m3u8?$/i.test(path)) return 'hls-live';
      if (/\.(mp4|m4v|mov|mkv|webm|avi|flv|mpg|mpeg|wmv|3gp|ogv)$/i.test(path)) return 'http-file';
      if (/\.(mjpe?g|cgi)$/i.test(path)) return 'mjpeg';
      return 'http-live';
    }
    case 'other':
      // Refused by the config; should one get here, it is read as a live stream.
      return 'http-live';
  }
}
