/**
 * The one place that knows ffmpeg's command line: which binaries run (chosen in binaries.ts), how
 * their arguments are built, and how a child is owned (stopped with SIGTERM then SIGKILL, counted
 * while alive, killed when this process exits or dies, its last stderr lines kept for messages).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { DEFAULT_STREAM, type SourceSettings } from '../config/schema.js';
import { compareLavf, ffmpegChoice, ffmpegVersion, libavformatMajor } from './binaries.js';
import { watchChild } from './childWatchdog.js';
import type { SourceType } from '../types.js';
import { isFiniteType, typeFromUrl } from './sourceType.js';
import { isFileSource, sourceKind, urlScheme } from './sourceUrl.js';

/** The ffmpeg binary this process runs (binaries.ts decides which). */
export function ffmpegPath(): string {
  return ffmpegChoice().ffmpeg;
}

/** The ffprobe binary this process runs. */
export function ffprobePath(): string {
  return ffmpegChoice().ffprobe;
}

// ---- Sources ----

/**
 * ffmpeg protocols each source kind may use (-protocol_whitelist, inherited by nested opens such
 * as HLS segments or RTSP's RTP/UDP sockets). None of them includes `file`, so no network URL (an
 * HLS playlist naming file:///etc/passwd, say) can make ffmpeg read a local file; `concat`,
 * `subfile`, `data` and the like are allowed for no kind.
 */
const RTSP_PROTOCOLS = 'rtsp,rtsps,rtp,srtp,udp,tcp,tls';
const HTTP_PROTOCOLS = 'http,https,tcp,tls,crypto';
const FILE_PROTOCOLS = 'file,pipe';

/** The -protocol_whitelist for a source URL. */
export function protocolWhitelist(url: string): string {
  switch (sourceKind(url)) {
    case 'file':
      return FILE_PROTOCOLS;
    case 'rtsp':
      return RTSP_PROTOCOLS;
    case 'http':
      return HTTP_PROTOCOLS;
    case 'other':
      // Refused by the config (checkSourceUrl); should one get here, it may use only itself and plain sockets.
      return `${urlScheme(url)},tcp,udp`;
  }
}

/**
 * The stream's source settings (finite sources: `realtime` reads at the native frame rate with -re,
 * `loop` starts over with -stream_loop -1; RTSP transport, TCP by default: no losses behind NAT,
 * firewalls and lossy links), how the source is opened, and how long a network read may block.
 */
export interface InputOptions extends Partial<SourceSettings> {
  /** How the source is opened (sourceType.ts); by default what the URL alone tells. */
  type?: SourceType;
  /** Socket I/O timeout for network sources, so a dead server ends ffmpeg instead of hanging it. */
  socketTimeoutMs?: number;
  /** Decoder options that go before -i (hardware decoding, hwaccel.ts). */
  decoder?: string[];
}

export const DEFAULT_SOCKET_TIMEOUT_MS = 5000;

/**
 * Probing of live sources, bounded: ffmpeg's defaults (5 s, 5 MB) hold the first frame of an
 * MPEG-TS stream for seconds. Half a second is enough to find the streams; a codec whose
 * parameters need a keyframe that has not come yet gets them when it comes (the filter graph is
 * configured on the first decoded frame).
 */
const LIVE_PROBE = ['-analyzeduration', '500000', '-probesize', '500000'];

/**
 * Input options followed by `-i <url>`, for ffmpeg or ffprobe at `binary`, per source type
 * (docs/sources.md has the table). Files are opened through the file: protocol so a path with a
 * colon is never taken for a URL scheme, and each kind of URL gets only the protocols it needs.
 * Nothing sets `-fflags nobuffer`: it discards what ffmpeg read while probing (an HTTP file loses
 * its first frames, a camera its first keyframe).
 */
