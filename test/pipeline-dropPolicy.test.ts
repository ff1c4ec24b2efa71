import { describe, expect, it } from 'vitest';
import { DropOldestQueue, LatestFrameMailbox, linkFrames, type LinkDropReason } from '../src/pipeline/dropPolicy.js';
import { backoffDelay } from '../src/pipeline/backoff.js';
import { LatencyWindow, RateWindow } from '../src/pipeline/stats.js';
import type { Frame } from '../src/types.js';

function frame(seq: number, captureTs = Date.now()): Frame {
  const letterbox = { srcWidth: 4, srcHeight: 4, dstWidth: 4, dstHeight: 4, scale: 1, resizedWidth: 4, resizedHeight: 4, padX: 0, padY: 0 };
  return { streamId: 's', seq, index: seq, pts: seq / 30, captureTs, letterbox, rgb: new Uint8Array(48) };
}

/** A source that yields `n` frames as fast as it is pulled, counting pulls. */
function source(n: number, stats = { pulled: 0 }, fail?: Error): AsyncIterator<Frame> {
  return (async function* () {
    for (let i = 0; i < n; i++) {
      stats.pulled++;
      yield frame(i);
    }
    if (fail) throw fail;
  })();
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** A source the test feeds frame by frame; next() waits until the test pushes, ends or fails it. */
function pushSource(): { frames: AsyncIterator<Frame>; push(f: Frame): void; end(): void; fail(err: unknown): void; pulls: number } {
  const queued: Array<IteratorResult<Frame> | { error: unknown }> = [];
  let waiting: ((r: IteratorResult<Frame> | { error: unknown }) => void) | undefined;
  const deliver = (r: IteratorResult<Frame> | { error: unknown }): void => {
    const w = waiting;
    waiting = undefined;
    if (w) w(r);
    else queued.push(r);
  };
  const src = {
    pulls: 0,
    frames: {
      next: async (): Promise<IteratorResult<Frame>> => {
        src.pulls++;
        const r = queued.shift() ?? (await new Promise<IteratorResult<Frame> | { error: unknown }>((resolve) => (waiting = resolve)));
        if ('error' in r) throw r.error;
        return r;
      },
    },
    push: (f: Frame) => deliver({ done: false, value: f }),
    end: () => deliver({ done: true, value: undefined }),
    fail: (error: unknown) => deliver({ error }),
  };
  return src;
}

describe('drop-oldest buffers', () => {
  it('queue keeps the newest N and returns what it evicts', () => {
    const q = new DropOldestQueue<number>(2);
    expect(q.put(1)).toBeUndefined();
    expect(q.put(2)).toBeUndefined();
    expect(q.put(3)).toBe(1);
    expect(q.size).toBe(2);
    expect([q.shift(), q.shift(), q.shift()]).toEqual([2, 3, undefined]);
    expect(q.size).toBe(0);
  });

  it('LatestFrameMailbox holds one frame', () => {
    const m = new LatestFrameMailbox();
    expect(m.put(frame(0))).toBeUndefined();
    expect(m.put(frame(1))?.seq).toBe(0);
    expect(m.shift()?.seq).toBe(1);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new DropOldestQueue(0)).toThrow(new RangeError('capacity must be >= 1, got 0'));
    expect(() => new DropOldestQueue(Number.NaN)).toThrow('capacity must be >= 1, got NaN');
    expect(new DropOldestQueue(1).capacity).toBe(1);
  });
});

