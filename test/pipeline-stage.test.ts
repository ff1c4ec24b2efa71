/**
 * The stage chain without ffmpeg or a model: stage order, per-stage timing, frame order with
 * several frames in flight, discontinuities travelling with the frames, failures, and the
 * registered stages (inference + tracking) over a fake model backend.
 */
import { describe, expect, it } from 'vitest';
import { composeStages, type Discontinuity, type FrameStage, type StageItem } from '../src/pipeline/stage.js';
import { buildStageChain, STAGES } from '../src/pipeline/stages.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import type { FrameResult } from '../src/types.js';
import { FakeBackend, fakeFrame, letterbox, memoryLogger } from './helpers/fakes.js';

const ctx = { streamId: 's', log: memoryLogger() };

/** A stage that writes what it sees (frames by seq, flushes by reason) into `seen`. */
function recorder(name: string, seen: string[]): FrameStage {
  return {
    name,
    process: ({ frame }: StageItem) => void seen.push(`${name}:${frame.seq}`),
    flush: (d: Discontinuity) => void seen.push(`${name}:flush-${d.reason}`),
  };
}

/** An async stage whose frames finish when the test says, in any order. */
function gate(name: string, seen: string[]): FrameStage & { release(seq: number): void } {
  const waiting = new Map<number, () => void>();
  return {
    name,
    process: ({ frame }: StageItem) => {
      seen.push(`${name}:${frame.seq}`);
      return new Promise<void>((resolve) => waiting.set(frame.seq, resolve));
    },
    flush: (d: Discontinuity) => void seen.push(`${name}:flush-${d.reason}`),
    release(seq: number) {
      waiting.get(seq)!();
      waiting.delete(seq);
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('stage chain', () => {
  it('runs the stages in order and records each one\'s time under its name', async () => {
    const seen: string[] = [];
    const slow: FrameStage = { name: 'slow', process: () => new Promise((r) => setTimeout(r, 30)) };
    const chain = composeStages([recorder('a', seen), slow, recorder('b', seen)], ctx);
    expect(chain.names).toEqual(['a', 'slow', 'b']);
    const r = await chain.process(fakeFrame(7));
    expect(seen).toEqual(['a:7', 'b:7']);
    expect(Object.keys(r.timing.stages)).toEqual(['a', 'slow', 'b']);
    expect(r.timing.stages.slow).toBeGreaterThanOrEqual(25);
    expect(r.timing.stages.a).toBeGreaterThanOrEqual(0);
    expect(r.timing.doneTs).toBeGreaterThanOrEqual(r.timing.captureTs);
    expect(r).toMatchObject({ streamId: 's', seq: 7, index: 7, width: 64, height: 48, detections: [] });
  });

  it('keeps frame order per stage with several frames in flight, whatever order an async stage finishes in', async () => {
    const seen: string[] = [];
    const g = gate('infer', seen);
    const chain = composeStages([g, recorder('track', seen)], ctx);
    const done: number[] = [];
    const results = [0, 1, 2].map((seq) => chain.process(fakeFrame(seq)).then((r) => (done.push(r.seq), r)));
    // All three reach the async stage at once (that is what lets them share a batch).
    expect(seen).toEqual(['infer:0', 'infer:1', 'infer:2']);
    g.release(2);
    g.release(1);
    await tick();
    expect(seen).not.toContain('track:1');
    expect(seen).not.toContain('track:2');
    g.release(0);
    await Promise.all(results);
    expect(seen.filter((s) => s.startsWith('track'))).toEqual(['track:0', 'track:1', 'track:2']);
    expect(done).toEqual([0, 1, 2]);
  });

  it('carries a discontinuity through every stage between the frames it separates', async () => {
    const seen: string[] = [];
    const g = gate('infer', seen);
    const chain = composeStages([g, recorder('track', seen)], ctx);
    const first = [0, 1].map((seq) => chain.process(fakeFrame(seq)));
    chain.flush({ streamId: 's', reason: 'reconnect' });
    const last = chain.process(fakeFrame(2));
    g.release(0);
    g.release(1);
    g.release(2);
    await Promise.all([...first, last]);
    expect(seen.filter((s) => s.startsWith('track'))).toEqual(['track:0', 'track:1', 'track:flush-reconnect', 'track:2']);
    expect(seen.filter((s) => s.startsWith('infer'))).toEqual(['infer:0', 'infer:1', 'infer:flush-reconnect', 'infer:2']);
  });

  it('flushes synchronously when no frame is in flight', () => {
    const seen: string[] = [];
    const chain = composeStages([recorder('a', seen), recorder('b', seen)], ctx);
    chain.flush({ streamId: 's', reason: 'seek' });
    expect(seen).toEqual(['a:flush-seek', 'b:flush-seek']);
  });

  it('flushes on a new source resolution, before the first frame of it', async () => {
    const seen: string[] = [];
    const log = memoryLogger();
    const chain = composeStages([recorder('a', seen)], { streamId: 's', log });
    await chain.process(fakeFrame(0, { lb: letterbox(640, 480) }));
    await chain.process(fakeFrame(1, { lb: letterbox(640, 480) }));
    const r = await chain.process(fakeFrame(2, { lb: letterbox(640, 360) }));
    expect(seen).toEqual(['a:0', 'a:1', 'a:flush-resolution', 'a:2']);
    expect([r.width, r.height]).toEqual([640, 360]);
    expect(log.entries).toContainEqual(expect.objectContaining({ level: 'info', from: '640x480', to: '640x360' }));
  });

  it('remembers the last frame size in the stream\'s stage memory: a chain rebuilt for new settings flushes on a new size at its first frame, not on the same size', async () => {
    const seen: string[] = [];
    const memory = new Map<string, unknown>();
    await composeStages([recorder('a', seen)], { ...ctx, memory }).process(fakeFrame(0, { lb: letterbox(640, 480) }));
    await composeStages([recorder('b', seen)], { ...ctx, memory }).process(fakeFrame(1, { lb: letterbox(640, 480) }));
    await composeStages([recorder('c', seen)], { ...ctx, memory }).process(fakeFrame(2, { lb: letterbox(640, 360) }));
    expect(seen).toEqual(['a:0', 'b:1', 'c:flush-resolution', 'c:2']);
  });

  it('rejects a frame whose stage fails, keeps it from later stages, and lets the next frames through', async () => {
    const seen: string[] = [];
    const flaky: FrameStage = {
      name: 'flaky',
      process: async ({ frame }) => {
        if (frame.seq === 1) throw new Error('boom');
      },
    };
    const chain = composeStages([flaky, recorder('b', seen)], ctx);
    const results = await Promise.allSettled([0, 1, 2].map((seq) => chain.process(fakeFrame(seq))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('boom');
    expect(seen).toEqual(['b:0', 'b:2']);
  });

  it('lets a stage wait until every earlier frame left the chain (done or failed)', async () => {
    const seen: string[] = [];
    const g = gate('infer', seen);
    const left: number[] = [];
    const waiter: FrameStage = {
      name: 'feedback',
      process: ({ frame, previousDone }) => previousDone.then(() => void seen.push(`feedback:${frame.seq} after ${left.join(',')}`)),
    };
    const failing: FrameStage = {
      name: 'fail',
      process: ({ frame }) => {
        if (frame.seq === 1) throw new Error('boom');
      },
    };
    const chain = composeStages([waiter, g, failing], ctx);
    const runs = [0, 1, 2].map((seq) => chain.process(fakeFrame(seq)).then(() => void left.push(seq), () => void left.push(seq)));
    await tick();
    expect(seen).toEqual(['feedback:0 after ', 'infer:0']);
    g.release(0);
    await tick();
    expect(seen).toEqual(['feedback:0 after ', 'infer:0', 'feedback:1 after 0', 'infer:1']);
    g.release(1);
    await tick();
    // Frame 1 failed after the gate: it left the chain all the same.
    expect(seen.slice(-2)).toEqual(['feedback:2 after 0,1', 'infer:2']);
    g.release(2);
    await Promise.all(runs);
    expect(left).toEqual([0, 1, 2]);
  });

  it('refuses two stages of one name, and a name the latency terms use', () => {
    expect(() => composeStages([recorder('a', []), recorder('a', [])], ctx)).toThrow(/two stages are named "a"/);
    expect(() => composeStages([recorder('queue', [])], ctx)).toThrow(/latency term/);
  });

  it('closes every stage', async () => {
    const closed: string[] = [];
    const chain = composeStages(['a', 'b'].map((name) => ({ name, process: () => undefined, close: () => void closed.push(name) })), ctx);
    await chain.close();
    expect(closed).toEqual(['a', 'b']);
  });
});

describe('registered stages', () => {
  const settings = (tracker: Partial<typeof DEFAULT_TRACKER> = {}) => ({ conf: 0.3, classes: [0], tracker: { ...DEFAULT_TRACKER, ...tracker } });

  it('builds inference then tracking from a stream\'s settings; tracking only when enabled', () => {
    const model = new FakeBackend();
    expect(STAGES.length).toBeGreaterThanOrEqual(2);
    expect(buildStageChain({ ...ctx, settings: settings(), model }).names).toEqual(['infer', 'track']);
    expect(buildStageChain({ ...ctx, settings: settings({ enabled: false }), model }).names).toEqual(['infer']);
  });

  it('infers each frame through the backend with the stream\'s conf and classes, then tracks', async () => {
    const model = new FakeBackend();
    const chain = buildStageChain({ ...ctx, settings: settings(), model });
    const results: FrameResult[] = [];
    for (let seq = 0; seq < 4; seq++) results.push(await chain.process(fakeFrame(seq)));
    expect(model.submitted.map((i) => [i.streamId, i.conf, i.classes])).toEqual(Array(4).fill(['s', 0.3, [0]]));
    expect(results.every((r) => r.detections.length === 1 && r.timing.batchSize === 1 && r.timing.queuedTs !== undefined)).toBe(true);
    const ids = results.map((r) => r.detections[0].trackId);
    expect(ids[3]).toBeDefined();
    expect(new Set(ids.filter((id) => id !== undefined)).size).toBe(1);
    expect(Object.keys(results[3].timing.stages)).toEqual(['infer', 'track']);
  });

  it('skips the model for a frame an earlier stage marked not to infer', async () => {
    const model = new FakeBackend();
    const skip: FrameStage = { name: 'gate', process: ({ result }) => void (result.inferred = false) };
    const chain = composeStages([skip, ...STAGES.flatMap((f) => f({ ...ctx, settings: settings({ enabled: false }), model }) ?? [])], ctx);
    const r = await chain.process(fakeFrame(0));
    expect(model.submitted).toHaveLength(0);
    expect(r.inferred).toBe(false);
    expect(r.detections).toEqual([]);
  });

  it('keeps track ids over a reconnect when the settings say so, and starts new ones on any other discontinuity', async () => {
    const idsAround = async (keep: boolean, reason: Discontinuity['reason']): Promise<[number | undefined, number | undefined]> => {
      const chain = buildStageChain({ ...ctx, settings: settings({ keepTracksOnReconnect: keep }), model: new FakeBackend() });
      let before: number | undefined;
      for (let seq = 0; seq < 3; seq++) before = (await chain.process(fakeFrame(seq))).detections[0].trackId;
      chain.flush({ streamId: 's', reason });
      let after: number | undefined;
      for (let seq = 3; seq < 6; seq++) after = (await chain.process(fakeFrame(seq))).detections[0].trackId;
      return [before, after];
    };
    const [kept, same] = await idsAround(true, 'reconnect');
    expect(kept).toBeDefined();
    expect(same).toBe(kept);
    const [a, b] = await idsAround(false, 'reconnect');
    expect(b).toBeDefined();
    expect(b).not.toBe(a);
    const [c, d] = await idsAround(true, 'resolution');
    expect(d).toBeDefined();
    expect(d).not.toBe(c);
  });
});
