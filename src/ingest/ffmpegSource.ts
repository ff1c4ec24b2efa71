/**
 * The real SourceFactory: each kind of source opened for what it is (docs/sources.md).
 *  1. Its type: from the URL, or one GET of an HTTP URL (classify.ts).
 *  2. Finite sources (files, files over HTTP, HLS recordings) are probed with ffprobe for what
 *     ffmpeg does not print: the exact frame count (progress, truncation warnings). Live sources
 *     given their output size at open are not: the decoder opens them once and ffmpeg describes
 *     them itself; open() resolves with their first frame decoded.
 *  3. One FrameDecoder (one ffmpeg child) for the frames.
 * Interlaced sources are deinterlaced when detected (`deinterlace: 'auto'`); a live source found
 * interlaced, a QSV decode whose codec only ffmpeg's dump told, or one whose source frames are
 * asked for (they need its size), is opened once more with the right options before any frame is
 * handed out. A live HLS playlist is watched while it plays: one
 * that stops gaining segments ends the frames with a STALLED DecodeError, and opening it again is
 * refused (SourceError STALLED) until it moves on, so no stale segment is played twice.
 */
import type { Frame, SourceInfo, SourceType } from '../types.js';
import { classifySource } from './classify.js';
import { DecodeError, FrameDecoder, type FrameDecoderOptions } from './decoder.js';
import { playlistAdvanced, readPlaylist, type HlsPlaylist } from './hls.js';
import { hwaccelNeedsCodec } from './hwaccel.js';
import { probeSource, SourceError, type SourceErrorCode } from './probe.js';
import type { FrameOutput, FrameSource, SourceFactory, SourceRequest } from './source.js';
import { isFiniteType } from './sourceType.js';
import { redactUrl } from './sourceUrl.js';

const DEFAULT_OPEN_TIMEOUT_MS = 10_000;

export const ffmpegSources: SourceFactory = {
  async open(req) {
    const timeoutMs = req.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - performance.now());
    const shown = redactUrl(req.url);
    const { type, playlist } = await classifySource(req.url, { timeoutMs, signal: req.signal });
    if (type === 'hls-live' && req.previousPlaylist && playlist && !playlistAdvanced(req.previousPlaylist, playlist)) {
      throw new SourceError('STALLED', `${shown}: the HLS playlist has not moved on (${describePlaylist(playlist)})`);
    }
    const watch = type === 'hls-live' && playlist ? new PlaylistWatch(req.url, playlist, shown) : undefined;
    if (isFiniteType(type) || !req.output) {
      const probed = await probeSource(req.url, { type, timeoutMs: left(), rtspTransport: req.rtspTransport, signal: req.signal });
      return lazySource(req, type, probed, watch);
    }
    return openLive(req, type, req.output, left, shown, watch);
  },
};

/** Decoder options for a request, its output and what is known of the source. */
function decoderOptions(req: SourceRequest, type: SourceType, output: FrameOutput, known: SourceInfo | undefined): FrameDecoderOptions {
  return {
    streamId: req.streamId,
    url: req.url,
    type,
    info: known,
    dstWidth: output.width,
    dstHeight: output.height,
    readAhead: output.readAhead,
    realtime: req.realtime,
    loop: req.loop,
    fps: req.fps,
    jpeg: req.jpeg,
    // Source frames come at the source's size: a live source gets them once it is open and known.
    source: req.source === true && known !== undefined,
    rtspTransport: req.rtspTransport,
    startSeq: req.startSeq,
    socketTimeoutMs: req.socketTimeoutMs,
    nice: req.nice,
    deinterlaceFilter: deinterlaceMode(req.deinterlace, known?.interlaced),
    hwaccel: req.hwaccel,
    onWarning: req.onWarning,
  };
}

/** The deinterlace filter for a setting and what the stream says. */
function deinterlaceMode(setting: boolean | 'auto' | undefined, interlaced: boolean | undefined): FrameDecoderOptions['deinterlaceFilter'] {
  if (setting === true) return 'all';
  if (setting === false) return undefined;
  return interlaced ? 'interlaced' : undefined;
}

/** A probed source: the decoder starts when the frames are asked for, at the size asked. */
function lazySource(req: SourceRequest, type: SourceType, info: SourceInfo, watch: PlaylistWatch | undefined): FrameSource {
  let decoder: FrameDecoder | undefined;
  let stopped = false;
  return {
    info,
    get playlist() {
      return watch?.latest;
    },
    get decodeErrors() {
      return decoder?.decodeErrors ?? 0;
    },
    frames(output) {
      decoder = new FrameDecoder(decoderOptions(req, type, output, info));
      // Stopped before it started: the decoder ends at once without spawning ffmpeg.
      if (stopped) void decoder.stop();
      return watch ? watch.frames(decoder) : decoder.frames();
    },
    async stop() {
      stopped = true;
      watch?.stop();
      await decoder?.stop();
    },
  };
}

