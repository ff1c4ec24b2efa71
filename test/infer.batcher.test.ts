import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACTIVE_WINDOW_MS, Batcher, BatcherDropError, type BatchRunner } from '../src/infer/batcher.js';
import type { DetectFrame, DetectOptions, FrameDetections } from '../src/infer/detector.js';
import type { Letterbox } from '../src/types.js';
import { until } from './helpers/until.js';

const lb: Letterbox = { srcWidth: 4, srcHeight: 4, dstWidth: 4, dstHeight: 4, scale: 1, resizedWidth: 4, resizedHeight: 4, padX: 0, padY: 0 };

/**
 * A runner that records each run and completes it when the test says so. Each frame's first byte
 * is echoed back as the detection's class, so results can be matched to their frames.
 */
class FakeRunner implements BatchRunner {
  runs: Array<{ tags: number[]; opts: DetectOptions; done: (err?: Error) => void }> = [];
  constructor(readonly info: { maxBatch: number; batch: number | 'dynamic' }) {}
  detect(frames: DetectFrame[], opts: DetectOptions): Promise<FrameDetections[]> {
    return new Promise((resolve, reject) => {
      const tags = frames.map((f) => f.rgb[0]);
      this.runs.push({
        tags,
        opts,
        done: (err) =>
          err
            ? reject(err)
            : resolve(tags.map((t) => ({ detections: [{ box: [0, 0, 1, 1], score: 1, class: t, label: String(t) }], preprocessMs: 0, inferenceMs: 1, postprocessMs: 0, batchSize: tags.length }))),
      });
    });
  }
}

const frame = (streamId: string, tag: number) => ({ streamId, rgb: Uint8Array.of(tag), letterbox: lb, conf: 0.25 });
/** Submits without awaiting; a rejection at close() is expected and ignored. */
const fire = (b: Batcher, f: ReturnType<typeof frame>): void => void b.submit(f).catch(() => undefined);
/** Lets pending immediates run (the batcher starts a batch nobody else joins on setImmediate), then waits `ms`. */
const tick = async (ms = 0): Promise<void> => {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, ms));
};

/**
 * A fake clock for the tests about waiting: timers, immediates and performance.now() move only when
 * the test advances them, so "waits exactly maxWaitMs" holds on any machine, however loaded.
 */
function fakeClock(): { advance(ms: number): Promise<void> } {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
  return { advance: async (ms) => void (await vi.advanceTimersByTimeAsync(ms)) };
}

let batchers: Batcher[] = [];
afterEach(() => {
  batchers.forEach((b) => b.close());
  batchers = [];
  vi.useRealTimers();
});
function make(runner: BatchRunner, opts: ConstructorParameters<typeof Batcher>[1]): Batcher {
  const b = new Batcher(runner, opts);
  batchers.push(b);
  return b;
}

