/**
 * The analytics stage (after tracking): zones and lines turn tracked detections into events and
 * counts (src/analytics, docs/analytics.md). Its engine lives in the stream's stage memory, so a
 * chain rebuilt for new settings (PUT /api/streams/:id/analytics) keeps the counts and every
 * track's state toward the lines and zones that did not change.
 */
import { AnalyticsEngine } from '../analytics/engine.js';
import type { AnalyticsSettings } from '../config/schema.js';
import type { AnalyticsCounts } from '../types.js';
import type { FrameStage, StageFactory, StageItem } from './stage.js';

const MEMORY_KEY = 'analytics';

class AnalyticsStage implements FrameStage {
  readonly name = 'analytics';

  constructor(private readonly engine: AnalyticsEngine) {}

  process({ result }: StageItem): void {
    const events = this.engine.process(result);
    if (events.length > 0) result.events = events;
    if (this.engine.takeCountsChanged()) result.counts = this.engine.snapshotCounts();
  }

  flush(): void {
    this.engine.flush();
  }
}

function hasRules(a: AnalyticsSettings | undefined): a is AnalyticsSettings {
  return a !== undefined && a.zones.length + a.lines.length > 0;
}

export const analyticsStage: StageFactory = ({ settings, memory, live, log, streamId }) => {
  const config = settings.analytics;
  if (!hasRules(config)) {
    memory?.delete(MEMORY_KEY);
    return undefined;
  }
  if (!settings.tracker.enabled) {
    log.warn({ stream: streamId }, 'analytics needs the tracker: zones and lines are ignored while it is off');
    return undefined;
  }
  let engine = memory?.get(MEMORY_KEY) as AnalyticsEngine | undefined;
  if (engine) engine.configure(config, settings.tracker.lostTrackSeconds);
  else {
    engine = new AnalyticsEngine(config, { lostSeconds: settings.tracker.lostTrackSeconds, wallClock: live ?? false });
    memory?.set(MEMORY_KEY, engine);
  }
  return new AnalyticsStage(engine);
};

/** The stream's counts now, from its stage memory; undefined without analytics. */
export function analyticsCounts(memory: Map<string, unknown>): AnalyticsCounts | undefined {
  return (memory.get(MEMORY_KEY) as AnalyticsEngine | undefined)?.snapshotCounts();
}

/** Sets the stream's line counts to 0 (docs/analytics.md); false without analytics. */
export function resetAnalyticsCounts(memory: Map<string, unknown>): boolean {
  const engine = memory.get(MEMORY_KEY) as AnalyticsEngine | undefined;
  engine?.resetCounts();
  return engine !== undefined;
}
