/**
 * Shared types: every stage speaks these. Data flows ingest -> infer -> track -> pipeline -> serve.
 * Boxes everywhere are source-frame pixels [x1, y1, x2, y2] unless a name says otherwise.
 */

export type Box = [x1: number, y1: number, x2: number, y2: number];

/** Maps source pixels to model-input pixels: in = src * scale + pad. Ultralytics LetterBox rounding. */
export interface Letterbox {
  /** Source frame size. */
  srcWidth: number;
  srcHeight: number;
  /** Model input size (the letterboxed canvas). */
  dstWidth: number;
  dstHeight: number;
  /** Scale applied to the source before padding (same on both axes). */
  scale: number;
  /** Size of the resized source inside the canvas. */
  resizedWidth: number;
  resizedHeight: number;
  /** Left and top padding in model-input pixels. */
  padX: number;
  padY: number;
}

/** Facts about a source, from probing it before decoding. */
/**
 * How a source is opened (docs/sources.md): a local file, a file over HTTP(S), an HLS recording
 * (#EXT-X-ENDLIST) or live playlist, an MJPEG camera (multipart/x-mixed-replace), another live
 * HTTP stream (MPEG-TS, FLV...), or RTSP.
 */
export type SourceType = 'file' | 'http-file' | 'hls-vod' | 'hls-live' | 'mjpeg' | 'http-live' | 'rtsp';

export interface SourceInfo {
  url: string;
  /** How it was opened. */
  type?: SourceType;
  /** Displayed size: after the rotation a player applies (the stream's display matrix). */
  width: number;
  height: number;
  /** Clockwise degrees the stored picture is turned for display (0, 90, 180, 270). */
  rotation?: number;
  /** Interlaced fields (the stream's field order). */
  interlaced?: boolean;
  /** Frames per second as reported by the container or stream; 0 when unknown. */
  fps: number;
  /** Total frames when known (files), else undefined. */
  frameCount?: number;
  /** Duration in seconds when known. */
  duration?: number;
  codec: string;
  /** ffprobe's `color_space` of the video (e.g. bt709, smpte170m), when the stream declares one. */
  colorSpace?: string;
  /** Codec of the first audio stream, when there is one (a rendered copy of the video can carry it). */
  audioCodec?: string;
  /** True for finite sources (files, files over HTTP, HLS recordings); false for live streams. */
  isFile: boolean;
}

/** One decoded, letterboxed frame. Pixels are HWC RGB uint8 at the model input size. */
export interface Frame {
  streamId: string;
  /** Monotonically increasing per stream for its whole life (survives reconnects). */
  seq: number;
  /** 0-based count of frames decoded by the current decoder run. */
  index: number;
  /** Presentation time in seconds. */
  pts: number;
  /** Wall-clock ms (epoch, sub-ms precision) when the frame left the decoder. */
  captureTs: number;
  letterbox: Letterbox;
  /** dstWidth * dstHeight * 3 bytes, RGB, letterboxed with pad colour 114. */
  rgb: Uint8Array;
  /** JPEG of the source frame when the stream produces video for clients. */
  jpeg?: Uint8Array;
  /** The source frame itself (yuv420p) when a consumer draws on it (analyze --render, --report). */
  source?: SourceImage;
}

/**
 * A source frame's pixels at the source's (probed) size, as the decoder has them: planar yuv420p,
 * limited range (the Y plane, then U and V at half the width and height, rounded up), in the
 * source's colour matrix (SourceInfo.colorSpace). A source that changes resolution mid-stream is
 * scaled back to that size, so a run's images keep one size.
 */
export interface SourceImage {
  width: number;
  height: number;
  yuv: Uint8Array;
  /** The matrix of its YUV (ingest/yuv.ts matrixOf). */
  matrix: YuvMatrix;
}

/** YCbCr matrices: BT.601 (SD, and ffmpeg's assumption when a stream declares none), BT.709 (HD), BT.2020. */
export type YuvMatrix = 'bt601' | 'bt709' | 'bt2020';

/** COCO-style uncompressed RLE, column-major (Fortran order) like pycocotools, at source resolution. */
export interface MaskRle {
  size: [height: number, width: number];
  counts: number[];
}

export interface Detection {
  box: Box;
  score: number;
  class: number;
  label: string;
  /** Set for confirmed tracks once a tracker runs. */
  trackId?: number;
  mask?: MaskRle;
}

/**
 * Epoch-ms timestamps and durations of one frame's way through the pipeline (clock: src/clock.ts).
 * The latency terms computed from them (wait, queue, inference, ...) are defined in src/latency.ts.
 */
export interface FrameTiming {
  /** When the frame left the decoder (for an HTTP image: when the request started). */
  captureTs: number;
  /** When the frame was handed to its model (the batcher's queue). */
  queuedTs?: number;
  inferStartTs?: number;
  inferEndTs?: number;
  /** Time inside the inference worker, ms: tensor fill, session.run, output decode. */
  preprocessMs?: number;
  inferenceMs?: number;
  postprocessMs?: number;
  /** Number of frames in the batch this frame ran in. */
  batchSize?: number;
  /** Time in each stage of the chain, ms, keyed by stage name (src/pipeline/stages.ts), in chain order. */
  stages: Record<string, number>;
  /** When the frame left the stage chain. */
  doneTs?: number;
  /** When the result was handed to the outputs (WebSocket clients, files, ...). */
  sendTs?: number;
}

