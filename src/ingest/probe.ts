/**
 * Source probing with ffprobe: size, frame rate, frame count, codec. Fails fast with one clear
 * line (SourceError) when the input is missing, not a video, has no video stream, or cannot be
 * reached in time.
 */
import { open, stat } from 'node:fs/promises';
import type { SourceInfo, SourceType } from '../types.js';
import type { SourceSettings } from '../config/schema.js';
import { describeExit, ffmpegPath, ffprobePath, inputArgs, spawnFfmpeg, withoutInputName, type ExitStatus } from './ffmpeg.js';
import { clockwiseRotation, displayedSize, InputHeaderParser } from './inputHeader.js';
import { isFiniteType, typeFromUrl } from './sourceType.js';
import { isFileSource, redactUrl } from './sourceUrl.js';

/**
 * ENOENT: no such file. UNREADABLE: a file we may not read. EMPTY: a file of 0 bytes. NOT_VIDEO:
 * not a video at all (text, a damaged MP4, an unknown format). TRUNCATED: an MP4 without its index
 * (cut off, or a recording never finalised). NO_VIDEO_STREAM: a media file without video (audio
 * only). UNAUTHORIZED: the server refused the credentials. STALLED: a live source that stopped
 * advancing (an HLS playlist that gains no segment).
 */
export type SourceErrorCode =
  | 'ENOENT'
  | 'UNREADABLE'
  | 'EMPTY'
  | 'NOT_VIDEO'
  | 'TRUNCATED'
  | 'NO_VIDEO_STREAM'
  | 'UNAUTHORIZED'
  | 'STALLED'
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'PROBE_FAILED'
  | 'CANCELLED';

export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(
    readonly code: SourceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ProbeOptions extends Partial<Pick<SourceSettings, 'rtspTransport'>> {
  /** Whole probe deadline; ffprobe is killed after it. Default 10 s. */
  timeoutMs?: number;
  /** How the source is opened; by default what the URL alone tells. */
  type?: SourceType;
  /** Aborting ends ffprobe at once; the probe then rejects with code CANCELLED. */
  signal?: AbortSignal;
}

export interface ProbedSource extends SourceInfo {
  /** False when frameCount was estimated from duration x fps (no frame count in the container). */
  frameCountExact: boolean;
}

interface ProbeJson {
  streams?: {
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    nb_frames?: string;
    duration?: string;
    field_order?: string;
    color_space?: string;
    tags?: { rotate?: string };
    side_data_list?: { rotation?: number }[];
  }[];
  format?: { format_name?: string; duration?: string };
}

export async function probeSource(url: string, opts: ProbeOptions = {}): Promise<ProbedSource> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const type = opts.type ?? typeFromUrl(url);
  const isFile = isFileSource(url);
  const finite = isFiniteType(type);
  const shown = redactUrl(url);
  if (isFile) await assertReadableFile(url);

  const binary = ffprobePath();
  const socketTimeoutMs = Math.max(100, timeoutMs * 0.8);
  const args = [
    '-hide_banner', '-loglevel', 'error',
    // Every stream: the first video one is analysed, the first audio one may be copied into a render.
    '-print_format', 'json', '-show_streams', '-show_format',
    // The socket timeout stays inside the probe deadline so ffprobe ends itself on a dead server.
    ...inputArgs(url, binary, { type, rtspTransport: opts.rtspTransport, socketTimeoutMs }),
  ];
  const started = performance.now();
  let run = await runProbeChild(args, 'ffprobe', timeoutMs, opts.signal);
  // Some static ffprobe builds crash on inputs that ffmpeg reads fine (the bundled one on MPEG-TS):
  // then ask the decoder itself, which also keeps the probe in step with what will decode.
  if (run.status.signal && !run.timedOut && !run.cancelled) {
    const ffArgs = ['-hide_banner', '-nostdin', ...inputArgs(url, ffmpegPath(), { type, rtspTransport: opts.rtspTransport, socketTimeoutMs })];
    run = await runProbeChild(ffArgs, 'ffmpeg', timeoutMs, opts.signal);
    const info = sourceInfoFromLog(run.lines, url, finite);
    if (info) return { ...info, type };
  }
  const { status, timedOut, cancelled, tail, out } = run;

  if (cancelled) throw new SourceError('CANCELLED', `probe of ${shown} cancelled`);
  if (timedOut) throw new SourceError('TIMEOUT', `timed out after ${timeoutMs} ms probing ${shown}`);
  // ffprobe's last line is its verdict.
  const reason = redactUrl(withoutInputName(tail.at(-1) ?? '', url));
  if (status.spawnError) throw new SourceError('PROBE_FAILED', `cannot run ffprobe (${binary}): ${status.spawnError.message}`);
  if (status.code !== 0) {
    if (isFile) {
      if (/no such file/i.test(reason)) throw new SourceError('ENOENT', `input not found: ${shown}`);
      if (/permission denied/i.test(reason)) throw new SourceError('UNREADABLE', `cannot read ${shown}: permission denied`);
      throw await unreadableFileError(url, reason || describeExit(status, tail), tail);
    }
    if (tail.some((l) => /\b(401 Unauthorized|403 Forbidden)\b/.test(l))) {
      throw new SourceError('UNAUTHORIZED', `${shown}: the server refused the credentials (ffprobe: ${reason})`);
    }
    // A silent server makes ffprobe give up at its socket timeout with a vague "Invalid data".
    if (/timed out/i.test(reason) || performance.now() - started >= socketTimeoutMs) {
      throw new SourceError('TIMEOUT', `no answer from ${shown} within ${Math.round(socketTimeoutMs)} ms (ffprobe: ${reason})`);
    }
    throw new SourceError('UNREACHABLE', `cannot open ${shown} (ffprobe: ${reason || describeExit(status, tail)})`);
  }

  let json: ProbeJson;
  try {
    json = JSON.parse(out) as ProbeJson;
  } catch {
    throw new SourceError('PROBE_FAILED', `ffprobe gave unreadable output for ${shown}`);
  }
  return { ...sourceInfoFrom(json, url, finite), type };
}

