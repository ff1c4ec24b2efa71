/**
 * FrameDecoder: one ffmpeg child decoding a source into letterboxed RGB frames, pulled one at a
 * time. ffmpeg does the opening, probing, autorotation, colour conversion, scaling and padding;
 * this file assembles pipe chunks into frames, pairs each with its pts (and JPEG, when asked), and
 * reads what ffmpeg says about the source on stderr (its input dump, the letterbox's input size).
 *
 * One open: a live source needs no probe beforehand. `open()` resolves once ffmpeg has configured
 * its graph for the first decoded frame, with the source's info from ffmpeg itself.
 *
 * Backpressure: stdout is paused as soon as `readAhead` complete frames (default 1) wait for the
 * consumer, so ffmpeg blocks on its pipe; about that many frames plus the pipe buffers are held,
 * and nothing is dropped.
 *
 * pts: taken from ffmpeg's own timestamps (a showinfo tap on stderr, see decodeArgs). When a frame
 * has none, files fall back to index / fps and live sources to wall-clock seconds since the first
 * frame.
 */
import type { SourceSettings } from '../config/schema.js';
import { nowMs } from '../clock.js';
import type { Frame, Letterbox, SourceInfo, SourceType } from '../types.js';
import {
  DEFAULT_SOCKET_TIMEOUT_MS,
  decodeArgs,
  describeExit,
  ffmpegPath,
  JPEG_FD,
  isGraphInput,
  parseLetterboxInput,
  parseShowinfo,
  sourceFd,
  spawnFfmpeg,
  type ExitStatus,
  type FfmpegProcess,
  type LogLine,
  withoutInputName,
} from './ffmpeg.js';
import { hwaccelArgs, type Hwaccel } from './hwaccel.js';
import { InputHeaderParser } from './inputHeader.js';
import { JpegSplitter } from './jpegStream.js';
import { computeLetterbox } from './letterbox.js';
import { RawFrameSplitter } from './rawFrames.js';
import { matrixOf, yuv420Bytes } from './yuv.js';
import { RisingPts } from './risingPts.js';
import { isFiniteType, typeFromUrl } from './sourceType.js';
import { redactUrl } from './sourceUrl.js';

/** `realtime` and `loop` apply to finite sources only; `rtspTransport` to RTSP sources. */
export interface FrameDecoderOptions extends Partial<SourceSettings> {
  streamId: string;
  url: string;
  /** What a probe found (files); live sources are described by ffmpeg itself once open. */
  info?: SourceInfo;
  /** How the source is opened; by default what the URL alone tells. */
  type?: SourceType;
  dstWidth: number;
  dstHeight: number;
  /** Cap the frame rate with ffmpeg's fps filter; 0 or undefined = every decoded frame. */
  fps?: number;
  /** Also emit a JPEG of each source frame from the same decode (quality 1..100). */
  jpeg?: { quality: number; maxWidth?: number };
  /**
   * Also emit each source frame's pixels (Frame.source) at the probed size, from the same decode:
   * one decode feeds the model and whoever draws on the source frames (measured: a second decode
   * of a 1080p H.264 clip costs about 3x what this extra output does). Needs `info`.
   */
  source?: boolean;
  /** Deinterlace every frame, or those flagged interlaced; undefined = none. */
  deinterlaceFilter?: 'all' | 'interlaced';
  /** Decode on a GPU (hwaccel.ts). */
  hwaccel?: Hwaccel;
  /** seq of the first frame (continues a stream's numbering across reconnects). */
  startSeq?: number;
  /** Socket I/O timeout for network sources, ms. */
  socketTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL on stop, ms. */
  stopGraceMs?: number;
  /**
   * Finished frames to hold before pausing ffmpeg (default 1). Throughput work reads ahead a few
   * batches so ffmpeg can decode whenever the CPU has a moment, not only when a frame is asked for.
   */
  readAhead?: number;
  /** ffmpeg's niceness (see SpawnOptions.nice); default 0. */
  nice?: number;
  /** Called when the source's resolution changes mid-run (frames from `fromFrame` on have the new size). */
  onResolutionChange?(change: { fromFrame: number; width: number; height: number; previous: { width: number; height: number } }): void;
  /** Called with what the caller should know but that does not stop decoding (a truncated file). */
  onWarning?(message: string): void;
}

