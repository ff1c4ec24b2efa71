/**
 * The analytics stage in the chain over a fake model backend: registered after tracking, built only
 * with zones or lines and the tracker on, and the stage memory that keeps the tracker and the
 * analytics (tracks, ids, counts) when a chain is rebuilt for new settings.
 */
import { describe, expect, it } from 'vitest';
import { analyticsCounts, resetAnalyticsCounts } from '../src/pipeline/analytics.js';
import { buildStageChain } from '../src/pipeline/stages.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import { parseAnalytics, type AnalyticsInput } from '../src/config.js';
import type { AnalyticsEvent, FrameResult } from '../src/types.js';
import { FakeBackend, fakeFrame, memoryLogger } from './helpers/fakes.js';

// The fake detector's box moves right 0.1 px per frame: bottom-center x = 20 + 0.1 seq.
// A vertical line at x = 21 drawn downwards has its "in" side on the left: moving right is "out".
const line: AnalyticsInput = { lines: [{ name: 'l', from: [21, 0], to: [21, 48], hysteresis: 0, minFrames: 1 }] };

function chain(analytics: AnalyticsInput | undefined, memory?: Map<string, unknown>, tracker = DEFAULT_TRACKER, conf = 0.3) {
  const log = memoryLogger();
  const settings = { conf, classes: [], tracker, ...(analytics ? { analytics: parseAnalytics(analytics) } : {}) };
  return { chain: buildStageChain({ streamId: 's', log, settings, model: new FakeBackend(), memory, live: false }), log };
}

async function run(c: ReturnType<typeof chain>['chain'], from: number, to: number): Promise<FrameResult[]> {
  const out: FrameResult[] = [];
  for (let seq = from; seq < to; seq++) out.push(await c.process(fakeFrame(seq)));
  return out;
}

describe('the analytics stage', () => {
  it('comes after tracking, only with zones or lines and the tracker on', () => {
    expect(chain(line).chain.names).toEqual(['infer', 'track', 'analytics']);
    expect(chain(undefined).chain.names).toEqual(['infer', 'track']);
    expect(chain({ zones: [], lines: [] }).chain.names).toEqual(['infer', 'track']);
    const off = chain(line, undefined, { ...DEFAULT_TRACKER, enabled: false });
    expect(off.chain.names).toEqual(['infer']);
    expect(off.log.entries.some((l) => /analytics needs the tracker/.test(String(l.msg)))).toBe(true);
  });

  it('puts the events and changed counts on the results', async () => {
    const results = await run(chain(line).chain, 0, 15);
    const withEvents = results.filter((r) => r.events);
    expect(withEvents.map((r) => r.seq)).toEqual([11]);
    const [e] = withEvents[0]!.events as AnalyticsEvent[];
    expect(e).toMatchObject({ type: 'line_cross', line: 'l', direction: 'out', stream: 's', label: 'thing', frame: 11 });
    expect(e!.time).toBeUndefined();
    // Counts on the first frame (the start) and on the frame they changed.
    expect(results.filter((r) => r.counts).map((r) => r.seq)).toEqual([0, 11]);
    expect(results[11]!.counts).toEqual({ lines: { l: { in: {}, out: { thing: 1 } } }, zones: {} });
    expect(Object.keys(results[11]!.timing.stages)).toEqual(['infer', 'track', 'analytics']);
  });

  it('keeps tracks, ids and counts in the stage memory when the chain is rebuilt for new settings', async () => {
    const memory = new Map<string, unknown>();
    const first = await run(chain(line, memory).chain, 0, 13); // crosses on frame 11
    const id = first.at(-1)!.detections[0]!.trackId;
    const tracker = memory.get('track');
    expect(id).toBeDefined();
    expect(analyticsCounts(memory)!.lines.l!.out).toEqual({ thing: 1 });
    // New settings (another conf, one more zone): a new chain over the same memory.
    const zone = { name: 'z', polygon: [[0, 0], [64, 0], [64, 48], [0, 48]] as Array<[number, number]> };
    const second = await run(chain({ ...line, zones: [zone] }, memory, DEFAULT_TRACKER, 0.31).chain, 13, 20);
    expect(memory.get('track')).toBe(tracker);
    expect(second.map((r) => r.detections[0]!.trackId)).toEqual(Array(7).fill(id));
    // The unchanged line kept its count and the track's side (no second crossing); the new zone starts from nothing.
    expect(second.flatMap((r) => r.events ?? []).map((e) => `${e.frame} ${e.type}`)).toEqual(['14 zone_enter']);
    expect(analyticsCounts(memory)).toEqual({ lines: { l: { in: {}, out: { thing: 1 } } }, zones: { z: { thing: 1 } } });
    expect(resetAnalyticsCounts(memory)).toBe(true);
    expect(analyticsCounts(memory)!.lines.l).toEqual({ in: {}, out: { thing: 0 } });
  });

  it('removes its state from the memory when the stream no longer has zones or lines', async () => {
    const memory = new Map<string, unknown>();
    await run(chain(line, memory).chain, 0, 2);
    expect(analyticsCounts(memory)).toBeDefined();
    chain({ zones: [], lines: [] }, memory);
    expect(analyticsCounts(memory)).toBeUndefined();
    expect(resetAnalyticsCounts(memory)).toBe(false);
  });
});