export function inputArgs(url: string, binary: string, opts: InputOptions = {}): string[] {
  const type = opts.type ?? typeFromUrl(url);
  const args = ['-protocol_whitelist', protocolWhitelist(url)];
  if (isFiniteType(type)) {
    if (opts.realtime) args.push('-re');
    if (opts.loop) args.push('-stream_loop', '-1');
  }
  if (type !== 'file') {
    const timeoutUs = String(Math.round((opts.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS) * 1000));
    if (sourceKind(url) === 'rtsp') {
      args.push('-rtsp_transport', opts.rtspTransport ?? DEFAULT_STREAM.rtspTransport);
      // libavformat 58 (ffmpeg 4.x) calls the RTSP socket timeout -stimeout; there -timeout means
      // "listen as a server". From 59 on, -timeout is the socket timeout and -stimeout is gone.
      args.push(libavformatMajor(binary) >= 59 ? '-timeout' : '-stimeout', timeoutUs);
    } else {
      args.push('-rw_timeout', timeoutUs);
    }
  }
  // HLS: start at the newest segment, not three behind (which bursts the backlog at start).
  if (type === 'hls-live') args.push('-live_start_index', '-1');
  // The raw MJPEG demuxer finds each JPEG by its markers, so parts without Content-Length (cheap
  // cameras) work with every ffmpeg; the multipart demuxer of ffmpeg 4.x fails on them. It has no
  // timestamps of its own: arrival time is the camera's clock.
  if (type === 'mjpeg') args.push('-f', 'mjpeg', '-use_wallclock_as_timestamps', '1');
  if (!isFiniteType(type)) {
    args.push(...LIVE_PROBE);
    // Low delay also turns off frame threading, which holds back one frame per thread (16 on a big host).
    args.push('-flags', 'low_delay');
  }
  return [...args, ...(opts.decoder ?? []), '-i', inputName(url)];
}

/** What ffmpeg is given after -i for `url` (and how it names the input in its messages). */
export function inputName(url: string): string {
  if (!isFileSource(url) || url === '-' || url.startsWith('file:')) return url;
  return `file:${url}`;
}

/** ffmpeg prefixes an input's errors with its name ("file:x.txt: Invalid data..."); our messages name it already. */
export function withoutInputName(line: string, url: string): string {
  const prefix = `${inputName(url)}: `;
  return line.startsWith(prefix) ? line.slice(prefix.length) : line;
}

// ---- Decode command ----

export interface DecodeSpec {
  url: string;
  /** Model input size the frames are letterboxed into. */
  dstWidth: number;
  dstHeight: number;
  input?: InputOptions;
  /** Cap the frame rate with the fps filter; 0 or undefined = every frame. */
  fps?: number;
  /** Second output: MJPEG of the source frame on fd 3, at most maxWidth wide (0 or undefined: as wide as the source). */
  jpeg?: { quality: number; maxWidth?: number };
  /**
   * Another output: the source frame itself as yuv420p, limited range, at width x height (the
   * probed size: a source that changes resolution is scaled back to it, so the frames keep one
   * size), on sourceFd(spec).
   */
  source?: { width: number; height: number };
  /** Deinterlace (bwdif, one frame per frame): every frame, or the frames flagged interlaced. */
  deinterlace?: 'all' | 'interlaced';
}

/** Pad colour 114 (Ultralytics LetterBox) as an ffmpeg colour. */
const PAD_COLOR = '0x727272';
/** Bilinear like cv2.INTER_LINEAR, with exact rounding and full-resolution chroma. */
const SCALE_FLAGS = 'bilinear+accurate_rnd+full_chroma_int';
/** The fd the JPEG output is written to (stdio index). */
export const JPEG_FD = 3;

/** The fd of the source-resolution output: after the JPEG one when there is one. */
export function sourceFd(spec: Pick<DecodeSpec, 'jpeg'>): number {
  return spec.jpeg ? JPEG_FD + 1 : JPEG_FD;
}

/** Python's round() (half to even) of an ffmpeg expression, as roundHalfEven in letterbox.ts. */
const roundHalfEvenExpr = (v: string): string => `if(eq(${v}-floor(${v}),0.5),2*round(${v}/2),round(${v}))`;

/** Name of the letterbox's scale filter: its configuration line gives the size it scales from. */
const LETTERBOX_SCALE = 'scale@letterbox';

/**
 * The letterbox as ffmpeg expressions of the input size, the same arithmetic as computeLetterbox
 * (same doubles, same rounding), so a source whose resolution changes mid-stream is letterboxed
 * right from its first new frame: ffmpeg re-evaluates them when it reconfigures the graph.
 */