describe('Batcher', () => {
  it('runs a full batch at once, one frame per stream, and returns each result to its caller', async () => {
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 3, maxWaitMs: 1000 });
    const a1 = b.submit(frame('a', 1));
    const a2 = b.submit(frame('a', 2));
    const b1 = b.submit(frame('b', 11));
    await tick();
    expect(r.runs).toHaveLength(1); // 3 queued = maxBatch: no waiting for the timer
    expect(r.runs[0].tags).toEqual([1, 11, 2]); // round-robin a, b, then a again (only 2 streams waiting)
    r.runs[0].done();
    expect((await a1).detections[0].class).toBe(1);
    expect((await a2).detections[0].class).toBe(2);
    const rb = await b1;
    expect(rb.detections[0].class).toBe(11);
    expect(rb.timing.batchSize).toBe(3);
    expect(rb.timing.inferEndTs).toBeGreaterThanOrEqual(rb.timing.inferStartTs);
    expect(rb.timing.inferStartTs).toBeGreaterThanOrEqual(rb.timing.queuedTs);
  });

  it('runs a partial batch after maxWaitMs while another active stream may still send, and forms the next batch while one runs', async () => {
    const clock = fakeClock();
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 4, maxWaitMs: 30 });
    // Stream 'b' alone: nobody else is active, so its frame runs at once.
    const warm = b.submit(frame('b', 9));
    await clock.advance(0);
    expect(r.runs).toHaveLength(1);
    r.runs[0].done();
    await warm;
    // Now 'b' is active and has nothing waiting: a frame of 'a' waits exactly maxWaitMs for it.
    const p = b.submit(frame('a', 1));
    await clock.advance(29);
    expect(r.runs).toHaveLength(1);
    await clock.advance(1);
    expect(r.runs).toHaveLength(2);
    // While run 2 is in progress, four frames arrive: they wait however long it takes, then go as one batch.
    for (const [s, t] of [['a', 2], ['b', 3], ['c', 4], ['d', 5]] as const) fire(b, frame(s, t));
    await clock.advance(1000);
    expect(r.runs).toHaveLength(2);
    r.runs[1].done();
    await p;
    await clock.advance(0);
    expect(r.runs).toHaveLength(3);
    expect(r.runs[2].tags.sort()).toEqual([2, 3, 4, 5]);
    r.runs[2].done();
  });

  it('never waits when every active stream already has a frame in the batch (a single camera, one-shot requests)', async () => {
    const clock = fakeClock();
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 4, maxWaitMs: 1000 });
    // The clock does not move: each run starts without any timer firing.
    for (let i = 0; i < 3; i++) {
      const p = b.submit(frame('cam', i));
      await clock.advance(0);
      expect(r.runs).toHaveLength(i + 1);
      r.runs[i].done();
      await p;
    }
    // Two cameras, both with a frame waiting: one batch at once.
    fire(b, frame('cam', 10));
    fire(b, frame('cam2', 20));
    await clock.advance(0);
    expect(r.runs.map((x) => x.tags.length)).toEqual([1, 1, 1, 2]);
    expect(r.runs[3].tags.sort((x, y) => x - y)).toEqual([10, 20]);
    r.runs[3].done();
    await clock.advance(0);
    // A request waits (up to maxWaitMs) for the active cameras, which have nothing waiting...
    const req = b.submit({ ...frame('@http#1', 30), oneShot: true });
    await clock.advance(999);
    expect(r.runs).toHaveLength(4);
    fire(b, frame('cam', 11));
    fire(b, frame('cam2', 21));
    await clock.advance(0);
    expect(r.runs).toHaveLength(5);
    expect(r.runs[4].tags.sort((x, y) => x - y)).toEqual([11, 21, 30]);
    r.runs[4].done();
    await req;
    // ...but nothing waits for a one-shot source afterwards: a camera frame alone runs at once.
    fire(b, frame('cam', 12));
    fire(b, frame('cam2', 22));
    await clock.advance(0);
    expect(r.runs).toHaveLength(6);
    expect(r.runs[5].tags.sort((x, y) => x - y)).toEqual([12, 22]);
    r.runs[5].done();
  });

  it('a request alone runs after maxWaitMs, and streams idle for longer than the active window are not waited for', async () => {
    const clock = fakeClock();
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 4, maxWaitMs: 50 });
    const cam = b.submit(frame('cam', 1));
    await clock.advance(0);
    r.runs[0].done();
    await cam;
    // The camera was active just now: the request waits the full 50 ms for it.
    const req = b.submit({ ...frame('@http#1', 2), oneShot: true });
    await clock.advance(49);
    expect(r.runs).toHaveLength(1);
    await clock.advance(1);
    expect(r.runs).toHaveLength(2);
    r.runs[1].done();
    await req;
    // ACTIVE_WINDOW_MS later the camera no longer counts as active: the next request runs at once.
    await clock.advance(ACTIVE_WINDOW_MS + 1);
    const late = b.submit({ ...frame('@http#2', 3), oneShot: true });
    await clock.advance(0);
    expect(r.runs).toHaveLength(3);
    r.runs[2].done();
    await late;
  });

  it('is fair: a busy stream does not crowd out the others', async () => {
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 2, maxWaitMs: 1, maxQueuePerStream: 100 });
    const busy = Array.from({ length: 6 }, (_, i) => b.submit(frame('busy', i)));
    const quiet = [b.submit(frame('q1', 100)), b.submit(frame('q2', 200))];
    await tick(5);
    // The first batch formed from 'busy' alone (2 frames = maxBatch) before the others arrived.
    expect(r.runs[0].tags).toEqual([0, 1]);
    r.runs[0].done();
    await tick();
    // 'busy' was served last: the quiet streams go first, though 'busy' has 4 frames waiting.
    expect(r.runs[1].tags).toEqual([100, 200]);
    r.runs[1].done();
    await Promise.all(quiet);
    for (const expected of [[2, 3], [4, 5]]) {
      await tick();
      expect(r.runs.at(-1)!.tags).toEqual(expected);
      r.runs.at(-1)!.done();
    }
    await Promise.all(busy);
  });

  it("serves a frame's motion windows in its stream's turns, after the other streams' frames", async () => {
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 4, maxWaitMs: 20, maxQueuePerStream: 1 });
    // While a batch of both cameras runs, camera 'a' sends a frame and 4 windows, 'b' a frame.
    // Cap 1 per queue: no window pushes the frame or another window out.
    fire(b, frame('a', 0));
    fire(b, frame('b', 9));
    await tick();
    expect(r.runs[0].tags).toEqual([0, 9]);
    const a = [b.submit(frame('a', 1)), ...[0, 1, 2, 3].map((w) => b.submit({ ...frame('a', 10 + w), window: w }))];
    const other = b.submit(frame('b', 2));
    r.runs[0].done();
    await tick();
    // 'b' is not kept waiting behind 'a''s windows: one item per stream per pass.
    expect(r.runs[1].tags).toEqual([1, 2, 10, 11]);
    r.runs[1].done();
    await other;
    // The rest of 'a''s windows, once no frame of 'b' came within maxWaitMs.
    await until(() => r.runs.length === 3);
    expect(r.runs[2].tags).toEqual([12, 13]);
    r.runs[2].done();
    expect((await Promise.all(a)).map((x) => x.detections[0].class)).toEqual([1, 10, 11, 12, 13]);
    expect(b.metrics().drops['queue-full']).toBe(0);
  });

  it('does not wait for window slots a frame did not use, as it waits for active streams', async () => {
    const clock = fakeClock();
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 8, maxWaitMs: 50 });
    const first = [b.submit(frame('a', 1)), ...[0, 1].map((w) => b.submit({ ...frame('a', 10 + w), window: w }))];
    await clock.advance(0);
    expect(r.runs[0].tags).toEqual([1, 10, 11]);
    r.runs[0].done();
    await Promise.all(first);
    // The next frame has no windows: it runs at once (a lone camera never waits).
    const next = b.submit(frame('a', 2));
    await clock.advance(0);
    expect(r.runs).toHaveLength(2);
    r.runs[1].done();
    await next;
  });

  it('bounds each stream queue: drop-oldest rejects the oldest with a counted reason', async () => {
    const r = new FakeRunner({ maxBatch: 1, batch: 1 });
    const b = make(r, { maxWaitMs: 0, maxQueuePerStream: 2 });
    const first = b.submit(frame('a', 1)); // runs at once
    await tick();
    const queued = [b.submit(frame('a', 2)), b.submit(frame('a', 3))];
    const newest = b.submit(frame('a', 4)); // cap 2 exceeded: frame 2 is dropped
    await expect(queued[0]).rejects.toMatchObject({ name: 'BatcherDropError', reason: 'queue-full' });
    expect(b.metrics().drops['queue-full']).toBe(1);
    expect(b.metrics().queued).toBe(2);
    for (let i = 0; i < 3; i++) {
      r.runs[i].done();
      await tick();
    }
    expect(r.runs.map((x) => x.tags)).toEqual([[1], [3], [4]]);
    await Promise.all([first, queued[1], newest]);
  });

  it('bounds each stream queue: reject refuses the new frame', async () => {
    const r = new FakeRunner({ maxBatch: 1, batch: 1 });
    const b = make(r, { maxWaitMs: 0, maxQueuePerStream: 1, overflow: 'reject' });
    fire(b, frame('a', 1));
    await tick();
    const kept = b.submit(frame('a', 2));
    await expect(b.submit(frame('a', 3))).rejects.toBeInstanceOf(BatcherDropError);
    expect(b.metrics().drops.rejected).toBe(1);
    r.runs[0].done();
    await tick();
    r.runs[1].done();
    expect((await kept).detections[0].class).toBe(2);
  });

  it('caps batches at the model batch size and pads dynamic batches to the configured sizes', async () => {
    const fixed = new FakeRunner({ maxBatch: 1, batch: 1 });
    const bf = make(fixed, { maxBatch: 8, maxWaitMs: 0, padSizes: [1, 2, 4] });
    fire(bf, frame('a', 1));
    fire(bf, frame('b', 2));
    await tick();
    expect(fixed.runs[0].tags).toEqual([1]);
    expect(fixed.runs[0].opts.padTo).toBeUndefined(); // fixed-shape models pad in the worker

    const dyn = new FakeRunner({ maxBatch: 16, batch: 'dynamic' });
    const bd = make(dyn, { maxBatch: 8, maxWaitMs: 5, padSizes: [4, 1, 2] });
    const ps = ['a', 'b', 'c'].map((s, i) => bd.submit(frame(s, i)));
    while (dyn.runs.length === 0) await tick(2);
    expect(dyn.runs[0].tags).toHaveLength(3);
    expect(dyn.runs[0].opts.padTo).toBe(4);
    dyn.runs[0].done();
    await Promise.all(ps);
    const m = bd.metrics();
    expect(m).toMatchObject({ batches: 1, frames: 3, meanBatchSize: 3, batchSizeHistogram: { 3: 1 }, paddedFrames: 1 });
    expect(m.queueWaitMs.max).toBeGreaterThanOrEqual(m.queueWaitMs.mean);
  });

  it('a failed run rejects only its frames; later batches run', async () => {
    const r = new FakeRunner({ maxBatch: 1, batch: 1 });
    const b = make(r, { maxWaitMs: 0 });
    const bad = b.submit(frame('a', 1));
    const good = b.submit(frame('b', 2));
    await tick();
    r.runs[0].done(new Error('boom'));
    await expect(bad).rejects.toThrow('boom');
    await tick();
    r.runs[1].done();
    expect((await good).detections[0].class).toBe(2);
    expect(b.metrics().failedBatches).toBe(1);
  });

  it('runsInFlight 2 hands the next full batch to the runner while one runs, and no third', async () => {
    const r = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const b = make(r, { maxBatch: 2, maxWaitMs: 1000, maxQueuePerStream: 8, runsInFlight: 2 });
    const first = [1, 2].map((t) => b.submit(frame('a', t)));
    const second = [3, 4].map((t) => b.submit(frame('a', t)));
    const third = [5, 6].map((t) => b.submit(frame('a', t)));
    await tick();
    expect(r.runs.map((run) => run.tags)).toEqual([[1, 2], [3, 4]]);
    r.runs[0].done();
    await Promise.all(first);
    await tick();
    expect(r.runs.map((run) => run.tags)).toEqual([[1, 2], [3, 4], [5, 6]]);
    r.runs[1].done();
    r.runs[2].done();
    expect((await Promise.all([...second, ...third])).map((x) => x.detections[0].class)).toEqual([3, 4, 5, 6]);
    // The default keeps one run at a time.
    const one = new FakeRunner({ maxBatch: 8, batch: 'dynamic' });
    const c = make(one, { maxBatch: 2, maxWaitMs: 1000, maxQueuePerStream: 8 });
    for (const t of [1, 2, 3, 4]) fire(c, frame('a', t));
    await tick();
    expect(one.runs).toHaveLength(1);
  });

  it('close() rejects waiting frames', async () => {
    const r = new FakeRunner({ maxBatch: 1, batch: 1 });
    const b = make(r, { maxWaitMs: 0 });
    fire(b, frame('a', 1));
    const waiting = b.submit(frame('a', 2));
    b.close();
    await expect(waiting).rejects.toMatchObject({ reason: 'closed' });
    await expect(b.submit(frame('a', 3))).rejects.toMatchObject({ reason: 'closed' });
  });
});
