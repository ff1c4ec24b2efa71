/** The tracking stage: a ByteTracker per stream gives detections their track ids. */
import { ByteTracker } from '../track/byteTracker.js';
import type { TrackerConfig } from '../types.js';
import type { Discontinuity, FrameStage, StageFactory, StageItem } from './stage.js';

class TrackingStage implements FrameStage {
  readonly name = 'track';

  constructor(
    private readonly config: TrackerConfig,
    private readonly tracker: ByteTracker,
  ) {}

  /**
   * Adds `trackId` to the detections taken by confirmed tracks; every detection the model made is
   * kept, with its detector box.
   */
  process({ result }: StageItem): void {
    // The detector skipped this frame and its detections were carried forward: the tracks stay as
    // they are (not lost), and their time goes on from the next frame the detector sees.
    if (result.inferred === false) return;
    result.detections = this.tracker.annotate(result.detections, result.pts);
  }

  /** Tracks do not survive a discontinuity, except a reconnect when the settings keep them. */
  flush(d: Discontinuity): void {
    if (d.reason === 'reconnect' && this.config.keepTracksOnReconnect) return;
    this.tracker.reset();
  }
}

/**
 * The stream's tracker outlives a chain rebuilt for new settings (it is kept in the stage memory):
 * tracks go on and an id is never given twice in a stream's life.
 */
export const trackingStage: StageFactory = ({ settings, memory }) => {
  if (!settings.tracker.enabled) return undefined;
  let tracker = memory?.get('track') as ByteTracker | undefined;
  if (tracker) tracker.configure(settings.tracker);
  else {
    tracker = new ByteTracker(settings.tracker);
    memory?.set('track', tracker);
  }
  return new TrackingStage(settings.tracker, tracker);
};