export function letterboxFilter(dstWidth: number, dstHeight: number): string {
  const scale = `min(${dstHeight}/ih,${dstWidth}/iw)`;
  const pad = (out: string, size: string): string => `max(0,round((${out}-${size})/2-0.1))`;
  return (
    `${LETTERBOX_SCALE}=w='${roundHalfEvenExpr(`iw*${scale}`)}':h='${roundHalfEvenExpr(`ih*${scale}`)}':flags=${SCALE_FLAGS},format=rgb24,` +
    `pad=w=${dstWidth}:h=${dstHeight}:x='${pad('ow', 'iw')}':y='${pad('oh', 'ih')}':color=${PAD_COLOR}`
  );
}

/**
 * The JPEG's size: the source's, or `maxWidth` wide, rounded to even numbers (4:2:0 JPEG), so each
 * axis maps by its own ratio (JPEG width / source width, JPEG height / source height), exactly:
 * a 161x97 source gives a 162x98 JPEG of the whole picture, never a cropped or padded one.
 */
export function jpegScaleFilter(maxWidth?: number): string {
  const w = maxWidth ? `min(iw,${maxWidth})` : 'iw';
  return `scale=w='2*round(${w}/2)':h='2*round(ih*ow/iw/2)':flags=${SCALE_FLAGS}`;
}

/**
 * Full ffmpeg argument list for a decode: letterboxed rgb24 raw frames on stdout and, when asked,
 * MJPEG frames of the same decode on fd 3. ffmpeg rotates the picture as the stream's display
 * matrix says (autorotation, before our graph), so everything downstream sees what a player shows.
 * A tiny `crop=2:2,showinfo` branch reports every output frame's pts on stderr at `info` level
 * (cheap: showinfo checksums only the 2x2 crop); each (re)configuration of the graph is reported
 * at `verbose` level, followed by the size the letterbox's scale filter scales from (the displayed
 * size; a new one when the source's resolution changes). Hence the log level `level+verbose`: the
 * `[level]` tags let us tell those lines from errors.
 */
export function decodeArgs(spec: DecodeSpec, binary: string): string[] {
  const branches = 2 + (spec.jpeg ? 1 : 0) + (spec.source ? 1 : 0);
  const deinterlace = spec.deinterlace ? `bwdif=mode=send_frame:deint=${spec.deinterlace},` : '';
  const rate = spec.fps && spec.fps > 0 ? `fps=${spec.fps},` : '';
  const graph = [
    `[0:v]${deinterlace}${rate}split=${branches}[main][tap]${spec.jpeg ? '[jsrc]' : ''}${spec.source ? '[ssrc]' : ''}`,
    '[tap]crop=2:2:0:0,showinfo,nullsink',
    `[main]${letterboxFilter(spec.dstWidth, spec.dstHeight)}[rgb]`,
  ];
  // The JPEGs are paired with frames by order, not time. Numbered in milliseconds, with a
  // millisecond encoder time base (-r 1000 below), no two share a timestamp: the encoder refuses
  // those, and a camera's wall-clock times can be closer than ffmpeg's default 1/25 s.
  if (spec.jpeg) graph.push(`[jsrc]settb=1/1000,setpts=N,${jpegScaleFilter(spec.jpeg.maxWidth)},format=yuvj420p[jpg]`);
  if (spec.source) {
    // A no-op for the usual yuv420p source at the probed size (the decoded planes are passed on as
    // they are: drawing and the encoder take this format); after a resolution change it keeps the
    // frames at that size, and other formats (4:2:2, 10 bit, full-range JPEG) are converted once.
    graph.push(`[ssrc]scale=w=${spec.source.width}:h=${spec.source.height}:flags=bilinear:out_range=tv,format=yuv420p[src]`);
  }
  const args = [
    '-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+verbose',
    ...inputArgs(spec.url, binary, spec.input),
    '-filter_complex', graph.join(';'),
    // One output frame per filtered frame: no duplicates or drops to match a nominal rate.
    // (-vsync became -fps_mode in ffmpeg 5.1, libavformat 59.27, and warns from then on.)
    hasFpsMode(binary) ? '-fps_mode' : '-vsync', 'passthrough',
    // Each frame leaves ffmpeg's 32 KiB output buffer at once: no added latency, and a JPEG never
    // waits for the next frame (which a paused stdout could hold back: deadlock).
    '-map', '[rgb]', '-c:v', 'rawvideo', '-flush_packets', '1', '-f', 'rawvideo', 'pipe:1',
  ];
  if (spec.jpeg) {
    // One encoder thread: frame threading would hold each JPEG back until later frames arrive
    // (one frame interval of latency on a live source).
    // -fps_mode is per output (-vsync of ffmpeg 4.x was global): every output gets it, or ffmpeg
    // 5.1+ would drop or repeat JPEGs and source frames to fit a nominal rate.
    args.push('-map', '[jpg]', ...perOutputPassthrough(binary), '-r', '1000', '-c:v', 'mjpeg', '-threads', '1', '-q:v', String(mjpegQscale(spec.jpeg.quality)), '-flush_packets', '1', '-f', 'mjpeg', `pipe:${JPEG_FD}`);
  }
  if (spec.source) args.push('-map', '[src]', ...perOutputPassthrough(binary), '-c:v', 'rawvideo', '-flush_packets', '1', '-f', 'rawvideo', `pipe:${sourceFd(spec)}`);
  return args;
}