/**
 * Why decoding stopped. UNAUTHORIZED: the server refused the credentials (401/403). TIMEOUT: a
 * live source sent no video within the socket timeout. STALLED: a live source sent video, then
 * nothing until the socket timeout ended ffmpeg. FAILED: anything else (ffmpeg's words in the message).
 */
export type DecodeErrorCode = 'UNAUTHORIZED' | 'TIMEOUT' | 'STALLED' | 'FAILED';

/** ffmpeg failed while decoding; the message carries its last stderr lines. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly exit: ExitStatus | undefined,
    readonly stderr: string[],
    readonly code: DecodeErrorCode = 'FAILED',
  ) {
    super(message);
  }
}

/** A server's refusal of the credentials as ffmpeg reports it (RTSP and HTTP). */
const UNAUTHORIZED = /\b(401 Unauthorized|403 Forbidden)\b/;
/** A decoder that met damaged data (the frame it returns may be garbage). */
const DECODE_ERROR = /error while decoding|concealing \d+ .*errors|corrupt decoded frame|decode_slice_header error|Invalid NAL unit|error count:|illegal .* in .*frame|Error at MB/i;

interface RawFrame {
  rgb: Buffer;
  captureTs: number;
}

export class FrameDecoder {
  /**
   * Letterbox per run of frames: from frame index `from` on. One entry once ffmpeg has configured
   * its graph; another each time it reconfigures it for a new source resolution (mid-stream SPS
   * change, a concatenation of recordings): ffmpeg letterboxes the new size itself
   * (letterboxFilter), and this table maps the boxes of those frames back with the right geometry.
   */
  private letterboxes: { from: number; letterbox: Letterbox }[] = [];
  /**
   * Graph configurations seen (their input lines); whether the newest one's letterbox size is
   * still to come; frames tapped (pts lines) so far; the first frame index of the current graph.
   */
  private graphs = 0;
  private sizePending = false;
  private tapped = 0;
  private graphBase = 0;
  private readonly frameBytes: number;
  private readonly type: SourceType;
  private readonly header = new InputHeaderParser();
  private sourceInfo: SourceInfo | undefined;
  private proc: FfmpegProcess | undefined;
  private started = false;
  private stopped = false;

  private readonly rgbSplitter: RawFrameSplitter;
  private readonly rawFrames: RawFrame[] = [];
  private readonly jpegs: Buffer[] = [];
  private readonly sourceSplitter: RawFrameSplitter | undefined;
  private readonly sources: Buffer[] = [];
  private sourceDone = true;
  private readonly ptsByIndex = new Map<number, number>();
  private nextIndex = 0;
  /** Live sources: their pts kept rising (files keep theirs as they are). */
  private readonly livePts: RisingPts | undefined;
  private firstCaptureTs: number | undefined;
  private lastFrameAt = 0;
  /** The latest long silence between two frames (ms) and when it ended: a stall flushes what ffmpeg held when it ends. */
  private lastSilence: { ms: number; endedAt: number } | undefined;
  private stdoutDone = false;
  private jpegDone = true;
  private stderrDone = false;
  private exit: ExitStatus | undefined;
  /** Why the run failed on our side (the child's exit status then only says we killed it). */
  private failure: string | undefined;
  private wake: (() => void) | undefined;
  private spawnedAt = 0;
  private decodeErrorCount = 0;
  /** Frames tapped when the last damaged frame was counted: a frame's several error lines count once. */
  private damagedAt = -1;
  private partialFile = false;
  private openWaiters: { resolve(info: SourceInfo): void; reject(err: unknown): void }[] = [];

