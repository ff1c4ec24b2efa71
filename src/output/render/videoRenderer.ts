/**
 * The annotated video, as a 'wait' sink: each result's source frame (FrameResult.source) with the
 * results drawn on it (FrameAnnotator), encoded to H.264 at the source's size and frame rate, with
 * the source's audio when it has some. Every analysed frame becomes one output frame, so the video
 * has the source's frame count.
 *
 * It draws on the source pixels in place, in the decoder's yuv420p (no copy and no colour
 * conversion of a 3 MB 1080p frame per frame), and hands them to the encoder in that format: outputs
 * that read those pixels (the report's thumbnails) must be given each result before this one.
 */
import type { AnalyticsCounts, FrameResult } from '../../types.js';
import type { ResultSink } from '../sink.js';
import { analyticsOverlay, FrameAnnotator, type AnalyticsGeometry, type AnnotatorOptions } from './annotate.js';
import { createImage, wrapImage, type YuvImage } from './image.js';
import { VideoEncoder } from './videoEncoder.js';
import { declaredColorSpace, matrixOf, type YuvMatrix } from './yuv.js';

/**
 * x264 defaults (analyze --crf, --preset). ultrafast takes half veryfast's CPU per 1080p frame;
 * at CRF 26 its files are about 1.8 x veryfast's at 23, under 1 dB PSNR below (docs/analysis.md).
 */
export const DEFAULT_CRF = 26;
export const DEFAULT_PRESET = 'ultrafast';

/** Frame rate used when the source does not declare one. */
export const FALLBACK_FPS = 25;

export interface VideoRendererOptions {
  out: string;
  /** The source as probed: its frames' size and rate; a file's audio is copied. */
  source: { url: string; width: number; height: number; fps: number; isFile: boolean; audioCodec?: string; colorSpace?: string };
  /** x264 constant rate factor (default DEFAULT_CRF). */
  crf?: number;
  /** x264 preset (default DEFAULT_PRESET). */
  preset?: string;
  /** ffmpeg's niceness (default 0). */
  nice?: number;
  /** Zones and lines to draw (with the running counts the results carry). */
  analytics?: AnalyticsGeometry;
  annotator?: AnnotatorOptions;
}

export class VideoRenderer implements ResultSink {
  readonly name = 'render';
  readonly backpressure = 'wait';
  private readonly encoder: VideoEncoder;
  private readonly annotator: FrameAnnotator;
  private readonly analytics: AnalyticsGeometry | undefined;
  private counts: AnalyticsCounts | undefined;
  private readonly matrix: YuvMatrix;
  private blank: YuvImage | undefined;
  /** Frames that came without source pixels (drawn on black so the frame count still holds). */
  missingSource = 0;

  constructor(opts: VideoRendererOptions) {
    const s = opts.source;
    const audio = s.isFile && s.audioCodec ? { url: s.url, codec: s.audioCodec } : undefined;
    this.encoder = new VideoEncoder(
      { out: opts.out, width: s.width, height: s.height, fps: s.fps > 0 ? s.fps : FALLBACK_FPS, crf: opts.crf ?? DEFAULT_CRF, preset: opts.preset ?? DEFAULT_PRESET, colorSpace: declaredColorSpace(s.colorSpace) },
      { audioFrom: audio, nice: opts.nice },
    );
    this.annotator = new FrameAnnotator(opts.annotator);
    this.analytics = opts.analytics;
    this.matrix = matrixOf(s.colorSpace);
  }

  /** Draws on result.source in place and queues it for encoding. */
  async write(result: FrameResult): Promise<void> {
    if (result.counts) this.counts = result.counts;
    const image = result.source;
    const { width, height } = this.encoder.spec;
    let img: YuvImage;
    if (image && image.width === width && image.height === height) img = wrapImage(width, height, image.yuv, this.matrix);
    else {
      this.missingSource++;
      this.blank ??= createImage(width, height, [0, 0, 0], this.matrix);
      img = { ...this.blank, data: this.blank.data.slice() };
    }
    this.annotator.draw(img, result, this.analytics ? analyticsOverlay(this.analytics, this.counts) : undefined);
    await this.encoder.write(img.data);
  }

  /** Forget the trails (a seek or another discontinuity in the frames). */
  reset(): void {
    this.annotator.reset();
  }

  /** Finishes the file (an interrupted analysis still leaves a playable video of what was analysed). */
  close(): Promise<void> {
    return this.encoder.finish();
  }

  abort(): Promise<void> {
    return this.encoder.abort();
  }
}
