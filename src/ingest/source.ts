/**
 * Sources: where frames come from, behind one small interface. The stream runner and `analyze`
 * open sources through a SourceFactory, so their logic (reconnect, stall, drops) is independent of
 * ffmpeg and tested with fake sources. `ffmpegSources` is the real one: ffprobe, then one ffmpeg
 * child decoding, scaling and letterboxing (FrameDecoder).
 */
import type { SourceSettings } from '../config/schema.js';
import type { Frame, SourceInfo } from '../types.js';
import { FrameDecoder } from './decoder.js';
import { probeSource } from './probe.js';

/** `realtime` (pace at the native frame rate) and `loop` apply to files, `rtspTransport` to RTSP. */
export interface SourceRequest extends Partial<SourceSettings> {
  streamId: string;
  url: string;
  /** Most frames per second taken from the source; 0 or undefined = every frame (the config's `fps`). */
  fps?: number;
  /** Also produce a JPEG of each source frame, at most `maxWidth` wide (0 or undefined: the source's width). */
  jpeg?: { quality: number; maxWidth?: number };
  /** Also hand over each source frame's pixels at the source size (Frame.source), from the same decode. */
  source?: boolean;
  /** seq of the first frame (a stream's numbering continues across reconnects). */
  startSeq?: number;
  /** Time allowed to open the source, ms. */
  openTimeoutMs?: number;
  /** Decoder niceness 0..19 (default 0). */
  nice?: number;
  /** Aborting ends an open() in progress at once. */
  signal?: AbortSignal;
}

/** How the consumer takes the frames. */
export interface FrameOutput {
  /** The size frames come letterboxed to (the model's input). */
  width: number;
  height: number;
  /** Decoded frames to hold before decoding pauses (default 1). */
  readAhead?: number;
}

/** An opened source. Frames are pulled; nothing is decoded ahead beyond `readAhead`. */
export interface FrameSource {
  readonly info: SourceInfo;
  /** The frames in order, letterboxed to `output`'s size; ends when the source ends, throws when it fails. Single use. */
  frames(output: FrameOutput): AsyncIterableIterator<Frame>;
  /** Ends the source (an iteration in progress ends) and releases it. Idempotent. */
  stop(): Promise<void>;
}

export interface SourceFactory {
  /**
   * Opens `req.url`. Rejects with a SourceError when the source cannot be read (a missing or
   * undecodable file; a camera that does not answer) and with an AbortError when aborted.
   */
  open(req: SourceRequest): Promise<FrameSource>;
}

/** ffprobe on open, then one FrameDecoder (one ffmpeg child) for the frames. */
export const ffmpegSources: SourceFactory = {
  async open(req) {
    const info = await probeSource(req.url, { timeoutMs: req.openTimeoutMs, rtspTransport: req.rtspTransport, signal: req.signal });
    let decoder: FrameDecoder | undefined;
    let stopped = false;
    return {
      info,
      frames(output) {
        decoder = decoderFor(req, info, output);
        // Stopped before it started: the decoder ends at once without spawning ffmpeg.
        if (stopped) void decoder.stop();
        return decoder.frames();
      },
      async stop() {
        stopped = true;
        await decoder?.stop();
      },
    };
  },
};

function decoderFor(req: SourceRequest, info: SourceInfo, output: FrameOutput): FrameDecoder {
  return new FrameDecoder({
    streamId: req.streamId,
    url: req.url,
    info,
    dstWidth: output.width,
    dstHeight: output.height,
    realtime: req.realtime,
    loop: req.loop,
    fps: req.fps,
    jpeg: req.jpeg,
    source: req.source,
    rtspTransport: req.rtspTransport,
    startSeq: req.startSeq,
    readAhead: output.readAhead,
    nice: req.nice,
  });
}