  constructor(private readonly opts: FrameDecoderOptions) {
    this.type = opts.type ?? typeFromUrl(opts.url);
    this.frameBytes = opts.dstWidth * opts.dstHeight * 3;
    this.rgbSplitter = new RawFrameSplitter(this.frameBytes);
    if (!isFiniteType(this.type)) this.livePts = new RisingPts();
    if (opts.info) {
      this.letterboxes.push({ from: 0, letterbox: computeLetterbox(opts.info.width, opts.info.height, opts.dstWidth, opts.dstHeight) });
    }
    if (opts.source) {
      if (!opts.info) throw new Error('FrameDecoder: source frames need the probed size (info)');
      this.sourceSplitter = new RawFrameSplitter(yuv420Bytes(opts.info.width, opts.info.height));
    }
  }

  /** The letterbox of the newest source resolution (the probe's until ffmpeg reports one). */
  get letterbox(): Letterbox | undefined {
    return this.letterboxes.at(-1)?.letterbox;
  }

  /** The source as ffmpeg opened it (displayed size, rotation, interlacing); undefined until open. */
  get info(): SourceInfo | undefined {
    return this.sourceInfo;
  }

  /** Frames the decoder reported damaged data for (a corrupt stream looks healthy otherwise). */
  get decodeErrors(): number {
    return this.decodeErrorCount;
  }

  /**
   * Starts ffmpeg and resolves with the source's info once its first frame reached the filter
   * graph (the source is open and decodes). Rejects with a DecodeError when ffmpeg ends first.
   * Optional: frames() opens too.
   */
  open(): Promise<SourceInfo> {
    if (this.sourceInfo) return Promise.resolve(this.sourceInfo);
    const opened = new Promise<SourceInfo>((resolve, reject) => this.openWaiters.push({ resolve, reject }));
    if (!this.proc && !this.stopped) this.spawn();
    else if (this.exit || this.stopped) this.settleOpen();
    return opened;
  }

  /** The frames, in decode order. Single use: the decoder runs one ffmpeg for one iteration. */
  frames(): AsyncIterableIterator<Frame> {
    if (this.started) throw new Error('FrameDecoder.frames() can be called once');
    this.started = true;
    return this.run();
  }

  /** Kills ffmpeg and ends the iteration (a pending next() resolves done). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    this.settleOpen();
    await this.proc?.stop(this.opts.stopGraceMs);
  }

  /** Bytes decoded but not yet handed out: finished frames, the partial one, JPEGs and source frames waiting. */
  get bufferedBytes(): number {
    const sourceBytes = this.sourceSplitter ? this.sources.length * this.sourceSplitter.frameBytes + this.sourceSplitter.partialBytes : 0;
    return this.rawFrames.length * this.frameBytes + this.rgbSplitter.partialBytes + this.jpegs.reduce((n, j) => n + j.length, 0) + sourceBytes;
  }

