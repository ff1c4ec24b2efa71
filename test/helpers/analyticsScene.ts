/** The analytics scene's events in a comparable form: the expected list and what a run produced. */
import { ANALYTICS_SCENE_EXPECTED } from '../../src/tools/synth/analyticsScene.js';
import type { AnalyticsEvent } from '../../src/types.js';

/** `type name direction|- label frame dwell|-`, frames at 15 fps. */
export function expectedSceneEvents(fps = 15): string[] {
  return ANALYTICS_SCENE_EXPECTED.map((e) => `${e.type} ${e.line ?? e.zone} ${e.direction ?? '-'} ${e.label} ${Math.round(e.t * fps)} ${e.dwell ?? '-'}`);
}

export function describeEvents(events: AnalyticsEvent[]): string[] {
  return events.map((e) =>
    e.type === 'line_cross'
      ? `${e.type} ${e.line} ${e.direction} ${e.label} ${e.frame} -`
      : `${e.type} ${e.zone} - ${e.label} ${e.frame} ${e.dwell ?? '-'}`,
  );
}
