/**
 * Constant-velocity Kalman filter on a box, in continuous time.
 *
 * State (ByteTrack's "xyah"): centre x, centre y, aspect ratio a = w / h, height h, and their velocities
 * per SECOND: mean = [cx, cy, a, h, vcx, vcy, va, vh]. The motion model, the measurement (cx, cy, a, h)
 * and all noise matrices treat the four coordinates independently, so the 8x8 covariance is
 * block-diagonal with one 2x2 (position, velocity) block per coordinate. We store only those blocks,
 * three numbers each: cov = [pp, pv, vv] x 4 coordinates (12 numbers). This is exactly the full filter,
 * at a fraction of the work.
 *
 * Process noise: each coordinate is a random walk in position plus a random walk in velocity (white
 * noise of spectral densities qp and qv), discretised exactly over the real time step dt:
 *   Q(dt) = [[qp dt + qv dt^3 / 3, qv dt^2 / 2], [qv dt^2 / 2, qv dt]].
 * Predicting once over dt or n times over dt / n therefore gives the same mean and covariance, so
 * dropped frames and different frame rates keep their meaning. As in ByteTrack, the noise of cx, cy and
 * h scales with the box height (bigger boxes move and jitter more pixels); the aspect ratio uses
 * absolute noise.
 */

export const STATE_SIZE = 8;
export const COVARIANCE_SIZE = 12;

export interface KalmanNoise {
  /** Measurement noise std of cx, cy, h, as a fraction of the height. */
  measurementPosition: number;
  /** Measurement noise std of the aspect ratio. */
  measurementAspect: number;
  /** Position random-walk density: std after 1 s, as a fraction of the height. */
  processPosition: number;
  /** Velocity random-walk density: velocity std (heights per second) gained after 1 s. */
  processVelocity: number;
  /** Same two for the aspect ratio (absolute units). */
  processAspect: number;
  processAspectVelocity: number;
  /** Initial std of a new track's position, as a fraction of the height, and of the aspect ratio. */
  initialPosition: number;
  initialAspect: number;
  /** Initial std of a new track's velocity, heights per second, and aspect-ratio change per second. */
  initialVelocity: number;
  initialAspectVelocity: number;
}

/**
 * Defaults, in units of the box height h (so they hold at any image scale) and seconds (so they hold at
 * any frame rate). For a pedestrian (h ~ 1.7 m):
 * - measurement: ByteTrack's h/20 for centre and height, 0.1 for the aspect ratio;
 * - initial velocity std 0.625 h/s (~1 m/s, walking speed): a new track may be moving either way;
 * - velocity random walk 0.2 h/s per sqrt(s) (~0.34 m/s change per sqrt(s)): people change pace and
 *   direction slowly relative to a frame;
 * - position random walk 0.16 h per sqrt(s): jitter of the box around the body (pose, detector).
 * These equal ByteTrack's per-frame noise (h/20, h/160) at 10 frames per second. ByteTrack's own values
 * applied per frame at 30 fps would mean 3x that velocity noise per second, which measured worse on the
 * MOT15 sequences at 7, 14 and 30 fps (docs/tracker.md).
 */
export const DEFAULT_KALMAN_NOISE: KalmanNoise = {
  measurementPosition: 1 / 20,
  measurementAspect: 0.1,
  processPosition: 0.16,
  processVelocity: 0.2,
  processAspect: 0.03,
  processAspectVelocity: 3e-4,
  initialPosition: 2 / 20,
  initialAspect: 1e-2,
  initialVelocity: 0.625,
  initialAspectVelocity: 1e-4,
};

/** Starts a track at measurement z = [cx, cy, a, h] with zero velocity. */
export function kalmanInitiate(
  z: ArrayLike<number>,
  mean: Float64Array,
  cov: Float64Array,
  noise: KalmanNoise = DEFAULT_KALMAN_NOISE,
): void {
  const h = z[3]!;
  for (let k = 0; k < 4; k++) {
    mean[k] = z[k]!;
    mean[k + 4] = 0;
    const posStd = k === 2 ? noise.initialAspect : noise.initialPosition * h;
    const velStd = k === 2 ? noise.initialAspectVelocity : noise.initialVelocity * h;
    cov[3 * k] = posStd * posStd;
    cov[3 * k + 1] = 0;
    cov[3 * k + 2] = velStd * velStd;
  }
}