  /** pid of the ffmpeg child while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private async *run(): AsyncGenerator<Frame> {
    if (this.stopped) return;
    if (!this.proc) this.spawn();
    try {
      for (;;) {
        await this.until(() => this.stopped || this.frameReady() || this.finished());
        if (this.stopped) return;
        if (this.frameReady()) {
          yield this.takeFrame();
          continue;
        }
        this.throwIfFailed();
        this.warnIfTruncated();
        return;
      }
    } finally {
      await this.stop();
    }
  }

  private spawn(): void {
    const o = this.opts;
    const binary = ffmpegPath();
    const finite = isFiniteType(this.type);
    const args = decodeArgs(
      {
        url: o.url,
        dstWidth: o.dstWidth,
        dstHeight: o.dstHeight,
        fps: o.fps,
        jpeg: o.jpeg,
        source: o.source && o.info ? { width: o.info.width, height: o.info.height } : undefined,
        deinterlace: o.deinterlaceFilter,
        input: {
          type: this.type,
          realtime: o.realtime && finite,
          loop: o.loop && finite,
          rtspTransport: o.rtspTransport,
          socketTimeoutMs: o.socketTimeoutMs,
          decoder: hwaccelArgs(o.hwaccel, o.info?.codec),
        },
      },
      binary,
    );
    const proc = spawnFfmpeg(args, { extraPipes: (o.jpeg ? 1 : 0) + (o.source ? 1 : 0), nice: o.nice, onLogLine: (line) => this.onLogLine(line) });
    this.proc = proc;
    this.spawnedAt = performance.now();
    proc.stdout.on('data', (chunk: Buffer) => this.onRgb(chunk));
    proc.stdout.once('close', () => {
      this.stdoutDone = true;
      this.notify();
    });
    proc.output(2).once('close', () => {
      this.stderrDone = true;
      this.notify();
      this.settleOpen();
    });
    if (o.jpeg) {
      this.jpegDone = false;
      const splitter = new JpegSplitter();
      const jpegOut = proc.output(JPEG_FD);
      jpegOut.on('data', (chunk: Buffer) => {
        try {
          this.jpegs.push(...splitter.push(chunk));
        } catch (err) {
          // A broken MJPEG stream cannot be paired with frames any more: end this run with the reason.
          this.failure ??= (err as Error).message;
          void this.proc?.stop(this.opts.stopGraceMs);
        }
        this.notify();
      });
      jpegOut.once('close', () => {
        this.jpegDone = true;
        this.notify();
      });
    }
    if (this.sourceSplitter) {
      const splitter = this.sourceSplitter;
      this.sourceDone = false;
      const out = proc.output(sourceFd({ jpeg: o.jpeg }));
      out.on('data', (chunk: Buffer) => {
        this.sources.push(...splitter.push(chunk));
        this.notify();
      });
      out.once('close', () => {
        this.sourceDone = true;
        this.notify();
      });
    }
    void proc.exited.then((status) => {
      this.exit ??= status;
      this.notify();
      this.settleOpen();
    });
  }

  /** One stderr line; true when it was ours (pts tap, graph size), not news for the error tail. */
  private onLogLine(line: LogLine): boolean {
    if (line.context?.startsWith('Parsed_showinfo')) {
      const info = line.level === 'info' ? parseShowinfo(line.text) : undefined;
      if (info) {
        // showinfo counts from 0 in each graph; frames of earlier graphs come first.
        const index = this.graphBase + info.n;
        this.tapped = Math.max(this.tapped, index + 1);
        if (index >= this.nextIndex) {
          this.ptsByIndex.set(index, info.ptsTime);
          this.notify();
        }
      }
      return true; // the pts tap's own chatter (e.g. unknown side data) says nothing about the source
    }
    if (line.level === 'verbose' && isGraphInput(line)) {
      // showinfo counts from 0 in each graph: frames of earlier graphs come first.
      if (this.graphs++ > 0) this.graphBase = this.tapped;
      this.sizePending = true;
      return true;
    }
    const size = line.level === 'verbose' ? parseLetterboxInput(line) : undefined;
    if (size) {
      if (this.sizePending) this.onGraphSize(size.width, size.height);
      this.sizePending = false;
      return true;
    }
    if (!line.context) this.header.push(line.text);
    if (line.level === 'error' || line.level === 'warning') {
      // Before the first frame, errors are a live source joined mid-GOP (references not seen yet).
      // A damaged frame logs several lines (the macroblock, the concealment, "corrupt decoded
      // frame") before its pts tap: lines between two taps are one frame.
      if (DECODE_ERROR.test(line.text) && this.graphs > 0 && this.damagedAt !== this.tapped) {
        this.decodeErrorCount++;
        this.damagedAt = this.tapped;
      }
      if (/partial file|truncat/i.test(line.text)) this.partialFile = true;
    }
    // yuvj420p for the JPEG output is what the mjpeg encoder wants; swscale's nag is noise. So is
    // ffmpeg 4.x's caution about -vsync 0 with -r: the JPEG output's -r only sets its time base.
    return (line.context?.startsWith('swscaler') === true && /deprecated pixel format/.test(line.text)) || /^Using -vsync 0 and -r can produce invalid output files/.test(line.text);
  }

