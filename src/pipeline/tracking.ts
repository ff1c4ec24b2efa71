/** The tracking stage: a ByteTracker per stream gives detections their track ids. */
import { ByteTracker } from '../track/byteTracker.js';
import type { TrackerConfig } from '../types.js';
import type { Discontinuity, FrameStage, StageFactory, StageItem } from './stage.js';

class TrackingStage implements FrameStage {
  readonly name = 'track';
  private readonly tracker: ByteTracker;

  constructor(private readonly config: TrackerConfig) {
    this.tracker = new ByteTracker(config);
  }

  /**
   * Adds `trackId` to the detections taken by confirmed tracks; every detection the model made is
   * kept, with its detector box.
   */
  process({ result }: StageItem): void {
    result.detections = this.tracker.annotate(result.detections, result.pts);
  }

  /** Tracks do not survive a discontinuity, except a reconnect when the settings keep them. */
  flush(d: Discontinuity): void {
    if (d.reason === 'reconnect' && this.config.keepTracksOnReconnect) return;
    this.tracker.reset();
  }
}

export const trackingStage: StageFactory = ({ settings }) => (settings.tracker.enabled ? new TrackingStage(settings.tracker) : undefined);