/** A frame's detections, without its pixels. */
export interface FrameResult {
  streamId: string;
  seq: number;
  index: number;
  pts: number;
  width: number;
  height: number;
  detections: Detection[];
  /**
   * False when the detector did not run on this frame (a stage before inference skipped it); its
   * detections are then the previous frame's, carried forward.
   */
  inferred?: boolean;
  /** What motion gating saw and decided (set by the motion stage, docs/motion.md). */
  motion?: FrameMotion;
  timing: FrameTiming;
  jpeg?: Uint8Array;
  /**
   * The source frame's pixels when the run asked for them (analyze --render / --report): outputs
   * draw on them or crop them. Never serialised.
   */
  source?: SourceImage;
  /** Analytics events of this frame, in the order they happened (set by the analytics stage when there are any). */
  events?: AnalyticsEvent[];
  /** The stream's analytics counts, set on the frames where a count changed (and the first frame). */
  counts?: AnalyticsCounts;
}

// ---- Motion gating (src/motion, docs/motion.md) ----

/**
 * Why the detector ran on a frame: the first frame (no background yet), motion, a tracked object
 * that moved lately, a tracked object that was just lost, or the keyframe interval.
 */
export type MotionRunReason = 'start' | 'motion' | 'moving' | 'lost' | 'keyframe';
/** Why it did not: nothing changed, only changes smaller than minArea, only a change of light. */
export type MotionSkipReason = 'still' | 'small' | 'light';

export interface FrameMotion {
  /** Fraction of the frame that changed against the background (light-compensated), 0..1. */
  changed: number;
  /** Changed regions large enough to be motion, source pixels. */
  regions: Box[];
  /** Why the detector ran (inferred) or did not (inferred false). */
  reason: MotionRunReason | MotionSkipReason;
}

/**
 * A stream's motion gating: frames the detector skipped and ran on, by reason (a skip is not a
 * drop: the frame's result is sent, its detections carried forward), and the last frame's motion.
 */
export interface MotionStats {
  /** Fraction of the last frame that changed, 0..1. */
  changed: number;
  skipped: Record<MotionSkipReason, number>;
  ran: Record<MotionRunReason, number>;
}

// ---- Analytics (issue 14, src/analytics): events and counts, the same JSON in every output ----

/** Members every analytics event has. Member names are the JSON names. */
export interface AnalyticsEventBase {
  /** Unique and time-ordered (UUID v7): consumers de-duplicate redeliveries by it. */
  id: string;
  stream: string;
  track_id: number;
  class: number;
  label: string;
  /** The object's detector box on `frame`, source pixels rounded to 0.01. */
  box: Box;
  /** The frame the event happened on (FrameResult.index, the "frame" of every other output). */
  frame: number;
  /** That frame's presentation time, seconds. */
  pts: number;
  /** Wall clock (ISO 8601, UTC) when that frame was captured; live streams only. */
  time?: string;
}

/** A track crossed a line within its segment; `in` is from the negative to the positive side (docs/analytics.md). */
export interface LineCrossEvent extends AnalyticsEventBase {
  type: 'line_cross';
  line: string;
  direction: 'in' | 'out';
  score: number;
}

export interface ZoneEvent extends AnalyticsEventBase {
  type: 'zone_enter' | 'zone_exit' | 'zone_loiter';
  zone: string;
  /** Seconds of stream time inside the zone: on zone_exit and zone_loiter, absent on zone_enter. */
  dwell?: number;
}

export type AnalyticsEvent = LineCrossEvent | ZoneEvent;
export type AnalyticsEventType = AnalyticsEvent['type'];

/**
 * A stream's counts. Lines: crossings per label since the start or the last reset. Zones: objects
 * inside now, per label. Every configured line and zone is present; a label once counted stays
 * (at 0 after a reset or when the zone empties), so a consumer that mirrors counts sees them drop.
 */
export interface AnalyticsCounts {
  lines: Record<string, { in: Record<string, number>; out: Record<string, number> }>;
  zones: Record<string, Record<string, number>>;
}

export type DropReason = 'policy' | 'staleness' | 'client';

/**
 * `stalled`: the source is there but sends nothing new (a frozen camera, an HLS playlist that
 * stopped advancing, no frame for stallTimeoutSeconds); `unauthorized`: it refused the credentials
 * (retried slowly). Both are retried, like `reconnecting`.
 */
export type StreamState = 'connecting' | 'streaming' | 'reconnecting' | 'stalled' | 'unauthorized' | 'stopped' | 'failed' | 'ended';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface StreamStats {
  id: string;
  state: StreamState;
  lastError?: string;
  reconnects: number;
  framesDecoded: number;
  framesInferred: number;
  framesSent: number;
  fpsIn: number;
  fpsOut: number;
  drops: Record<DropReason, number>;
  /** capture -> send, ms */
  latency: LatencySummary;
  /** Time in each stage of the chain over recent frames, ms, keyed by stage name. */
  stages: Record<string, LatencySummary>;
  /** Execution provider running the stream's model (once it is loaded). */
  provider?: string;
  /** Motion gating, on streams that have it (docs/motion.md). */
  motion?: MotionStats;
  /** The stream's analytics counts, when it has zones or lines (docs/analytics.md). */
  analytics?: AnalyticsCounts;
  /** Cluster mode: the node running the stream (absent while no node runs it). */
  node?: string;
  /** The source as last opened: how (type), its displayed size and rotation, interlacing, codec, rate. */
  source?: Pick<SourceInfo, 'type' | 'width' | 'height' | 'rotation' | 'interlaced' | 'codec' | 'fps'>;
  /** Frames the decoder reported damaged data for (a corrupt source still "streams"). */
  decodeErrors?: number;
  /**
   * Whether the stream's decoder also hands over each frame at the source's own size (motion
   * regions cut their windows from it): chosen when the stream starts, kept across reconnects and
   * settings changes. Absent where unknown (a cluster stream no node runs yet).
   */
  sourceFrames?: boolean;
}

// ---- Configuration: the types come from its schema (src/config/schema.ts) ----

export type { DropPolicy, TrackerConfig } from './config/schema.js';
