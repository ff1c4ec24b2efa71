/**
 * Source probing with ffprobe: size, frame rate, frame count, codec. Fails fast with one clear
 * line (SourceError) when the input is missing, not a video, has no video stream, or cannot be
 * reached in time.
 */
import { open, stat } from 'node:fs/promises';
import type { SourceInfo } from '../types.js';
import type { SourceSettings } from '../config/schema.js';
import { describeExit, ffmpegPath, ffprobePath, inputArgs, spawnFfmpeg, withoutInputName, type ExitStatus } from './ffmpeg.js';
import { isFileSource, redactUrl } from './sourceUrl.js';

export type SourceErrorCode = 'ENOENT' | 'UNREADABLE' | 'EMPTY' | 'NOT_VIDEO' | 'TRUNCATED' | 'NO_VIDEO_STREAM' | 'UNREACHABLE' | 'TIMEOUT' | 'PROBE_FAILED' | 'CANCELLED';

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
  }[];
  format?: { format_name?: string; duration?: string };
}

export async function probeSource(url: string, opts: ProbeOptions = {}): Promise<ProbedSource> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const isFile = isFileSource(url);
  const shown = redactUrl(url);
  if (isFile) await assertReadableFile(url);

  const binary = ffprobePath();
  const socketTimeoutMs = Math.max(100, timeoutMs * 0.8);
  const args = [
    '-hide_banner', '-loglevel', 'error',
    // Every stream: the first video one is analysed, the first audio one may be copied into a render.
    '-print_format', 'json', '-show_streams', '-show_format',
    // The socket timeout stays inside the probe deadline so ffprobe ends itself on a dead server.
    ...inputArgs(url, binary, { rtspTransport: opts.rtspTransport, socketTimeoutMs }),
  ];
  const started = performance.now();
  let run = await runProbeChild(args, 'ffprobe', timeoutMs, opts.signal);
  // Some static ffprobe builds crash on inputs that ffmpeg reads fine (the bundled one on MPEG-TS):
  // then ask the decoder itself, which also keeps the probe in step with what will decode.
  if (run.status.signal && !run.timedOut && !run.cancelled) {
    const ffArgs = ['-hide_banner', '-nostdin', ...inputArgs(url, ffmpegPath(), { rtspTransport: opts.rtspTransport, socketTimeoutMs })];
    run = await runProbeChild(ffArgs, 'ffmpeg', timeoutMs, opts.signal);
    const info = sourceInfoFromLog(run.lines, url, isFile);
    if (info) return info;
  }
  const { status, timedOut, cancelled, tail, out } = run;

  if (cancelled) throw new SourceError('CANCELLED', `probe of ${shown} cancelled`);
  if (timedOut) throw new SourceError('TIMEOUT', `timed out after ${timeoutMs} ms probing ${shown}`);
  // ffprobe's last line is its verdict.
  const reason = redactUrl(withoutInputName(tail.at(-1) ?? '', url));
  if (status.spawnError) throw new SourceError('PROBE_FAILED', `cannot run ffprobe (${binary}): ${status.spawnError.message}`);
  if (status.code !== 0) {
    if (isFile) {
      // ffprobe misses the moov atom of anything named .mp4; only an MP4 (it starts with an ftyp
      // box) that lacks it is one cut short.
      if (tail.some((l) => /moov atom not found/i.test(l)) && (await startsWithFtyp(url))) {
        throw new SourceError('TRUNCATED', `not a video: ${shown} (truncated or unfinished MP4: moov atom not found)`);
      }
      if (/no such file/i.test(reason)) throw new SourceError('ENOENT', `input not found: ${shown}`);
      if (/permission denied/i.test(reason)) throw new SourceError('UNREADABLE', `cannot read ${shown}: permission denied`);
      throw new SourceError('NOT_VIDEO', `not a video: ${shown} (ffprobe: ${reason || describeExit(status, tail)})`);
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
  return sourceInfoFrom(json, url, isFile);
}

/** SourceInfo from ffprobe's JSON (exported for tests of the arithmetic). */
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
  const width = v.width ?? 0;
  const height = v.height ?? 0;
  if (width <= 0 || height <= 0) throw new SourceError('NOT_VIDEO', `not a video: ${shown} (video stream without a frame size)`);

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
  return { url, width, height, fps, frameCount, frameCountExact, duration, codec: v.codec_name ?? 'unknown', isFile, ...(audioCodec ? { audioCodec } : {}) };
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

/** Whether a file begins with an ISO BMFF file-type box (bytes 4-7 are 'ftyp'). */
async function startsWithFtyp(url: string): Promise<boolean> {
  const file = await open(localPath(url), 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await file.read(head, 0, 8, 0);
    return bytesRead === 8 && head.toString('latin1', 4, 8) === 'ftyp';
  } finally {
    await file.close();
  }
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
 * SourceInfo from ffmpeg's own description of its input (`ffmpeg -i URL` with no output), e.g.
 * "  Duration: 00:00:02.00, start: 1.4, bitrate: 300 kb/s" and
 * "  Stream #0:0[0x100]: Video: h264 (High) (...), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 10 fps, 10 tbr, ...".
 * Undefined when no video stream is listed. Frame counts are estimates (duration x fps).
 */
export function sourceInfoFromLog(lines: string[], url: string, isFile: boolean): ProbedSource | undefined {
  const video = lines.find((l) => /Stream #\d+:\d+.*: Video: /.test(l));
  if (!video) return undefined;
  const codec = /: Video: ([\w-]+)/.exec(video)?.[1] ?? 'unknown';
  const size = /, (\d{2,5})x(\d{2,5})/.exec(video);
  if (!size) return undefined;
  const rate = /, ([\d.]+)(k?) (?:fps|tbr)/.exec(video);
  const fps = rate ? Number(rate[1]) * (rate[2] ? 1000 : 1) : 0;
  const d = lines.map((l) => /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(l)).find((m) => m !== null);
  const duration = d ? positive(Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3])) : undefined;
  const frameCount = isFile && duration !== undefined && fps > 0 ? Math.round(duration * fps) : undefined;
  const audioCodec = lines.map((l) => /Stream #\d+:\d+.*: Audio: ([\w-]+)/.exec(l)?.[1]).find((c) => c !== undefined);
  return {
    url, width: Number(size[1]), height: Number(size[2]), fps: fps > 0 && fps <= 1000 ? fps : 0, frameCount, frameCountExact: false, duration, codec, isFile,
    ...(audioCodec ? { audioCodec } : {}),
  };
}