/** SourceInfo from ffprobe's JSON (exported for tests of the arithmetic); `isFile`: a finite source. */
export function sourceInfoFrom(json: ProbeJson, url: string, isFile: boolean): ProbedSource {
  const shown = redactUrl(url);
  const v = json.streams?.find((s) => s.codec_type === 'video');
  if (!v) {
    throw new SourceError('NO_VIDEO_STREAM', `no video stream in ${shown}${json.format?.format_name ? ` (format ${json.format.format_name})` : ''}`);
  }
  // ffprobe reads any text file as the 'tty' (ANSI art) format; that is not a video.
  if (v.codec_name === 'ansi' || json.format?.format_name === 'tty') {
    throw new SourceError('NOT_VIDEO', `not a video: ${shown} (ffprobe: text, read as ANSI art)`);
  }
  if (!v.width || !v.height || v.width <= 0 || v.height <= 0) throw new SourceError('NOT_VIDEO', `not a video: ${shown} (video stream without a frame size)`);
  // The display matrix (counter-clockwise, newer ffprobe) or the old rotate tag (clockwise).
  const matrix = v.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const rotation = matrix !== undefined ? clockwiseRotation(matrix) : clockwiseRotation(-Number(v.tags?.rotate ?? 0));
  const { width, height } = displayedSize(v.width, v.height, rotation);
  const interlaced = /^(tt|bb|tb|bt)$/.test(v.field_order ?? '');

  const fps = frameRate(v.avg_frame_rate) || frameRate(v.r_frame_rate);
  const duration = positive(Number(v.duration)) ?? positive(Number(json.format?.duration));
  const nbFrames = Number(v.nb_frames);
  let frameCount: number | undefined;
  let frameCountExact = false;
  if (isFile && Number.isInteger(nbFrames) && nbFrames > 0) {
    frameCount = nbFrames;
    frameCountExact = true;
  } else if (isFile && duration !== undefined && fps > 0) {
    frameCount = Math.round(duration * fps);
  }
  const audioCodec = json.streams?.find((s) => s.codec_type === 'audio')?.codec_name;
  const colorSpace = v.color_space && v.color_space !== 'unknown' ? v.color_space : undefined;
  return {
    url, width, height, rotation, interlaced, fps, frameCount, frameCountExact, duration, codec: v.codec_name ?? 'unknown', isFile,
    ...(colorSpace ? { colorSpace } : {}),
    ...(audioCodec ? { audioCodec } : {}),
  };
}

