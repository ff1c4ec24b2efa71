/**
 * The motion stage in the registered chain (motion -> inference -> tracking) over a fake model:
 * which frames reach the model, what skipped frames carry forward, the tracker kept alive over long
 * skips, the same decisions whatever the number of frames in flight, and a flush starting over.
 */
import { createImage, fillRect } from '../src/output/render/image.js';
import { describe, expect, it } from 'vitest';
import { buildStageChain } from '../src/pipeline/stages.js';
import { DEFAULT_TRACKER, type MotionConfig } from '../src/config/schema.js';
import type { Box, Frame, FrameResult } from '../src/types.js';
import type { BatchItem, BatchResult } from '../src/infer/backend.js';
import { nowMs } from '../src/clock.js';
import { computeLetterbox } from '../src/ingest/letterbox.js';
import { FakeBackend, fakeFrame, memoryLogger } from './helpers/fakes.js';

const ctx = { streamId: 's', log: memoryLogger() };
const MOTION: MotionConfig = { enabled: true, threshold: 20, minArea: 0.0002, keyframeSeconds: 1, backgroundSeconds: 1, regions: false, mask: [], coordinates: 'pixels' };

/**
 * A 64x48 frame (fakes' letterbox, 10 fps by seq) of flat grey with a red square where given.
 * The fake model reports one box per frame, whose place follows the first byte: kept at 0 here,
 * so the model sees one object standing still.
 */
function frame(seq: number, square?: Box): Frame {
  const rgb = new Uint8Array(64 * 64 * 3).fill(100);
  if (square) {
    for (let y = square[1]; y < square[3]; y++) for (let x = square[0]; x < square[2]; x++) rgb.set([220, 40, 40], (y * 64 + x) * 3);
  }
  rgb[0] = 0;
  return { ...fakeFrame(seq), rgb };
}

function chainWith(motion: Partial<MotionConfig> = {}, model = new FakeBackend()) {
  return { model, chain: buildStageChain({ ...ctx, settings: { conf: 0.25, classes: [], tracker: DEFAULT_TRACKER, motion: { ...MOTION, ...motion } }, model }) };
}

async function oneByOne(frames: Frame[], motion: Partial<MotionConfig> = {}): Promise<{ results: FrameResult[]; model: FakeBackend }> {
  const { chain, model } = chainWith(motion);
  const results: FrameResult[] = [];
  for (const f of frames) results.push(await chain.process(f));
  return { results, model };
}

/** The fake model, except that it finds nothing while `gone`. */
class VanishingBackend extends FakeBackend {
  gone = false;

  override submit(item: BatchItem): Promise<BatchResult> {
    if (!this.gone) return super.submit(item);
    this.submitted.push(item);
    const t = nowMs();
    return Promise.resolve({ detections: [], timing: { queuedTs: t, inferStartTs: t, inferEndTs: t, batchSize: 1, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 } });
  }
}

