/**
 * FrameDecoder: one ffmpeg child decoding a source into letterboxed RGB frames, pulled one at a
 * time. ffmpeg does the colour conversion, scaling and padding; this file only assembles pipe
 * chunks into frames and pairs each with its pts (and JPEG, when asked).
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
import type { Frame, Letterbox, SourceInfo } from '../types.js';
import {
  DEFAULT_SOCKET_TIMEOUT_MS,
  decodeArgs,
  describeExit,
  sourceFd,
  ffmpegPath,
  JPEG_FD,
  parseGraphInput,
  parseShowinfo,
  spawnFfmpeg,
  type ExitStatus,
  type FfmpegProcess,
  withoutInputName,
} from './ffmpeg.js';
import { redactUrl } from './sourceUrl.js';
import { JpegSplitter } from './jpegStream.js';
import { computeLetterbox } from './letterbox.js';
import { RawFrameSplitter } from './rawFrames.js';
import { nowMs } from '../clock.js';

/** `realtime` and `loop` apply to files only; `rtspTransport` to RTSP sources. */
export interface FrameDecoderOptions extends Partial<SourceSettings> {
  streamId: string;
  url: string;
  info: SourceInfo;
  dstWidth: number;
  dstHeight: number;
  /** Cap the frame rate with ffmpeg's fps filter; 0 or undefined = every decoded frame. */
  fps?: number;
  /** Also emit a JPEG of each source frame from the same decode (quality 1..100). */
  jpeg?: { quality: number; maxWidth?: number };
  /**
   * Also emit each source frame's pixels (Frame.source) at the probed size, from the same decode:
   * one decode feeds the model and whoever draws on the source frames (measured: a second decode
   * of a 1080p H.264 clip costs about 3x what this extra output does).
   */
  source?: boolean;
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
}

