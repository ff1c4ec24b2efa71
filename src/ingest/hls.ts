/**
 * HLS playlists, read for what decides how a stream runs: a playlist with #EXT-X-ENDLIST is a
 * recording (it ends, or loops), one without is live; a live playlist that stops gaining segments
 * is a stalled source. Parsing is pure; readPlaylist fetches (a master playlist's first variant,
 * the one ffmpeg decodes with [0:v]).
 */
import { httpGet, type HttpAnswer } from './http.js';

export interface HlsPlaylist {
  /** Variant playlist URIs of a master playlist, resolved against its URL; empty for a media playlist. */
  variants: string[];
  /** #EXT-X-ENDLIST: no segment will be added (a recording, or a live event that finished). */
  ended: boolean;
  /** #EXT-X-MEDIA-SEQUENCE: the sequence number of the first segment listed. */
  mediaSequence: number;
  /** #EXT-X-TARGETDURATION, seconds (0 when missing). */
  targetDuration: number;
  /** Segment URIs as listed. */
  segments: string[];
  /** Sum of the segments' #EXTINF durations, seconds. */
  duration: number;
}

/** Parses playlist text; throws when it is not an M3U8 playlist. */
export function parsePlaylist(text: string, base?: string): HlsPlaylist {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist (no #EXTM3U)');
  const p: HlsPlaylist = { variants: [], ended: false, mediaSequence: 0, targetDuration: 0, segments: [], duration: 0 };
  let variantNext = false;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const [tag, value = ''] = splitTag(line);
      if (tag === '#EXT-X-ENDLIST') p.ended = true;
      else if (tag === '#EXT-X-MEDIA-SEQUENCE') p.mediaSequence = Number(value) || 0;
      else if (tag === '#EXT-X-TARGETDURATION') p.targetDuration = Number(value) || 0;
      else if (tag === '#EXT-X-STREAM-INF') variantNext = true;
      else if (tag === '#EXTINF') p.duration += Number(value.split(',')[0]) || 0;
      continue;
    }
    if (variantNext) {
      p.variants.push(base ? new URL(line, base).href : line);
      variantNext = false;
    } else p.segments.push(line);
  }
  return p;
}

function splitTag(line: string): [string, string?] {
  const colon = line.indexOf(':');
  return colon < 0 ? [line] : [line.slice(0, colon), line.slice(colon + 1)];
}

/** Whether the live playlist `next` lists a segment that `prev` did not (the stream moved on). */
export function playlistAdvanced(prev: HlsPlaylist, next: HlsPlaylist): boolean {
  const end = (p: HlsPlaylist): number => p.mediaSequence + p.segments.length;
  if (end(next) !== end(prev)) return end(next) > end(prev);
  return next.segments.at(-1) !== prev.segments.at(-1);
}

/** True for a URL or an answer that names an HLS playlist (by path or content type). */
export function looksLikeHls(url: URL, contentType?: string): boolean {
  return /\.m3u8?$/i.test(url.pathname) || /mpegurl/i.test(contentType ?? '');
}

export interface ReadPlaylistOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The most a playlist may weigh (a long recording lists thousands of segments). */
export const MAX_PLAYLIST_BYTES = 8 << 20;

/** Fetches a media playlist: the playlist itself, or a master playlist's first variant. */
export async function readPlaylist(url: string, opts: ReadPlaylistOptions): Promise<HlsPlaylist> {
  const first = await fetchPlaylist(url, opts);
  const playlist = parsePlaylist(first.body?.toString('utf8') ?? '', first.url.href);
  if (playlist.variants.length === 0) return playlist;
  const variant = await fetchPlaylist(withCredentialsOf(playlist.variants[0], first.url), opts);
  return parsePlaylist(variant.body?.toString('utf8') ?? '', variant.url.href);
}

async function fetchPlaylist(url: string, opts: ReadPlaylistOptions): Promise<HttpAnswer> {
  const answer = await httpGet(url, { timeoutMs: opts.timeoutMs, maxBodyBytes: MAX_PLAYLIST_BYTES, signal: opts.signal });
  if (answer.status < 200 || answer.status >= 300) throw new Error(`HTTP ${answer.status} for the playlist`);
  return answer;
}

/** A variant on the master playlist's host keeps the master's credentials (as ffmpeg passes them on). */
function withCredentialsOf(variant: string, master: URL): string {
  const v = new URL(variant);
  if (v.host === master.host && !v.username && master.username) {
    v.username = master.username;
    v.password = master.password;
  }
  return v.href;
}