/** A live source opened once, by its decoder (and once more when the open told what it needs). */
async function openLive(req: SourceRequest, type: SourceType, output: FrameOutput, left: () => number, shown: string, watch: PlaylistWatch | undefined): Promise<FrameSource> {
  let decoder = new FrameDecoder(decoderOptions(req, type, output, undefined));
  let info = await openWithin(decoder, left(), req.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS, req.signal, shown);
  const deinterlaceLate = (req.deinterlace ?? 'auto') === 'auto' && info.interlaced === true;
  const codecLate = hwaccelNeedsCodec(req.hwaccel) && info.codec !== 'unknown';
  if (deinterlaceLate || codecLate || req.source === true) {
    await decoder.stop();
    decoder = new FrameDecoder(decoderOptions(req, type, output, info));
    info = await openWithin(decoder, left(), req.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS, req.signal, shown);
  }
  const opened = decoder;
  return {
    info,
    get playlist() {
      return watch?.latest;
    },
    get decodeErrors() {
      return opened.decodeErrors;
    },
    frames(asked) {
      if (asked.width !== output.width || asked.height !== output.height) {
        throw new Error(`source opened for ${output.width}x${output.height} frames, asked for ${asked.width}x${asked.height}`);
      }
      return watch ? watch.frames(opened) : opened.frames();
    },
    async stop() {
      watch?.stop();
      await opened.stop();
    },
  };
}

/**
 * Opens the decoder within `ms` (what is left of the open's `deadlineMs`); failures become
 * SourceErrors (the source could not be opened).
 */
async function openWithin(decoder: FrameDecoder, ms: number, deadlineMs: number, signal: AbortSignal | undefined, shown: string): Promise<SourceInfo> {
  let why: SourceError | undefined;
  const giveUp = (err: SourceError): void => {
    why ??= err;
    void decoder.stop();
  };
  const onAbort = (): void => giveUp(new SourceError('CANCELLED', `opening ${shown} cancelled`));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => giveUp(new SourceError('TIMEOUT', `no video from ${shown} within ${deadlineMs} ms`)), ms);
  try {
    return await decoder.open();
  } catch (err) {
    if (why) {
      // No ffmpeg outlives the open that gave up on it.
      await decoder.stop();
      throw why;
    }
    if (!(err instanceof DecodeError)) throw err;
    // ffmpeg's last line is its verdict, as ffprobe's is for a probed source.
    if (err.code === 'FAILED' && err.stderr.length > 0) throw new SourceError('UNREACHABLE', `cannot open ${shown} (ffmpeg: ${err.stderr.at(-1)})`);
    throw new SourceError(sourceCodeOf(err), err.message);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function sourceCodeOf(err: DecodeError): SourceErrorCode {
  switch (err.code) {
    case 'UNAUTHORIZED':
      return 'UNAUTHORIZED';
    case 'TIMEOUT':
    case 'STALLED':
      return 'TIMEOUT';
    default:
      return 'UNREACHABLE';
  }
}

function describePlaylist(p: HlsPlaylist): string {
  return `media sequence ${p.mediaSequence}, ${p.segments.length} segment(s), last ${p.segments.at(-1) ?? 'none'}`;
}

/**
 * Live HLS: polls the playlist every half target duration while frames flow. A playlist that gains
 * no segment for 3 target durations (at least 3 s) is a stalled source: decoding ends with a
 * STALLED DecodeError naming it (ffmpeg itself would keep polling quietly). One that gets its end
 * marker is a broadcast that finished: ffmpeg plays what is left and ends, and `latest.ended`
 * says so.
 */
class PlaylistWatch {
  latest: HlsPlaylist;
  private changedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private readonly stallMs: number;

  constructor(
    private readonly url: string,
    first: HlsPlaylist,
    private readonly shown: string,
  ) {
    this.latest = first;
    const target = Math.max(1, first.targetDuration || 2) * 1000;
    this.pollMs = target / 2;
    this.stallMs = Math.max(3000, 3 * target);
  }

  /** The decoder's frames; a stall ends them with a STALLED DecodeError. */
  async *frames(decoder: FrameDecoder): AsyncGenerator<Frame> {
    let stalled: DecodeError | undefined;
    const poll = async (): Promise<void> => {
      try {
        const next = await readPlaylist(this.url, { timeoutMs: 2 * this.pollMs });
        if (playlistAdvanced(this.latest, next)) this.changedAt = performance.now();
        this.latest = next;
      } catch {
        // A failed reload is ffmpeg's to report (it reads the same playlist); the clock keeps running.
      }
      const quietMs = performance.now() - this.changedAt;
      if (quietMs >= this.stallMs && !this.latest.ended) {
        stalled = new DecodeError(`${this.shown}: the HLS playlist stopped advancing (no new segment for ${Math.round(quietMs / 1000)} s; ${describePlaylist(this.latest)})`, undefined, [], 'STALLED');
        await decoder.stop();
        return;
      }
      if (this.timer !== undefined) this.timer = setTimeout(() => void poll(), this.pollMs);
    };
    this.timer = setTimeout(() => void poll(), this.pollMs);
    try {
      for await (const frame of decoder.frames()) yield frame;
      if (stalled) throw stalled;
      // ffmpeg may read the end marker before a poll does: look once more, so the consumer can
      // tell a broadcast that finished from one that went away.
      if (this.timer !== undefined && !this.latest.ended) {
        this.latest = await readPlaylist(this.url, { timeoutMs: 2 * this.pollMs }).catch(() => this.latest);
      }
    } finally {
      this.stop();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
