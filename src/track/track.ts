/**
 * One tracked object: its Kalman state and its place in the life cycle.
 *
 *   tentative --(matched on its next frame)--> tracked <--(matched)--> lost --(lostTrackSeconds)--> removed
 *   tentative --(missed)--> removed
 *
 * A track gets its id when it is confirmed (first promoted to tracked), so ids that reach users are
 * dense; ids are never reused.
 */
import type { Detection } from '../types.js';
import {
  COVARIANCE_SIZE,
  STATE_SIZE,
  boxToXyah,
  kalmanInitiate,
  kalmanInitiateFromTwo,
  kalmanPredict,
  kalmanUpdate,
  xyahToBox,
  type KalmanNoise,
} from './kalman.js';

export type TrackState = 'tentative' | 'tracked' | 'lost' | 'removed';

const scratchXyah = new Float64Array(4);
const scratchVirtual = new Float64Array(4);

export class Track {
  state: TrackState = 'tentative';
  /** 0 until confirmed. */
  id = 0;
  readonly mean = new Float64Array(STATE_SIZE);
  readonly cov = new Float64Array(COVARIANCE_SIZE);
  /** Box of the current prediction (or of the filtered state after an update), [x1, y1, x2, y2]. */
  readonly box = new Float64Array(4);
  /** The last detection matched to this track and its measurement. */
  detection: Detection;
  readonly lastObservation = new Float64Array(4);
  /** Filter state right after the last observation, to re-run the filter over an occlusion gap. */
  private readonly observedMean = new Float64Array(STATE_SIZE);
  private readonly observedCov = new Float64Array(COVARIANCE_SIZE);
  readonly startTime: number;
  /** Time of the last observation (tracker clock, seconds). */
  lastSeenTime: number;
  /** Number of the tracker update that last matched (or created) this track. */
  lastUpdate = 0;
  /** Seconds of observation: one frame interval for each frame after the first the track was matched in. */
  observedSeconds = 0;
  /** Number of frames the track was matched (or created) in: 1 means no velocity estimate yet. */
  observations = 1;

  constructor(detection: Detection, time: number, noise: KalmanNoise) {
    this.detection = detection;
    this.startTime = time;
    this.lastSeenTime = time;
    const [x1, y1, x2, y2] = detection.box;
    kalmanInitiate(boxToXyah(x1, y1, x2, y2, scratchXyah), this.mean, this.cov, noise);
    this.remember(detection.box);
  }

  get confirmed(): boolean {
    return this.id !== 0;
  }

  predict(dt: number, noise: KalmanNoise): void {
    // As ByteTrack: a track that is not being observed stops changing size.
    if (this.state !== 'tracked') this.mean[7] = 0;
    kalmanPredict(this.mean, this.cov, dt, noise);
    xyahToBox(this.mean, this.box);
  }

  /**
   * Takes `detection`, measured as box `measured` (its box, or a partly hidden box's correction), as
   * this track's observation at `time`. When the track was unobserved for longer
   * than one step (`stepSeconds`), the filter is first re-run from its last observation over the gap
   * along straight-line virtual observations (OC-SORT's observation-centric re-update), which undoes
   * the velocity drift accumulated while predicting blind.
   */
  observe(
    detection: Detection,
    measured: ArrayLike<number>,
    time: number,
    stepSeconds: number,
    noise: KalmanNoise,
    reupdateGaps: boolean,
  ): void {
    const z = boxToXyah(measured[0]!, measured[1]!, measured[2]!, measured[3]!, scratchXyah);
    const gap = time - this.lastSeenTime;
    if (reupdateGaps && stepSeconds > 0 && gap > 1.5 * stepSeconds) this.reupdateOverGap(z, gap, stepSeconds, noise);
    kalmanUpdate(this.mean, this.cov, z, noise);
    this.taken(detection, measured, time, stepSeconds);
  }

  /**
   * Takes `detection` as the second observation of a track seen once, at `time`, restarting its filter
   * from the two observations (kalmanInitiateFromTwo): the object moved further than the zero-velocity
   * prior follows, and its next prediction should go on at the speed it showed.
   */
  observeMotion(detection: Detection, time: number, stepSeconds: number, noise: KalmanNoise): void {
    const last = this.lastObservation;
    const first = boxToXyah(last[0]!, last[1]!, last[2]!, last[3]!, scratchVirtual);
    const [x1, y1, x2, y2] = detection.box;
    const second = boxToXyah(x1, y1, x2, y2, scratchXyah);
    kalmanInitiateFromTwo(first, second, time - this.lastSeenTime, this.mean, this.cov, noise);
    this.taken(detection, detection.box, time, stepSeconds);
  }

  /** Book-keeping of a matched detection, after the filter took its measurement. */
  private taken(detection: Detection, measured: ArrayLike<number>, time: number, stepSeconds: number): void {
    this.detection = detection;
    this.lastSeenTime = time;
    this.observedSeconds += stepSeconds;
    this.observations++;
    this.state = 'tracked';
    this.remember(measured);
  }

  private reupdateOverGap(z: Float64Array, gap: number, stepSeconds: number, noise: KalmanNoise): void {
    const steps = Math.max(1, Math.round(gap / stepSeconds));
    const dt = gap / steps;
    const last = this.lastObservation;
    const start = boxToXyah(last[0]!, last[1]!, last[2]!, last[3]!, scratchVirtual);
    const sx = start[0]!, sy = start[1]!, sa = start[2]!, sh = start[3]!;
    this.mean.set(this.observedMean);
    this.cov.set(this.observedCov);
    for (let s = 1; s < steps; s++) {
      const f = s / steps;
      kalmanPredict(this.mean, this.cov, dt, noise);
      scratchVirtual[0] = sx + (z[0]! - sx) * f;
      scratchVirtual[1] = sy + (z[1]! - sy) * f;
      scratchVirtual[2] = sa + (z[2]! - sa) * f;
      scratchVirtual[3] = sh + (z[3]! - sh) * f;
      kalmanUpdate(this.mean, this.cov, scratchVirtual, noise);
    }
    kalmanPredict(this.mean, this.cov, dt, noise);
  }

  /** Keeps the filter state and the measured box as the last observation. */
  private remember(measured: ArrayLike<number>): void {
    this.observedMean.set(this.mean);
    this.observedCov.set(this.cov);
    this.lastObservation[0] = measured[0]!;
    this.lastObservation[1] = measured[1]!;
    this.lastObservation[2] = measured[2]!;
    this.lastObservation[3] = measured[3]!;
    xyahToBox(this.mean, this.box);
  }
}
