/**
 * The motion stage (before inference): measures each frame's motion (src/motion) and decides
 * whether the detector runs on it. On a frame it skips, `result.inferred` is false and the
 * detections are the previous frame's, carried forward unchanged; the inference stage then does
 * nothing and the tracker leaves its tracks as they are (docs/motion.md).
 *
 * The motion estimate is taken for every frame as it enters, in order. A frame with motion runs at
 * once; any other waits until every earlier frame left the chain, so that the gate has seen their
 * results (tracked objects, the last detector run) and what is carried forward is final.
 *
 * The stage lives in the stream's stage memory: a chain rebuilt for new settings (PUT
 * /api/streams/:id/motion) reconfigures it, so the background, the gate's view of the tracked
 * objects and the frames it has not seen yet go on. Turned off, it is forgotten; turned on again,
 * it starts afresh (its first frame is a `start`).
 */
import type { MotionConfig } from '../config/schema.js';
import { reduceFrame, type MotionImage } from '../motion/image.js';
import { MotionEstimator, type MotionEstimate } from '../motion/estimate.js';
import { MotionGate } from '../motion/gate.js';
import type { FrameResult } from '../types.js';
import type { FrameStage, StageFactory, StageItem } from './stage.js';

const MEMORY_KEY = 'motion';

class MotionStage implements FrameStage {
  readonly name = 'motion';
  private readonly estimator: MotionEstimator;
  private readonly gate: MotionGate;
  private image: MotionImage | undefined;
  /** Results of the frames that entered since the last flush and that the gate has not seen yet, in order. */
  private readonly unseen: FrameResult[] = [];
  /** The last result that left the chain: what a skipped frame carries forward. */
  private last: FrameResult | undefined;

  constructor(config: MotionConfig, lostSeconds: number) {
    this.estimator = new MotionEstimator(config);
    this.gate = new MotionGate({ keyframeSeconds: config.keyframeSeconds, lostSeconds });
  }

  /** New settings from the next frame on; the background and what the gate knows are kept. */
  configure(config: MotionConfig, lostSeconds: number): void {
    this.estimator.configure(config);
    this.gate.configure({ keyframeSeconds: config.keyframeSeconds, lostSeconds });
  }

  process({ frame, result, previousDone }: StageItem): void | Promise<void> {
    this.image = reduceFrame(frame.rgb, frame.letterbox, this.image);
    const estimate = this.estimator.estimate(this.image, frame.pts);
    this.unseen.push(result);
    const seen = previousDone.then(() => this.seeUpTo(result));
    const now = MotionGate.immediate(estimate.kind);
    if (now) {
      result.motion = { changed: estimate.changed, regions: estimate.regions, reason: now.reason };
      return;
    }
    return seen.then(() => this.decide(result, estimate));
  }

  flush(): void {
    this.estimator.reset();
    this.gate.reset();
    this.unseen.length = 0;
    this.last = undefined;
  }

  private decide(result: FrameResult, estimate: MotionEstimate): void {
    const decision = this.gate.decide(estimate.kind, result.pts);
    result.motion = { changed: estimate.changed, regions: estimate.regions, reason: decision.reason };
    if (decision.run) return;
    result.inferred = false;
    result.detections = this.last ? [...this.last.detections] : [];
  }

  /** Every frame before `result` has left the chain: the gate takes their results, in order. */
  private seeUpTo(result: FrameResult): void {
    const upTo = this.unseen.indexOf(result);
    // Not there: a flush came after this frame and forgot it.
    if (upTo < 0) return;
    for (const earlier of this.unseen.splice(0, upTo)) {
      // A frame that failed has no result to learn from.
      if (earlier.timing.doneTs === undefined) continue;
      this.gate.observe(earlier);
      this.last = earlier;
    }
  }
}

export const motionStage: StageFactory = ({ settings, memory }) => {
  const config = settings.motion;
  const lostSeconds = settings.tracker.lostTrackSeconds;
  if (!config?.enabled) {
    memory?.delete(MEMORY_KEY);
    return undefined;
  }
  let stage = memory?.get(MEMORY_KEY) as MotionStage | undefined;
  if (stage) stage.configure(config, lostSeconds);
  else {
    stage = new MotionStage(config, lostSeconds);
    memory?.set(MEMORY_KEY, stage);
  }
  return stage;
};

/**
 * Whether the source must also hand over each frame at its own size (the decoder's second output):
 * motion regions cut their windows from it (docs/motion.md). Chosen when the source opens.
 */
export function needsSourceFrames(motion: MotionConfig | undefined): boolean {
  return motion?.enabled === true && motion.regions === true;
}