const ran = (results: FrameResult[]): number[] => results.flatMap((r, i) => (r.inferred === false ? [] : [i]));
const seqs = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('motion stage', () => {
  it('comes before inference when enabled, and not at all otherwise', () => {
    expect(chainWith().chain.names).toEqual(['motion', 'infer', 'track']);
    expect(chainWith({ enabled: false }).chain.names).toEqual(['infer', 'track']);
    expect(buildStageChain({ ...ctx, settings: { conf: 0.25, classes: [], tracker: DEFAULT_TRACKER }, model: new FakeBackend() }).names).toEqual(['infer', 'track']);
  });

  it('skips still frames and carries the last detections forward, tracked, marked not inferred', async () => {
    const { results, model } = await oneByOne(seqs(30).map((s) => frame(s)));
    // Frame 0 starts; the new object counts as moving for 1 s (frames 0-9 at 10 fps); then keyframes every 1 s.
    expect(ran(results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 19, 29]);
    expect(model.submitted).toHaveLength(12);
    expect(results[0].motion?.reason).toBe('start');
    expect(results[5].motion?.reason).toBe('moving');
    expect(results[19].motion?.reason).toBe('keyframe');
    const id = results[9].detections[0].trackId;
    expect(id).toBeDefined();
    for (const i of [10, 15, 18]) {
      expect(results[i].inferred).toBe(false);
      expect(results[i].motion).toMatchObject({ reason: 'still', changed: 0 });
      expect(results[i].detections).toEqual(results[9].detections);
      // No inference timing on a frame the model did not see.
      expect(results[i].timing.inferStartTs).toBeUndefined();
    }
    expect(Object.keys(results[10].timing.stages)).toEqual(['motion', 'infer', 'track']);
  });

  it('runs on every frame with motion and reports its region in source pixels', async () => {
    const { results } = await oneByOne([frame(0), ...seqs(5, 1).map((s) => frame(s, [20 + 2 * s, 20, 28 + 2 * s, 28])), frame(6, [30, 20, 38, 28])], { keyframeSeconds: 100 });
    expect(results.slice(1, 6).map((r) => r.motion?.reason)).toEqual(Array(5).fill('motion'));
    const [x1, y1, x2, y2] = results[3].motion!.regions[0];
    // The square is at x 26..34, y 20..28 in this frame; the region holds it and one pixel around.
    expect(x1).toBeLessThanOrEqual(25);
    expect(x2).toBe(35);
    expect([y1, y2]).toEqual([19, 29]);
    expect(results[3].motion!.changed).toBeGreaterThan(0);
  });

  it('keeps the tracker alive over skips longer than its lostTrackSeconds: the same id afterwards', async () => {
    // 5 s without a detector run (keyframes every 5 s), against tracks lost after 2 s.
    const { results } = await oneByOne(seqs(62).map((s) => frame(s)), { keyframeSeconds: 5 });
    expect(ran(results)).toEqual([...seqs(10), 59]);
    expect(DEFAULT_TRACKER.lostTrackSeconds).toBeLessThan(5);
    expect(results[59].detections[0].trackId).toBe(results[0].detections[0].trackId);
    expect(results[61].detections[0].trackId).toBe(results[0].detections[0].trackId);
  });

  it('stops carrying an object the detector no longer finds, and looks for it for lostTrackSeconds', async () => {
    const model = new VanishingBackend();
    const { chain } = chainWith({ keyframeSeconds: 1 }, model);
    const results: FrameResult[] = [];
    for (let s = 0; s < 40; s++) {
      model.gone = s >= 15;
      results.push(await chain.process(frame(s)));
    }
    // Frames 10-18 carry frame 9's object; the keyframe at 19 finds nothing.
    expect(results[18].detections).toHaveLength(1);
    expect(results[19].detections).toEqual([]);
    // It was last seen inside the frame at t 0.9: looked for until 0.9 + 2 s, then rest.
    expect(results.slice(20, 30).map((r) => r.motion?.reason)).toEqual(Array(10).fill('lost'));
    expect(results[30]).toMatchObject({ inferred: false, detections: [], motion: { reason: 'still' } });
  });

  it('decides the same whatever the number of frames in flight', async () => {
    const square = (s: number): Box | undefined => (s >= 12 && s < 20 ? [10 + 3 * (s - 12), 30, 18 + 3 * (s - 12), 38] : s >= 20 && s < 40 ? [31, 30, 39, 38] : undefined);
    const frames = (): Frame[] => seqs(60).map((s) => frame(s, square(s)));
    const one = (await oneByOne(frames())).results;
    const { chain, model } = chainWith();
    const all = await Promise.all(frames().map((f) => chain.process(f)));
    const view = (r: FrameResult) => ({ inferred: r.inferred, reason: r.motion?.reason, detections: r.detections });
    expect(all.map(view)).toEqual(one.map(view));
    expect(model.submitted.length).toBe(ran(one).length);
    expect(ran(one).length).toBeLessThan(60);
  });

  it('starts over after a flush: the next frame runs', async () => {
    const { chain } = chainWith({ keyframeSeconds: 100 });
    const before: FrameResult[] = [];
    for (let s = 0; s < 15; s++) before.push(await chain.process(frame(s)));
    expect(before[14].inferred).toBe(false);
    chain.flush({ streamId: 's', reason: 'reconnect' });
    const after = await chain.process(frame(15));
    expect(after.inferred).not.toBe(false);
    expect(after.motion?.reason).toBe('start');
  });
});

describe('motion settings changed on a running stream (a chain rebuilt over the same stage memory)', () => {
  const memory = new Map<string, unknown>();
  const model = new FakeBackend();
  const chainOf = (motion: Partial<MotionConfig>) =>
    buildStageChain({ ...ctx, memory, settings: { conf: 0.25, classes: [], tracker: DEFAULT_TRACKER, motion: { ...MOTION, ...motion } }, model });
  const run = async (chain: ReturnType<typeof chainOf>, from: number, n: number, square?: Box): Promise<FrameResult[]> => {
    const out: FrameResult[] = [];
    for (const s of seqs(n, from)) out.push(await chain.process(frame(s, square)));
    return out;
  };

  it('keeps the background and what the gate knows, and takes the new keyframeSeconds and mask from the next frame', async () => {
    const first = await run(chainOf({}), 0, 30);
    expect(ran(first)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 19, 29]);
    // Shorter keyframes: no fresh start, the last run (frame 29) counts, then every 0.5 s.
    const faster = await run(chainOf({ keyframeSeconds: 0.5 }), 30, 20);
    expect(faster.map((r) => r.motion?.reason).filter((r) => r === 'start' || r === 'moving')).toEqual([]);
    expect(ran(faster).map((i) => 30 + i)).toEqual([34, 39, 44, 49]);
    // The whole frame masked: a square appearing is no motion (and nothing changed of the rest).
    const masked = await run(chainOf({ keyframeSeconds: 0.5, coordinates: 'normalized', mask: [[[0, 0], [1, 0], [1, 1], [0, 1]]] }), 50, 3, [20, 20, 40, 40]);
    expect(masked.map((r) => r.motion)).toEqual(masked.map(() => ({ changed: 0, regions: [], reason: 'still' })));
  });

  it('off: every frame runs, unmeasured; on again: gating starts afresh with a start', async () => {
    const off = await run(chainOf({ enabled: false }), 60, 5);
    expect(off.every((r) => r.inferred !== false && r.motion === undefined)).toBe(true);
    expect(memory.has('motion')).toBe(false);
    const on = await run(chainOf({}), 65, 3);
    expect(on[0]!.motion?.reason).toBe('start');
    expect(on[0]!.inferred).not.toBe(false);
  });
});

