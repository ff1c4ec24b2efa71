/**
 * THE registration point of frame stages: one line per stage, in flow order. A factory returns
 * undefined when the stream's settings do not enable its stage. The live runner and `analyze`
 * both build their chain here; nothing else wires stages by hand.
 */
import { analyticsStage } from './analytics.js';
import { inferenceStage } from './inference.js';
import { motionStage } from './motion.js';
import { composeStages, type StageChain, type StageContext, type StageFactory } from './stage.js';
import { trackingStage } from './tracking.js';

export const STAGES: readonly StageFactory[] = [motionStage, inferenceStage, trackingStage, analyticsStage];

/** The chain of the stages `ctx.settings` enable. */
export function buildStageChain(ctx: StageContext, factories: readonly StageFactory[] = STAGES): StageChain {
  const stages = factories.flatMap((make) => make(ctx) ?? []);
  return composeStages(stages, ctx);
}