/** "30000/1001" -> 29.97; 0 for "0/0", missing, or implausible (> 1000 fps: a timebase, not a rate). */
export function frameRate(s: string | undefined): number {
  if (!s) return 0;
  const [n, d = '1'] = s.split('/');
  const r = Number(n) / Number(d);
  return Number.isFinite(r) && r > 0 && r <= 1000 ? r : 0;
}

function positive(v: number): number | undefined {
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** The filesystem path of a local source URL. */
function localPath(url: string): string {
  return url.startsWith('file:') ? url.slice(5) : url;
}

/**
 * A local file is there, readable and not empty; the codes tell what may change by itself (ENOENT,
 * UNREADABLE, EMPTY: a file being restored, renamed back or written) from what is not a video.
 */
async function assertReadableFile(path: string): Promise<void> {
  const p = localPath(path);
  if (p === '-' || p.startsWith('pipe:')) return;
  try {
    const s = await stat(p);
    if (!s.isFile()) throw new SourceError('NOT_VIDEO', `not a video: ${path} (not a regular file)`);
    await (await open(p, 'r')).close();
    if (s.size === 0) throw new SourceError('EMPTY', `empty file: ${path}`);
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw fileError(err as NodeJS.ErrnoException, path);
  }
}

/** The SourceError of a failed stat or open of a local file. */
export function fileError(err: NodeJS.ErrnoException, path: string): SourceError {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return new SourceError('ENOENT', `input not found: ${path}`);
  return new SourceError('UNREADABLE', `cannot read ${path}: ${err.message}`);
}

interface ProbeRun {
  status: ExitStatus;
  out: string;
  /** Every stderr line (ffmpeg prints the stream list there). */
  lines: string[];
  tail: string[];
  timedOut: boolean;
  cancelled: boolean;
}

/** Runs ffprobe or ffmpeg to completion under the probe deadline and the caller's abort signal. */
async function runProbeChild(args: string[], binary: 'ffprobe' | 'ffmpeg', timeoutMs: number, signal?: AbortSignal): Promise<ProbeRun> {
  const lines: string[] = [];
  const child = spawnFfmpeg(args, { binary, tailLines: 5, onLogLine: (l) => void lines.push(l.text) });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => (out += s));
  const stdoutDone = new Promise<void>((resolve) => child.stdout.once('close', resolve));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(500);
  }, timeoutMs);
  let cancelled = false;
  const cancel = (): void => {
    cancelled = true;
    void child.stop(500);
  };
  if (signal?.aborted) cancel();
  else signal?.addEventListener('abort', cancel, { once: true });
  const status = await child.exited;
  clearTimeout(timer);
  signal?.removeEventListener('abort', cancel);
  await stdoutDone;
  return { status, out, lines, tail: child.stderrTail(), timedOut, cancelled };
}

/**
 * SourceInfo from ffmpeg's own description of its input (`ffmpeg -i URL` with no output; see
 * inputHeader.ts). Undefined when no video stream with a size is listed. Frame counts are
 * estimates (duration x fps).
 */