/** ffmpeg failed while decoding; the message carries its last stderr lines. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly exit: ExitStatus | undefined,
    readonly stderr: string[],
  ) {
    super(message);
  }
}

interface RawFrame {
  rgb: Buffer;
  captureTs: number;
}

export class FrameDecoder {
  /**
   * Letterbox per run of frames: from frame index `from` on. One entry from the probe; another each
   * time ffmpeg reconfigures its graph for a new source resolution (mid-stream SPS change, a
   * concatenation of recordings): ffmpeg letterboxes the new size itself (letterboxFilter), and
   * this table maps the boxes of those frames back with the right geometry.
   */
  private letterboxes: { from: number; letterbox: Letterbox }[];
  /** Graph configurations seen; frames tapped (pts lines) so far; the first frame index of the current graph. */
  private graphs = 0;
  private tapped = 0;
  private graphBase = 0;
  private readonly frameBytes: number;
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
  private firstCaptureTs: number | undefined;
  private stdoutDone = false;
  private jpegDone = true;
  private stderrDone = false;
  private exit: ExitStatus | undefined;
  /** Why the run failed on our side (the child's exit status then only says we killed it). */
  private failure: string | undefined;
  private wake: (() => void) | undefined;
  private spawnedAt = 0;

  constructor(private readonly opts: FrameDecoderOptions) {
    this.letterboxes = [{ from: 0, letterbox: computeLetterbox(opts.info.width, opts.info.height, opts.dstWidth, opts.dstHeight) }];
    this.frameBytes = opts.dstWidth * opts.dstHeight * 3;
    this.rgbSplitter = new RawFrameSplitter(this.frameBytes);
    if (opts.source) this.sourceSplitter = new RawFrameSplitter(opts.info.width * opts.info.height * 3);
  }

  /** The letterbox of the newest source resolution (the probe's until ffmpeg reports another). */
  get letterbox(): Letterbox {
    return this.letterboxes[this.letterboxes.length - 1].letterbox;
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
    await this.proc?.stop(this.opts.stopGraceMs);
  }

  /** Bytes decoded but not yet handed out: finished frames, the partial one, JPEGs waiting. */
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
    this.spawn();
    try {
      for (;;) {
        await this.until(() => this.stopped || this.frameReady() || this.finished());
        if (this.stopped) return;
        if (this.frameReady()) {
          yield this.takeFrame();
          continue;
        }
        this.throwIfFailed();
        return;
      }
    } finally {
      await this.stop();
    }
  }

  private spawn(): void {
    const o = this.opts;
    const binary = ffmpegPath();
    const args = decodeArgs(
      {
        url: o.url,
        dstWidth: o.dstWidth,
        dstHeight: o.dstHeight,
        fps: o.fps,
        jpeg: o.jpeg,
        source: o.source ? { width: o.info.width, height: o.info.height } : undefined,
        input: {
          realtime: o.realtime && o.info.isFile,
          loop: o.loop && o.info.isFile,
          rtspTransport: o.rtspTransport,
          socketTimeoutMs: o.socketTimeoutMs,
          lowDelay: !o.info.isFile,
        },
      },
      binary,
    );
    const proc = spawnFfmpeg(args, {
      extraPipes: (o.jpeg ? 1 : 0) + (o.source ? 1 : 0),
      nice: o.nice,
      onLogLine: (line) => {
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
        const size = line.level === 'verbose' ? parseGraphInput(line) : undefined;
        if (size) {
          this.onGraphInput(size.width, size.height);
          return true;
        }
        // yuvj420p for the JPEG output is what the mjpeg encoder wants; swscale's nag is noise. So is
        // ffmpeg 4.x's caution about -vsync 0 with -r: the JPEG output's -r only sets its time base.
        return (line.context?.startsWith('swscaler') === true && /deprecated pixel format/.test(line.text)) || /^Using -vsync 0 and -r can produce invalid output files/.test(line.text);
      },
    });
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
    });
  }

  /** ffmpeg (re)configured its graph for a source of width x height: frames from here on use its letterbox. */
  private onGraphInput(width: number, height: number): void {
    const first = this.graphs++ === 0;
    const { dstWidth, dstHeight } = this.opts;
    if (first) {
      // Normally the probe's size; if ffmpeg sees another (e.g. cropping the probe missed), ffmpeg's wins.
      const lb = this.letterboxes[0].letterbox;
      if (lb.srcWidth !== width || lb.srcHeight !== height) this.letterboxes[0] = { from: 0, letterbox: computeLetterbox(width, height, dstWidth, dstHeight) };
      return;
    }
    this.graphBase = this.tapped;
    const current = this.letterbox;
    if (current.srcWidth === width && current.srcHeight === height) return;
    this.letterboxes.push({ from: this.graphBase, letterbox: computeLetterbox(width, height, dstWidth, dstHeight) });
    this.opts.onResolutionChange?.({ fromFrame: this.graphBase, width, height, previous: { width: current.srcWidth, height: current.srcHeight } });
  }

  private letterboxOf(index: number): Letterbox {
    // Entries are in frame order and frames are taken in order: drop runs that are over.
    while (this.letterboxes.length > 1 && this.letterboxes[1].from <= index) this.letterboxes.shift();
    return this.letterboxes[0].letterbox;
  }

  private onRgb(chunk: Buffer): void {
    for (const rgb of this.rgbSplitter.push(chunk)) this.rawFrames.push({ rgb, captureTs: nowMs() });
    this.notify();
  }

  /** The next frame has its pixels, its JPEG (when asked) and its pts (or none will come). */
  private frameReady(): boolean {
    if (this.rawFrames.length === 0) return false;
    if (this.opts.jpeg && this.jpegs.length === 0 && !this.jpegDone) return false;
    if (this.opts.source && this.sources.length === 0 && !this.sourceDone) return false;
    return this.ptsByIndex.has(this.nextIndex) || this.stderrDone;
  }

  private finished(): boolean {
    return this.rawFrames.length === 0 && this.stdoutDone && this.exit !== undefined;
  }

  private takeFrame(): Frame {
    const raw = this.rawFrames.shift() as RawFrame;
    const index = this.nextIndex++;
    this.firstCaptureTs ??= raw.captureTs;
    const pts = this.ptsByIndex.get(index);
    this.ptsByIndex.delete(index);
    const frame: Frame = {
      streamId: this.opts.streamId,
      seq: (this.opts.startSeq ?? 0) + index,
      index,
      pts: pts !== undefined && Number.isFinite(pts) ? pts : this.fallbackPts(index, raw.captureTs),
      captureTs: raw.captureTs,
      letterbox: this.letterboxOf(index),
      rgb: new Uint8Array(raw.rgb.buffer, raw.rgb.byteOffset, raw.rgb.length),
    };
    const jpeg = this.opts.jpeg ? this.jpegs.shift() : undefined;
    if (jpeg) frame.jpeg = new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length);
    const source = this.opts.source ? this.sources.shift() : undefined;
    if (source) frame.source = { width: this.opts.info.width, height: this.opts.info.height, rgb: new Uint8Array(source.buffer, source.byteOffset, source.length) };
    this.updateFlow();
    return frame;
  }

  private fallbackPts(index: number, captureTs: number): number {
    const fps = this.opts.fps && this.opts.fps > 0 ? Math.min(this.opts.fps, this.opts.info.fps || Infinity) : this.opts.info.fps;
    if (this.opts.info.isFile && fps > 0) return index / fps;
    return (captureTs - (this.firstCaptureTs ?? captureTs)) / 1000;
  }

  private throwIfFailed(): void {
    const exit = this.exit as ExitStatus;
    const tail = (this.proc?.stderrTail() ?? []).map((l) => redactUrl(withoutInputName(l, this.opts.url)));
    const where = `decoding ${redactUrl(this.opts.url)}`;
    if (this.failure) throw new DecodeError(`${this.failure} (${where})`, exit, tail);
    if (exit.spawnError) throw new DecodeError(`${where}: ${exit.spawnError.message}`, exit, tail);
    if (exit.code !== 0) {
      // A live source that never sent a frame before the socket timeout: say that, not ffmpeg's vague verdict.
      const socketTimeoutMs = this.opts.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS;
      if (!this.opts.info.isFile && this.nextIndex === 0 && performance.now() - this.spawnedAt >= socketTimeoutMs) {
        throw new DecodeError(`no video from ${redactUrl(this.opts.url)} within ${socketTimeoutMs} ms (ffmpeg ${describeExit(exit, tail)})`, exit, tail);
      }
      throw new DecodeError(`ffmpeg ${describeExit(exit, tail)} (${where})`, exit, tail);
    }
    if (this.rgbSplitter.partialBytes > 0) {
      throw new DecodeError(`ffmpeg ended mid-frame (${this.rgbSplitter.partialBytes} of ${this.frameBytes} bytes) ${where}`, exit, tail);
    }
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