function hasFpsMode(binary: string): boolean {
  const lavf = ffmpegVersion(binary)?.libavformat;
  return lavf !== undefined && compareLavf(lavf, [59, 27, 0]) >= 0;
}

function perOutputPassthrough(binary: string): string[] {
  return hasFpsMode(binary) ? ['-fps_mode', 'passthrough'] : [];
}

/** JPEG quality 1..100 (higher is better) to the mjpeg encoder's qscale 31..2 (lower is better). */
export function mjpegQscale(quality: number): number {
  const q = Math.min(Math.max(quality, 1), 100);
  return Math.round(2 + ((100 - q) * 29) / 99);
}

// ---- Encode commands ----

export interface EncodeSpec {
  /** Output file; the container follows its extension (.mp4, .mov, .mkv). */
  out: string;
  width: number;
  height: number;
  /** Frame rate of the raw frames on stdin. */
  fps: number;
  /** x264 constant rate factor, 0..51 (lower is better and bigger). */
  crf: number;
  /** x264 preset (ultrafast ... veryslow). */
  preset: string;
  /** The frames' colour matrix as ffprobe names it (the source's color_space): the output declares it too. */
  colorSpace?: string;
}

export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

const isMp4Like = (path: string): boolean => /\.(mp4|m4v|mov)$/i.test(path);

/** Through file: so a colon in an output path is never read as a protocol. */
const outputName = (path: string): string => (path.startsWith('file:') ? path : `file:${path}`);

/**
 * Raw yuv420p frames (limited range) on stdin to H.264 in the same format (what every player
 * shows), so no conversion runs. yuv420p needs even sizes for H.264: an odd width or height is
 * padded by one black pixel.
 */
