/** The tracking stage: an optional ByteTracker per stream gives detections their track ids. */
import { map, type OperatorFunction } from 'rxjs';
import { ByteTracker } from '../track/byteTracker.js';
import type { FrameResult, TrackerConfig } from '../types.js';
import { nowMs } from './clock.js';

export function createTracker(config: TrackerConfig): ByteTracker | undefined {
  return config.enabled ? new ByteTracker(config) : undefined;
}

/**
 * Adds `trackId` to the detections taken by confirmed tracks; every detection the model made is
 * kept, with its detector box (as `analyze` reports them). Passes results through unchanged when
 * there is no tracker. Results must arrive in frame order.
 */
export function trackDetections(tracker: ByteTracker | undefined): OperatorFunction<FrameResult, FrameResult> {
  return map((result) => {
    if (!tracker) return result;
    const detections = tracker.annotate(result.detections, result.pts);
    return { ...result, detections, timing: { ...result.timing, trackEndTs: nowMs() } };
  });
}