export function sourceInfoFromLog(lines: string[], url: string, isFile: boolean): ProbedSource | undefined {
  const parser = new InputHeaderParser();
  for (const l of lines) parser.push(l);
  const h = parser.header;
  if (!parser.hasVideo || !h.width || !h.height) return undefined;
  const { width, height } = displayedSize(h.width, h.height, h.rotation);
  const frameCount = isFile && h.duration !== undefined && h.fps > 0 ? Math.round(h.duration * h.fps) : undefined;
  return {
    url, width, height, rotation: h.rotation, interlaced: h.interlaced, fps: h.fps, frameCount, frameCountExact: false, duration: h.duration, codec: h.codec ?? 'unknown', isFile,
    ...(h.audioCodec ? { audioCodec: h.audioCodec } : {}),
  };
}

/** ISO base media (MP4, MOV) top-level boxes a file can start with. */
const MP4_FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'styp']);

/**
 * Why ffprobe could not read a local file, in words that fit it: text is not a video; an MP4 with no
 * index is truncated (its boxes run past the end of the file) or unfinished (they do not: a
 * recording never finalised); one whose boxes are garbage is damaged; anything else is not a video
 * ffmpeg knows.
 */
async function unreadableFileError(url: string, reason: string, tail: string[]): Promise<SourceError> {
  const shown = redactUrl(url);
  const path = localPath(url);
  const head = await readAt(path, 0, 512);
  if (head && isText(head)) return new SourceError('NOT_VIDEO', `not a video: ${shown} (a text file)`);
  if (head && head.length >= 8 && MP4_FIRST_BOXES.has(head.toString('latin1', 4, 8)) && tail.some((l) => /moov atom not found/i.test(l))) {
    const boxes = await walkMp4Boxes(path);
    if (boxes.damagedAt !== undefined) return new SourceError('NOT_VIDEO', `not a video: ${shown} (a damaged MP4: no valid box at byte ${boxes.damagedAt})`);
    if (boxes.cutInside) {
      return new SourceError('TRUNCATED', `truncated MP4: ${shown} (cut off inside its '${boxes.cutInside}' box, ${boxes.size} bytes; no index: moov atom not found)`);
    }
    return new SourceError('TRUNCATED', `unfinished MP4: ${shown} (no index: moov atom not found; the recording was not finalised)`);
  }
  return new SourceError('NOT_VIDEO', `not a video: ${shown} (ffprobe: ${reason})`);
}

const GROWING_BOXES = new Set(['mdat', 'moov', 'moof']);

/** Walks an MP4's top-level boxes: the one the file ends inside, or where a box header is garbage. */
async function walkMp4Boxes(path: string): Promise<{ size: number; cutInside?: string; damagedAt?: number }> {
  const size = (await stat(path)).size;
  for (let offset = 0, boxes = 0; offset < size && boxes < 10_000; boxes++) {
    const header = await readAt(path, offset, 16);
    if (!header || header.length < 8) return { size, cutInside: 'header' };
    const type = header.toString('latin1', 4, 8);
    let boxSize = header.readUInt32BE(0);
    if (boxSize === 1 && header.length >= 16) boxSize = Number(header.readBigUInt64BE(8));
    else if (boxSize === 0) boxSize = size - offset;
    if (!/^[\x20-\x7e]{4}$/.test(type) || boxSize < 8) return { size, damagedAt: offset };
    // Only the media and index boxes grow while a recording runs; any other box running past the
    // end has a garbage size.
    if (offset + boxSize > size) return GROWING_BOXES.has(type) ? { size, cutInside: type } : { size, damagedAt: offset };
    offset += boxSize;
  }
  return { size };
}

async function readAt(path: string, position: number, bytes: number): Promise<Buffer | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, position);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** Printable UTF-8 and whitespace only. */
function isText(buf: Buffer): boolean {
  // A read that ends mid-character leaves one replacement character at the end.
  const text = buf.toString('utf8').replace(/\uFFFD$/, '');
  return !text.includes('\uFFFD') && /^[\p{L}\p{N}\p{P}\p{S}\p{Zs}\t\r\n]*$/u.test(text);
}