/**
 * A 256x192 source (letterboxed to the fake model's 64x64 at a quarter) of flat grey with a red
 * square where given (source pixels), in both the model input and the source frame.
 */
function sourceFrame(seq: number, square?: Box): Frame {
  const lb = computeLetterbox(256, 192, 64, 64);
  const rgb = new Uint8Array(64 * 64 * 3).fill(100);
  const src = createImage(256, 192, [100, 100, 100]);
  if (square) {
    fillRect(src, square[0], square[1], square[2], square[3], [220, 40, 40]);
    for (let y = square[1] / 4; y < square[3] / 4; y++) for (let x = square[0] / 4; x < square[2] / 4; x++) rgb.set([220, 40, 40], ((y + lb.padY) * 64 + x + lb.padX) * 3);
  }
  rgb[0] = 0;
  return { ...fakeFrame(seq, { lb }), rgb, source: { width: 256, height: 192, yuv: src.data, matrix: src.matrix } };
}

describe('motion regions', () => {
  // 24 px, dilated by a motion pixel (4 source px) each side, plus the window's margin: within 64 px.
  const square: Box = [128, 88, 152, 112];

  it('sends a window of the source around the motion beside the frame, and merges what it finds in source pixels', async () => {
    const { chain, model } = chainWith({ regions: true, keyframeSeconds: 0 });
    await chain.process(sourceFrame(0));
    const moved = await chain.process(sourceFrame(1, square));
    const windows = model.submitted.filter((i) => i.window !== undefined);
    // The first frame has no background yet, so no motion regions; the second has one.
    expect(windows).toHaveLength(1);
    // The frame's stream's, as its first window (the batcher serves it in the stream's turns).
    expect(windows[0]).toMatchObject({ streamId: 's', window: 0 });
    // At one source pixel per model pixel: a 64 x 64 window, red where the square is.
    expect(windows[0]!.letterbox).toMatchObject({ srcWidth: 64, srcHeight: 64, scale: 1, padX: 0, padY: 0 });
    const px = windows[0]!.rgb;
    let red = 0;
    // (Through YUV and back: within a step or two of the square's colour.)
    for (let i = 0; i < px.length; i += 3) if (Math.abs(px[i]! - 220) <= 2 && Math.abs(px[i + 1]! - 40) <= 2 && Math.abs(px[i + 2]! - 40) <= 2) red++;
    expect(red).toBe(24 * 24);
    // The fake model's box for the frame (20 x 20 at 10, 10) and for the window, moved into the source near the square.
    expect(moved.detections).toHaveLength(2);
    const fromWindow = moved.detections.find((d) => d.box[0] > 60)!;
    expect(fromWindow.box[2] - fromWindow.box[0]).toBeCloseTo(20, 5);
    const cx = (fromWindow.box[0] + fromWindow.box[2]) / 2;
    const cy = (fromWindow.box[1] + fromWindow.box[3]) / 2;
    expect(Math.abs(cx - 140)).toBeLessThan(40);
    expect(Math.abs(cy - 100)).toBeLessThan(40);
  });

  it('sends no window without regions, without a source frame, or where the frame is not sharper than a window', async () => {
    for (const [motion, make] of [
      [{ regions: false }, sourceFrame],
      [{ regions: true }, (seq: number, sq?: Box) => ({ ...sourceFrame(seq, sq), source: undefined })],
      [{ regions: true }, (seq: number, sq?: Box) => frame(seq, sq && [sq[0] / 4, sq[1] / 4, sq[2] / 4, sq[3] / 4])],
    ] as const) {
      const { chain, model } = chainWith({ ...motion, keyframeSeconds: 0 });
      await chain.process(make(0));
      const moved = await chain.process(make(1, square));
      expect(moved.motion?.reason).toBe('motion');
      expect(model.submitted.map((i) => i.streamId)).toEqual(['s', 's']);
    }
  });
});