describe('linkFrames', () => {
  it('latest: a slow consumer gets the newest frame, every overwritten one counted as a policy drop', async () => {
    const drops: [LinkDropReason, number][] = [];
    const link = linkFrames({ kind: 'latest' }, source(10), { maxStalenessMs: 0, onDrop: (r, f) => drops.push([r, f.seq]) });
    await settle();
    expect((await link.take())?.seq).toBe(9);
    expect(await link.take()).toBeNull();
    expect(drops).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((s) => ['policy', s]));
  });

  it('queue:N: keeps the newest N in order', async () => {
    let dropped = 0;
    const link = linkFrames({ kind: 'queue', size: 3 }, source(10), { maxStalenessMs: 0, onDrop: () => dropped++ });
    await settle();
    const got = [(await link.take())?.seq, (await link.take())?.seq, (await link.take())?.seq, await link.take()];
    expect(got).toEqual([7, 8, 9, null]);
    expect(dropped).toBe(7);
  });

  it('all: pulls only on demand and never drops', async () => {
    const stats = { pulled: 0 };
    let dropped = 0;
    const link = linkFrames({ kind: 'all' }, source(5, stats), { maxStalenessMs: 0, onDrop: () => dropped++ });
    await settle();
    expect(stats.pulled).toBe(0);
    const seqs: number[] = [];
    for (let f = await link.take(); f; f = await link.take()) seqs.push(f.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
    expect(stats.pulled).toBe(5);
    expect(dropped).toBe(0);
    expect(await link.take()).toBeNull();
  });

  for (const kind of ['latest', 'queue'] as const) {
    it(`${kind}: take() before the first frame waits for it, and for the end of the source`, async () => {
      const src = pushSource();
      const link = linkFrames(kind === 'latest' ? { kind } : { kind, size: 2 }, src.frames, { maxStalenessMs: 0, onDrop: () => {} });
      const first = link.take();
      await settle();
      src.push(frame(7));
      expect((await first)?.seq).toBe(7);
      const last = link.take();
      let settled = false;
      void last.then(() => (settled = true));
      await settle();
      expect(settled).toBe(false);
      src.end();
      expect(await last).toBeNull();
    });
  }

  it('a source that fails without an error object still fails the link, with a message', async () => {
    const src = pushSource();
    const link = linkFrames({ kind: 'latest' }, src.frames, { maxStalenessMs: 0, onDrop: () => {} });
    src.fail(undefined);
    await expect(link.take()).rejects.toThrow('frame source failed');
  });

  it('maxStalenessMs drops frames that waited too long', async () => {
    const drops: LinkDropReason[] = [];
    let now = Date.now();
    const link = linkFrames({ kind: 'queue', size: 4 }, source(2), { maxStalenessMs: 100, now: () => now, onDrop: (r) => drops.push(r) });
    await settle();
    now += 1000;
    expect(await link.take()).toBeNull();
    expect(drops).toEqual(['staleness', 'staleness']);
  });

  // Staleness is measured when inference could start: a frame that waited exactly maxStalenessMs
  // is still used, one more millisecond and it is dropped, whatever the policy.
  const T = 1_000_000;
  for (const policy of [{ kind: 'all' }, { kind: 'latest' }, { kind: 'queue', size: 4 }] as const) {
    it(`${policy.kind}: maxStalenessMs keeps a frame that waited exactly that long and drops one a millisecond older`, async () => {
      const src = pushSource();
      const drops: [LinkDropReason, number][] = [];
      const link = linkFrames(policy, src.frames, { maxStalenessMs: 100, now: () => T, onDrop: (r, f) => drops.push([r, f.seq]) });
      src.push(frame(0, T - 100));
      await settle();
      expect((await link.take())?.seq).toBe(0);
      src.push(frame(1, T - 101));
      await settle();
      const next = link.take();
      await settle();
      src.push(frame(2, T + 50));
      src.end();
      expect((await next)?.seq).toBe(2);
      expect(await link.take()).toBeNull();
      expect(drops).toEqual([['staleness', 1]]);
    });
  }

  it('maxStalenessMs 0 never drops for staleness, however old the frame', async () => {
    for (const policy of [{ kind: 'all' }, { kind: 'latest' }] as const) {
      const drops: LinkDropReason[] = [];
      const link = linkFrames(policy, source(1), { maxStalenessMs: 0, now: () => Date.now() + 3_600_000, onDrop: (r) => drops.push(r) });
      await settle();
      expect((await link.take())?.seq).toBe(0);
      expect(drops).toEqual([]);
    }
  });

  it('passes the source error on after the buffered frames', async () => {
    const link = linkFrames({ kind: 'queue', size: 4 }, source(1, undefined, new Error('decoder died')), { maxStalenessMs: 0, onDrop: () => {} });
    await settle();
    expect((await link.take())?.seq).toBe(0);
    await expect(link.take()).rejects.toThrow('decoder died');
  });
});

describe('backoff', () => {
  const b = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
  it('grows exponentially and is capped', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, b, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('takes off at most the jitter fraction', () => {
    expect(backoffDelay(3, b, () => 1)).toBe(200);
    expect(backoffDelay(10, b, () => 0.5)).toBe(750);
  });
});

describe('stats windows', () => {
  it('rate over the window', () => {
    const w = new RateWindow(1000);
    for (let t = 0; t <= 2000; t += 100) w.add(t);
    expect(w.rate(2000)).toBeCloseTo(10, 0);
  });
  it('nearest-rank percentiles', () => {
    const l = new LatencyWindow(100);
    for (let i = 1; i <= 100; i++) l.add(i);
    expect(l.summary()).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 });
  });
});
