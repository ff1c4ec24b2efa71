/** FrameResults carrying analytics events and counts, as the analytics stage leaves them. */
import { randomUUID } from 'node:crypto';
import type { AnalyticsCounts, AnalyticsEvent, FrameResult } from '../../src/types.js';

let frame = 0;

export function lineCross(stream: string, overrides: Partial<AnalyticsEvent> = {}): AnalyticsEvent {
  const f = frame++;
  return {
    id: randomUUID(),
    type: 'line_cross',
    stream,
    line: 'door',
    direction: 'in',
    track_id: 7,
    class: 0,
    label: 'person',
    score: 0.9,
    box: [10, 20, 50, 120],
    frame: f,
    pts: f / 25,
    time: new Date().toISOString(),
    ...overrides,
  } as AnalyticsEvent;
}

export function resultWith(stream: string, events: AnalyticsEvent[], counts?: AnalyticsCounts, jpeg?: Uint8Array): FrameResult {
  const f = events[0]?.frame ?? frame++;
  return {
    streamId: stream,
    seq: f,
    index: f,
    pts: f / 25,
    width: 640,
    height: 480,
    detections: [],
    timing: { captureTs: Date.now(), stages: {} },
    ...(events.length ? { events } : {}),
    ...(counts ? { counts } : {}),
    ...(jpeg ? { jpeg } : {}),
  };
}