  /** ffmpeg (re)configured its graph; the letterbox scales from width x height: frames from here on use its letterbox. */
  private onGraphSize(width: number, height: number): void {
    const { dstWidth, dstHeight } = this.opts;
    if (this.graphs === 1) {
      // Normally the probe's size; if ffmpeg sees another (rotation, cropping the probe missed), ffmpeg's wins.
      const lb = this.letterboxes[0]?.letterbox;
      if (lb?.srcWidth !== width || lb?.srcHeight !== height) this.letterboxes[0] = { from: 0, letterbox: computeLetterbox(width, height, dstWidth, dstHeight) };
      this.sourceInfo = this.describeSource(width, height);
      this.settleOpen();
      return;
    }
    const current = this.letterboxes.at(-1)!.letterbox;
    if (current.srcWidth === width && current.srcHeight === height) return;
    this.letterboxes.push({ from: this.graphBase, letterbox: computeLetterbox(width, height, dstWidth, dstHeight) });
    this.opts.onResolutionChange?.({ fromFrame: this.graphBase, width, height, previous: { width: current.srcWidth, height: current.srcHeight } });
  }

  /** The source as ffmpeg decodes it: the probe's facts (frame count) where there was a probe, ffmpeg's own otherwise. */
  private describeSource(width: number, height: number): SourceInfo {
    const h = this.header.header;
    const probed = this.opts.info;
    return {
      url: this.opts.url,
      type: this.type,
      width,
      height,
      fps: probed?.fps || h.fps,
      frameCount: probed?.frameCount,
      duration: probed?.duration ?? h.duration,
      codec: probed?.codec ?? h.codec ?? 'unknown',
      isFile: isFiniteType(this.type),
      rotation: h.rotation,
      interlaced: probed?.interlaced ?? h.interlaced,
    };
  }

  /** Resolves open() once the source is described, rejects it once ffmpeg is gone without. */
  private settleOpen(): void {
    if (this.openWaiters.length === 0) return;
    let outcome: { info: SourceInfo } | { err: unknown } | undefined;
    if (this.sourceInfo) outcome = { info: this.sourceInfo };
    else if (this.stopped) outcome = { err: new DecodeError(`opening ${redactUrl(this.opts.url)} cancelled`, undefined, []) };
    else if (this.exit && this.stderrDone) {
      try {
        this.throwIfFailed();
        outcome = { err: new DecodeError(`no video in ${redactUrl(this.opts.url)} (ffmpeg decoded no frame)`, this.exit, this.proc?.stderrTail() ?? []) };
      } catch (err) {
        outcome = { err };
      }
    }
    if (!outcome) return;
    const waiters = this.openWaiters.splice(0);
    for (const w of waiters) 'info' in outcome ? w.resolve(outcome.info) : w.reject(outcome.err);
  }

  private letterboxOf(index: number): Letterbox {
    // Entries are in frame order and frames are taken in order: drop runs that are over.
    while (this.letterboxes.length > 1 && this.letterboxes[1].from <= index) this.letterboxes.shift();
    const entry = this.letterboxes[0];
    // The graph line precedes the frame's pts line on stderr, and a frame is taken after its pts.
    if (!entry) throw new DecodeError(`ffmpeg sent a frame before configuring its graph (${redactUrl(this.opts.url)})`, this.exit, []);
    return entry.letterbox;
  }