export function encodeArgs(spec: EncodeSpec): string[] {
  const args = [
    '-nostdin', '-hide_banner', '-nostats', '-loglevel', 'error', '-y',
    // 9 decimals: ffmpeg turns 29.970029970 back into exactly 30000/1001.
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${spec.width}x${spec.height}`, '-framerate', spec.fps.toFixed(9), '-i', 'pipe:0',
  ];
  if (spec.width % 2 || spec.height % 2) args.push('-vf', 'pad=w=ceil(iw/2)*2:h=ceil(ih/2)*2');
  args.push('-c:v', 'libx264', '-preset', spec.preset, '-crf', String(spec.crf), '-pix_fmt', 'yuv420p', '-color_range', 'tv');
  if (spec.colorSpace) args.push('-colorspace', spec.colorSpace);
  if (isMp4Like(spec.out)) args.push('-movflags', '+faststart');
  args.push(outputName(spec.out));
  return args;
}

/** Audio codecs MP4 and QuickTime files carry as they are; others are re-encoded to AAC there. */
const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac']);

/**
 * The video of `video` (stream copy) with the first audio stream of `audioFrom`, cut to the
 * video's length (an interrupted analysis renders only part of the source). A second pass over
 * two files: ffmpeg's -shortest ends a live pipe input's output too early when the audio file
 * is read to its end first.
 */
export function muxAudioArgs(video: string, audioFrom: { url: string; codec: string }, out: string, binary: string): string[] {
  const copy = !isMp4Like(out) || MP4_AUDIO.has(audioFrom.codec);
  return [
    '-nostdin', '-hide_banner', '-nostats', '-loglevel', 'error', '-y',
    ...inputArgs(video, binary),
    ...inputArgs(audioFrom.url, binary),
    '-map', '0:v', '-map', '1:a:0?', '-c:v', 'copy', ...(copy ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '160k']), '-shortest',
    ...(isMp4Like(out) ? ['-movflags', '+faststart'] : []),
    outputName(out),
  ];
}

/** `n: 12 pts: 1200 pts_time:1.2 ...` from showinfo; NaN when the frame has no pts. */
export function parseShowinfo(text: string): { n: number; ptsTime: number } | undefined {
  const m = /^n:\s*(\d+)\s+pts:\s*\S+\s+pts_time:(\S+)/.exec(text);
  return m ? { n: Number(m[1]), ptsTime: Number(m[2]) } : undefined;
}

/**
 * A (re)configuration of the filter graph, from the verbose line of its input:
 * `[graph 0 input from stream 0:0 @ 0x...] [verbose] w:640 h:360 pixfmt:yuv420p tb:1/90000 ...`
 * (the stored size, before autorotation; the letterbox's own line below follows it).
 */
export function isGraphInput(line: LogLine): boolean {
  return line.context !== undefined && /^graph \d+ input from stream /.test(line.context) && /^w:\d+ h:\d+ /.test(line.text);
}

/**
 * The size the letterbox scales from, from its scale filter's verbose line when ffmpeg
 * (re)configures the graph (the scale filter also prints it when it re-initialises itself within
 * a graph, e.g. on a colour-range change of a frame):
 * `[scale@letterbox @ 0x...] [verbose] w:480 h:640 fmt:yuv420p sar:0/1 -> w:480 h:640 fmt:rgb24 ...`
 * (after autorotation: the displayed size).
 */
export function parseLetterboxInput(line: LogLine): { width: number; height: number } | undefined {
  if (!line.context?.startsWith(`${LETTERBOX_SCALE} @ `)) return undefined;
  const m = /^w:(\d+) h:(\d+) fmt:\S+ sar:\S+ -> /.exec(line.text);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}

// ---- Owned child processes ----

export interface LogLine {
  /** ffmpeg log level when the line carries a `[level]` tag (loglevel `level+...`). */
  level?: string;
  /** Filter or demuxer instance, e.g. `Parsed_showinfo_1 @ 0x1234`. */
  context?: string;
  text: string;
}

const LOG_LINE = /^(?:\[([^\]]+ @ 0x[0-9a-f]+)\] )?\[(trace|debug|verbose|info|warning|error|fatal|panic)\] (.*)$/;

export function parseLogLine(line: string): LogLine {
  const m = LOG_LINE.exec(line);
  if (!m) return { text: line };
  return { level: m[2], context: m[1], text: m[3] };
}

const QUIET_LEVELS = new Set(['trace', 'debug', 'verbose', 'info']);

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the binary could not be started at all. */
  spawnError?: Error;
}

export interface SpawnOptions {
  binary?: 'ffmpeg' | 'ffprobe';
  /** Open a pipe to the child's stdin (an encoder fed raw frames). */
  stdin?: boolean;
  /** Extra output pipes after stderr: 1 opens fd 3. */
  extraPipes?: number;
  /** Every stderr line, parsed; return true to keep it out of the tail (it was ours, not news). */
  onLogLine?: (line: LogLine) => boolean | void;
  /** How many warning/error lines to keep for messages. */
  tailLines?: number;
  /**
   * Niceness to give the child (0..19; 0 = as ours). Throughput work sets it so that decoding fills
   * the inference threads' idle moments instead of pre-empting them (best effort: ignored where the
   * OS refuses).
   */
  nice?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Number of ffmpeg/ffprobe children alive right now. */
export function liveFfmpegChildren(): number {
  return live.size;
}

/** Kills every live child (server shutdown). */
export function killAllFfmpeg(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of live) child.kill(signal);
}

/** A running ffmpeg or ffprobe that this process owns. */
export class FfmpegProcess {
  readonly pid: number | undefined;
  readonly stdout: Readable;
  /** The child's stdin, when spawned with `stdin: true`. */
  readonly stdin: Writable | undefined;
  /** Resolves once the child has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private status: ExitStatus | undefined;

  constructor(binaryPath: string, args: string[], opts: SpawnOptions = {}) {
    const extra = Array.from({ length: opts.extraPipes ?? 0 }, () => 'pipe' as const);
    this.child = spawn(binaryPath, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...extra], windowsHide: true });
    this.pid = this.child.pid;
    this.stdout = this.child.stdout as Readable;
    this.stdin = this.child.stdin ?? undefined;
    // A child that stops reading fails the pending write; this keeps EPIPE from being unhandled.
    this.stdin?.on('error', () => {});
    const tailLines = opts.tailLines ?? 20;
    this.exited = new Promise<ExitStatus>((resolve) => {
      const done = (status: ExitStatus): void => {
        live.delete(this.child);
        this.status ??= status;
        resolve(this.status);
      };
      this.child.once('error', (err) => done({ code: null, signal: null, spawnError: err }));
      this.child.once('exit', (code, signal) => done({ code, signal }));
    });
    if (this.pid !== undefined) {
      live.add(this.child);
      installExitHook();
      const unwatch = watchChild(this.pid);
      void this.exited.then(unwatch);
      if (opts.nice) {
        try {
          setPriority(this.pid, opts.nice);
        } catch {
          // Not permitted here: the child runs at our priority, which is only slower, never wrong.
        }
      }
    }
    let partial = '';
    const stderr = this.child.stderr as Readable;
    stderr.setEncoding('utf8');
    const onLine = (raw: string): void => {
      const line = parseLogLine(raw.replace(/\r$/, ''));
      if (opts.onLogLine?.(line) === true) return;
      if (line.level !== undefined && QUIET_LEVELS.has(line.level)) return;
      if (line.text.trim() === '') return;
      this.tail.push(line.context ? `[${line.context.replace(/ @ 0x[0-9a-f]+$/, '')}] ${line.text}` : line.text);
      if (this.tail.length > tailLines) this.tail.shift();
    };
    stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    stderr.on('end', () => {
      if (partial) onLine(partial);
      partial = '';
    });
  }

  /** Output pipe at stdio index `fd` (3 for the first extra pipe). */
  output(fd: number): Readable {
    const s = this.child.stdio[fd];
    if (!s) throw new Error(`ffmpeg child has no pipe on fd ${fd}`);
    return s as Readable;
  }

  get running(): boolean {
    return this.status === undefined && this.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last warning/error lines ffmpeg printed, oldest first. */
  stderrTail(): string[] {
    return [...this.tail];
  }

  /**
   * Ends the child: closes our ends of its output pipes (a write blocked on a full pipe then fails
   * instead of waiting), sends SIGTERM, and SIGKILL after `graceMs`.
   */
  async stop(graceMs = 2000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    for (const s of this.child.stdio) (s as Readable | Writable | null)?.destroy();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function spawnFfmpeg(args: string[], opts: SpawnOptions = {}): FfmpegProcess {
  return new FfmpegProcess(opts.binary === 'ffprobe' ? ffprobePath() : ffmpegPath(), args, opts);
}

/** A one-line reason from a child's exit and stderr tail. */
export function describeExit(status: ExitStatus, tail: string[]): string {
  if (status.spawnError) return `cannot start ffmpeg: ${status.spawnError.message}`;
  const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
  return tail.length ? `${how}: ${tail.join(' | ')}` : how;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers run synchronously; kill() is synchronous, so no child outlives a normal exit.
  // Signal-driven shutdown is the server's job: it calls killAllFfmpeg or stops its decoders; when
  // this process is killed outright, the watchdog (childWatchdog.ts) ends the children.
  process.once('exit', () => killAllFfmpeg('SIGKILL'));
}