/**
 * Starts a track from two measurements `dt` seconds apart (two-point differencing): centre at the second,
 * centre velocity their difference over dt, with the variances that follow from two measurements of
 * noise r (position r, velocity 2r / dt^2, covariance r / dt); aspect ratio and height as
 * `kalmanInitiate` at the second. For an object seen twice that moved too far for the zero-velocity
 * prior (initialVelocity) to follow: one update from that prior keeps only part of the motion.
 */
export function kalmanInitiateFromTwo(
  first: ArrayLike<number>,
  second: ArrayLike<number>,
  dt: number,
  mean: Float64Array,
  cov: Float64Array,
  noise: KalmanNoise = DEFAULT_KALMAN_NOISE,
): void {
  kalmanInitiate(second, mean, cov, noise);
  const rStd = noise.measurementPosition * second[3]!;
  const r = rStd * rStd;
  for (let k = 0; k < 2; k++) {
    mean[k + 4] = (second[k]! - first[k]!) / dt;
    cov[3 * k] = r;
    cov[3 * k + 1] = r / dt;
    cov[3 * k + 2] = (2 * r) / (dt * dt);
  }
}

/** Advances the state by dt seconds (dt >= 0). */
export function kalmanPredict(mean: Float64Array, cov: Float64Array, dt: number, noise: KalmanNoise = DEFAULT_KALMAN_NOISE): void {
  if (dt <= 0) return;
  const h = mean[3]!;
  const dt2 = dt * dt;
  for (let k = 0; k < 4; k++) {
    mean[k]! += mean[k + 4]! * dt;
    const sp = k === 2 ? noise.processAspect : noise.processPosition * h;
    const sv = k === 2 ? noise.processAspectVelocity : noise.processVelocity * h;
    const qp = sp * sp;
    const qv = sv * sv;
    const c = 3 * k;
    const pp = cov[c]!, pv = cov[c + 1]!, vv = cov[c + 2]!;
    cov[c] = pp + 2 * dt * pv + dt2 * vv + qp * dt + (qv * dt2 * dt) / 3;
    cov[c + 1] = pv + dt * vv + (qv * dt2) / 2;
    cov[c + 2] = vv + qv * dt;
  }
}

/** Corrects the state with measurement z = [cx, cy, a, h]. */
export function kalmanUpdate(
  mean: Float64Array,
  cov: Float64Array,
  z: ArrayLike<number>,
  noise: KalmanNoise = DEFAULT_KALMAN_NOISE,
): void {
  // Measurement noise uses the predicted height (as ByteTrack's projection does).
  const rStd = noise.measurementPosition * mean[3]!;
  for (let k = 0; k < 4; k++) {
    const r = k === 2 ? noise.measurementAspect * noise.measurementAspect : rStd * rStd;
    const c = 3 * k;
    const pp = cov[c]!, pv = cov[c + 1]!, vv = cov[c + 2]!;
    const s = pp + r;
    const gainPos = pp / s;
    const gainVel = pv / s;
    const innovation = z[k]! - mean[k]!;
    mean[k]! += gainPos * innovation;
    mean[k + 4]! += gainVel * innovation;
    cov[c] = pp - gainPos * pp;
    cov[c + 1] = pv - gainPos * pv;
    cov[c + 2] = vv - gainVel * pv;
  }
}

/** Writes the measurement [cx, cy, a, h] of box [x1, y1, x2, y2] into `out`. */
export function boxToXyah(x1: number, y1: number, x2: number, y2: number, out: Float64Array): Float64Array {
  const h = y2 - y1;
  out[0] = (x1 + x2) / 2;
  out[1] = (y1 + y2) / 2;
  out[2] = h > 0 ? (x2 - x1) / h : 0;
  out[3] = h;
  return out;
}

/** Writes the box [x1, y1, x2, y2] of the state's position part into `out` at `offset`. */
export function xyahToBox(mean: ArrayLike<number>, out: Float64Array | number[], offset = 0): void {
  const h = mean[3]!;
  const w = mean[2]! * h;
  out[offset] = mean[0]! - w / 2;
  out[offset + 1] = mean[1]! - h / 2;
  out[offset + 2] = mean[0]! + w / 2;
  out[offset + 3] = mean[1]! + h / 2;
}