  private onRgb(chunk: Buffer): void {
    for (const rgb of this.rgbSplitter.push(chunk)) {
      const now = performance.now();
      this.rawFrames.push({ rgb, captureTs: nowMs() });
      if (this.lastFrameAt > 0 && now - this.lastFrameAt >= this.socketTimeoutMs() * 0.9) this.lastSilence = { ms: now - this.lastFrameAt, endedAt: now };
      this.lastFrameAt = now;
    }
    this.notify();
  }

  /** The next frame has its pixels, its JPEG (when asked) and its pts (or none will come). */
  private frameReady(): boolean {
    if (this.rawFrames.length === 0) return false;
    if (this.opts.jpeg && this.jpegs.length === 0 && !this.jpegDone) return false;
    if (this.opts.source && this.sources.length === 0 && !this.sourceDone) return false;
    // A later frame's pts line came first: this one's will not come (fallback pts), and waiting
    // for it would buffer frames without bound.
    return this.ptsByIndex.has(this.nextIndex) || this.stderrDone || this.tapped > this.nextIndex + 1;
  }

  private finished(): boolean {
    return this.rawFrames.length === 0 && this.stdoutDone && this.exit !== undefined;
  }

  private takeFrame(): Frame {
    const raw = this.rawFrames.shift() as RawFrame;
    const index = this.nextIndex++;
    this.firstCaptureTs ??= raw.captureTs;
    const sourcePts = this.ptsByIndex.get(index);
    this.ptsByIndex.delete(index);
    const pts = sourcePts !== undefined && Number.isFinite(sourcePts) ? sourcePts : this.fallbackPts(index, raw.captureTs);
    const frame: Frame = {
      streamId: this.opts.streamId,
      seq: (this.opts.startSeq ?? 0) + index,
      index,
      pts: this.livePts ? this.livePts.next(pts, raw.captureTs) : pts,
      captureTs: raw.captureTs,
      letterbox: this.letterboxOf(index),
      rgb: new Uint8Array(raw.rgb.buffer, raw.rgb.byteOffset, raw.rgb.length),
    };
    const jpeg = this.opts.jpeg ? this.jpegs.shift() : undefined;
    if (jpeg) frame.jpeg = new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length);
    const source = this.sourceSplitter ? this.sources.shift() : undefined;
    if (source && this.opts.info) frame.source = { width: this.opts.info.width, height: this.opts.info.height, yuv: new Uint8Array(source.buffer, source.byteOffset, source.length), matrix: matrixOf(this.opts.info.colorSpace) };
    this.updateFlow();
    return frame;
  }

  private fallbackPts(index: number, captureTs: number): number {
    const sourceFps = this.sourceInfo?.fps ?? 0;
    const fps = this.opts.fps && this.opts.fps > 0 ? Math.min(this.opts.fps, sourceFps || Infinity) : sourceFps;
    if (isFiniteType(this.type) && fps > 0) return index / fps;
    return (captureTs - (this.firstCaptureTs ?? captureTs)) / 1000;
  }

  private throwIfFailed(): void {
    const exit = this.exit as ExitStatus;
    const tail = (this.proc?.stderrTail() ?? []).map((l) => redactUrl(withoutInputName(l, this.opts.url)));
    const shown = redactUrl(this.opts.url);
    const where = `decoding ${shown}`;
    if (this.failure) throw new DecodeError(`${this.failure} (${where})`, exit, tail);
    if (exit.spawnError) throw new DecodeError(`${where}: ${exit.spawnError.message}`, exit, tail);
    const live = !isFiniteType(this.type);
    const socketTimeoutMs = this.socketTimeoutMs();
    if (tail.some((l) => UNAUTHORIZED.test(l))) {
      throw new DecodeError(`${shown}: the server refused the credentials (${tail.find((l) => UNAUTHORIZED.test(l))})`, exit, tail, 'UNAUTHORIZED');
    }
    const silenceMs = this.finalSilenceMs();
    if (live && silenceMs !== undefined) {
      throw new DecodeError(`${shown} stopped sending video: no frame for ${Math.round(silenceMs / 100) / 10} s (socket timeout ${socketTimeoutMs} ms)`, exit, tail, 'STALLED');
    }
    // A live source that never sent a frame before the socket timeout: say that, not ffmpeg's vague
    // verdict. RTSP over TCP ends with code 0 then (a camera that describes its stream and never
    // sends it), which is no clean end either.
    const silentLive = live && this.nextIndex === 0 && this.rawFrames.length === 0 && performance.now() - this.spawnedAt >= socketTimeoutMs;
    if (silentLive) {
      throw new DecodeError(`no video from ${shown} within ${socketTimeoutMs} ms (ffmpeg ${describeExit(exit, tail)})`, exit, tail, 'TIMEOUT');
    }
    if (exit.code !== 0) throw new DecodeError(`ffmpeg ${describeExit(exit, tail)} (${where})`, exit, tail);
    if (this.rgbSplitter.partialBytes > 0) {
      throw new DecodeError(`ffmpeg ended mid-frame (${this.rgbSplitter.partialBytes} of ${this.frameBytes} bytes) ${where}`, exit, tail);
    }
  }

  private socketTimeoutMs(): number {
    return this.opts.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS;
  }

  /**
   * How long a live source was silent before ffmpeg gave up on it (its socket timeout), if that is
   * how it ended: whatever ffmpeg's exit code (RTSP over TCP ends with 0, as if the camera had
   * closed the stream). The frames ffmpeg still held come out when it gives up, so the silence may
   * end in a burst just before the exit.
   */
  private finalSilenceMs(): number | undefined {
    if (this.lastFrameAt === 0) return undefined;
    const now = performance.now();
    const threshold = this.socketTimeoutMs() * 0.9;
    if (now - this.lastFrameAt >= threshold) return now - this.lastFrameAt;
    const s = this.lastSilence;
    return s && now - s.endedAt <= Math.max(1000, threshold / 2) ? s.ms : undefined;
  }

  /**
   * A file that ends well short of the frames its container announces (a truncated upload, a
   * recording cut off) decodes what it has and exits 0: say so, with where it ended.
   */
  private warnIfTruncated(): void {
    if (!this.opts.onWarning || !isFiniteType(this.type) || this.opts.loop) return;
    const expected = this.expectedFrames();
    const decoded = this.nextIndex;
    const short = expected !== undefined && decoded < expected - Math.max(2, expected * 0.02);
    if (!short && !this.partialFile) return;
    const of = expected !== undefined ? ` of ${expected}` : '';
    this.opts.onWarning(`${redactUrl(this.opts.url)} ended at frame ${decoded}${of}: the file is truncated`);
  }

  /** Frames the container announces (after an fps cap), when it says. */
  private expectedFrames(): number | undefined {
    const info = this.opts.info;
    if (!info?.frameCount) return undefined;
    const cap = this.opts.fps;
    if (cap && cap > 0 && info.fps > cap && info.duration) return Math.floor(info.duration * cap);
    return info.frameCount;
  }

  private until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = () => {
        if (!cond()) return;
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Called whenever the decoder's state changes: applies backpressure, wakes the consumer. */
  private notify(): void {
    this.updateFlow();
    this.wake?.();
  }

  /**
   * Reads stdout until `readAhead` frames wait and the next one is complete. ffmpeg writes all
   * pending rgb frames before their JPEGs and source frames, so pausing on a finished rgb frame
   * whose JPEG or source frame is still due would deadlock.
   */
  private updateFlow(): void {
    const stdout = this.proc?.stdout;
    if (!stdout || this.stopped) return;
    if (this.frameReady() && this.rawFrames.length >= (this.opts.readAhead ?? 1)) stdout.pause();
    else stdout.resume();
  }
}
