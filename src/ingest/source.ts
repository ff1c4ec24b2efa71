/**
 * Sources: where frames come from, behind one small interface. The stream runner and `analyze`
 * open sources through a SourceFactory, so their logic (reconnect, stall, drops) is independent of
 * ffmpeg and tested with fake sources. The real one is `ffmpegSources` (ffmpegSource.ts): each kind
 * of source opened for what it is, one ffmpeg child decoding, scaling and letterboxing.
 */
import type { SourceSettings } from '../config/schema.js';
import type { Frame, SourceInfo } from '../types.js';
import type { HlsPlaylist } from './hls.js';
import type { Hwaccel } from './hwaccel.js';

/** `realtime` (pace at the native frame rate) and `loop` apply to finite sources, `rtspTransport` to RTSP. */
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
  /**
   * The frames' output when the consumer knows it at open (a running stream knows its model): a
   * live source is then opened once, by the decoder itself, and open() resolves with its first
   * frame decoded. Without it a live source is probed first. frames() must be given the same.
   */
  output?: FrameOutput;
  /** Time allowed to open the source, ms. */
  openTimeoutMs?: number;
  /** How long a network read may block before ffmpeg gives up on the source, ms (default 5000). */
  socketTimeoutMs?: number;
  /** Decoder niceness 0..19 (default 0). */
  nice?: number;
  /** Decode on a GPU (hwaccel.ts). */
  hwaccel?: Hwaccel;
  /** Live HLS: the playlist as last seen; the open is refused (STALLED) until the playlist has moved on. */
  previousPlaylist?: HlsPlaylist;
  /** What the consumer should know that does not stop the frames (a truncated file). */
  onWarning?(message: string): void;
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
  /** The source as it decodes: displayed size, rotation, interlacing; `isFile` for finite sources. */
  readonly info: SourceInfo;
  /**
   * Live HLS: the newest playlist seen (hand it back as `previousPlaylist` when reopening); `ended`
   * when the broadcast finished (its end marker came), so frames that end are not a lost source.
   */
  readonly playlist?: HlsPlaylist;
  /** Frames the decoder reported damaged data for so far. */
  readonly decodeErrors?: number;
  /** The frames in order, letterboxed to `output`'s size; ends when the source ends, throws when it fails. Single use. */
  frames(output: FrameOutput): AsyncIterableIterator<Frame>;
  /** Ends the source (an iteration in progress ends) and releases it. Idempotent. */
  stop(): Promise<void>;
}

export interface SourceFactory {
  /**
   * Opens `req.url`. Rejects with a SourceError when the source cannot be read (a missing or
   * undecodable file; a camera that does not answer; refused credentials), code CANCELLED when
   * aborted.
   */
  open(req: SourceRequest): Promise<FrameSource>;
}
