/**
 * The stream runner over fake sources and a fake model backend (no ffmpeg, no ONNX Runtime):
 * reconnect and its backoff, stall detection, permanent failures, drop accounting under each drop
 * policy, and a clean stop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseStream, type StreamSettings } from '../src/config.js';
import { DecodeError } from '../src/ingest/decoder.js';
import type { HlsPlaylist } from '../src/ingest/hls.js';
import { SourceError } from '../src/ingest/probe.js';
import { StreamRunner } from '../src/pipeline/streamRunner.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import type { FrameResult, StreamState } from '../src/types.js';
import { FakeBackend, letterbox, memoryLogger, ScriptedSources, until, type Attempt } from './helpers/fakes.js';

const ctx = { baseDir: '/media', mediaFolders: ['/media'], modelPaths: ['/models/fake.onnx'], tracker: DEFAULT_TRACKER };

/** A stream's settings; without motion gating, which needs pixels (the fake frames have none; test/pipeline-motion.test.ts has it). */
function settings(fields: Record<string, unknown>, overrides: Partial<StreamSettings> = {}): StreamSettings {
  return { ...parseStream({ id: 'cam', url: 'rtsp://camera.local/live', motion: { enabled: false }, ...fields }, ctx), ...overrides };
}

const fastReconnect = { initialMs: 10, maxMs: 1000, factor: 2, jitter: 0 };

interface Run {
  runner: StreamRunner;
  sources: ScriptedSources;
  model: FakeBackend;
  results: FrameResult[];
  states: StreamState[];
  log: ReturnType<typeof memoryLogger>;
}

let running: Run[] = [];
afterEach(async () => {
  // stop() waits for frames in the model: closing the model answers them (as the hub does after removal).
  await Promise.all(running.map(async ({ runner, model }) => Promise.all([runner.stop(), model.close()])));
  running = [];
});

function start(s: StreamSettings, attempts: Attempt[], model = new FakeBackend()): Run {
  const sources = new ScriptedSources(attempts);
  const log = memoryLogger();
  const results: FrameResult[] = [];
  const runner = new StreamRunner(s, { log, sources, onResult: (r) => results.push(r) });
  const states: StreamState[] = [];
  runner.state$.subscribe((st) => states.push(st));
  runner.start(model);
  const run = { runner, sources, model, results, states, log };
  running.push(run);
  return run;
}

const reconnectDelays = (run: Run): number[] => run.log.entries.filter((e) => e.msg === 'stream reconnecting').map((e) => e.delayMs as number);

describe('StreamRunner with a fake source', () => {
  it('reconnects a live source that fails, keeps seq continuous across sources and counts the reconnect', async () => {
    const run = start(settings({ reconnect: fastReconnect }), [
      { frames: 3, then: { fail: new Error('connection reset by peer') } },
      { frames: 3, then: 'hang' },
    ]);
    await until(() => run.results.length === 6, 5000, 'six results');
    expect(run.results.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(run.sources.requests.map((r) => r.startSeq)).toEqual([0, 3]);
    expect(run.states).toEqual(['connecting', 'streaming', 'reconnecting', 'streaming']);
    const stats = run.runner.stats();
    expect(stats).toMatchObject({ reconnects: 1, framesDecoded: 6, framesInferred: 6, framesSent: 6, state: 'streaming' });
    expect(stats.lastError).toBeUndefined();
    expect(run.sources.stops).toBe(1);
    expect(run.results.every((r) => r.timing.sendTs! >= r.timing.doneTs!)).toBe(true);
    expect(Object.keys(stats.stages)).toEqual(['infer', 'track']);
  });

  it('restarts a source that stalls (no frame within stallTimeoutSeconds) and stops the stalled one', async () => {
    const run = start(settings({ reconnect: fastReconnect }, { stallTimeoutSeconds: 0.05 }), [{ frames: 2, then: 'hang' }]);
    await until(() => run.sources.requests.length >= 2, 5000, 'a second attempt');
    expect(run.sources.stops).toBeGreaterThanOrEqual(1);
    const warn = run.log.entries.find((e) => e.msg === 'stream reconnecting')!;
    expect((warn.err as Error).name).toBe('StallError');
    expect(run.states).toContain('stalled');
    expect((warn.err as Error).message).toBe('no frame for 0.05 s (the source sent nothing): reopening it');
    expect(run.runner.reconnects).toBeGreaterThanOrEqual(1);
    await run.runner.stop();
    expect(run.sources.running).toBe(0);
  });

  it('backs off exponentially while attempts fail and starts over once a frame went through', async () => {
    const refused: Attempt = { open: 'fail', error: new Error('connection refused') };
    const run = start(settings({ reconnect: fastReconnect }), [refused, refused, refused, { frames: 2, then: { fail: new Error('reset') } }, refused, refused]);
    await until(() => reconnectDelays(run).length >= 6, 5000, 'six reconnects');
    expect(reconnectDelays(run).slice(0, 6)).toEqual([10, 20, 40, 10, 20, 40]);
    expect(run.runner.state).toBe('reconnecting');
    expect(run.runner.lastError).toBe('connection refused');
  });

  it('fails a file that is not a video at once, but keeps retrying a camera', async () => {
    const notVideo: Attempt = { open: 'fail', error: new SourceError('NOT_VIDEO', 'not a video: /media/x.mp4 (ffprobe: Invalid data found when processing input)') };
    const file = start(settings({ url: 'x.mp4', reconnect: fastReconnect }), [notVideo]);
    await until(() => file.runner.state === 'failed', 5000, 'failed');
    expect(file.sources.requests).toHaveLength(1);
    expect(file.runner.lastError).toMatch(/not a video/);
    const camera = start(settings({ reconnect: fastReconnect }), [notVideo]);
    await until(() => camera.sources.requests.length >= 3, 5000, 'retries');
    expect(camera.runner.state).toBe('reconnecting');
  });

  it.each([
    ['missing', new SourceError('ENOENT', 'input not found: /media/x.mp4')],
    ['unreadable', new SourceError('UNREADABLE', 'cannot read /media/x.mp4: EACCES: permission denied')],
    ['empty', new SourceError('EMPTY', 'empty file: /media/x.mp4')],
  ])('retries a file that is %s with backoff, the reason visible, until it is back (issue 20 item 3)', async (_name, error) => {
    const gone: Attempt = { open: 'fail', error };
    const run = start(settings({ url: 'x.mp4', loop: true, reconnect: fastReconnect }), [gone, gone, gone, { frames: 3, then: 'hang' }]);
    await until(() => run.runner.state === 'reconnecting', 5000, 'reconnecting');
    expect(run.runner.lastError).toBe(error.message);
    await until(() => run.results.length === 3, 5000, 'frames once the file is back');
    expect(run.runner.state).toBe('streaming');
    expect(reconnectDelays(run)).toEqual([10, 20, 40]);
    expect(run.runner.lastError).toBeUndefined();
  });

  it('starts the next attempt only once the failed one\'s source has stopped (a frozen ffmpeg is gone before its replacement)', async () => {
    const sources = new ScriptedSources([{ frames: 2, then: 'hang' }], { stopMs: () => 150 });
    const log = memoryLogger();
    const runner = new StreamRunner({ ...settings({ reconnect: fastReconnect }), stallTimeoutSeconds: 0.05 }, { log, sources, onResult: () => undefined });
    const model = new FakeBackend();
    runner.start(model);
    running.push({ runner, sources, model, results: [], states: [], log });
    await until(() => sources.requests.length >= 3, 10_000, 'three attempts');
    // Each stop takes 150 ms, far longer than the 10-40 ms backoff: never two sources at once.
    expect(sources.maxRunning).toBe(1);
  });

  it('fails permanently when the model fails', async () => {
    const model = new FakeBackend();
    model.failWith = new Error('session exploded');
    const run = start(settings({ reconnect: fastReconnect }), [{ frames: 5, then: 'hang' }], model);
    await until(() => run.runner.state === 'failed', 5000, 'failed');
    expect(run.runner.lastError).toMatch(/inference failed: session exploded/);
    expect(run.sources.requests).toHaveLength(1);
    await until(() => run.sources.running === 0, 5000, 'source stopped');
  });

  it("opens with the model's input size (a live source then opens once, by its decoder)", async () => {
    const run = start(settings({}), [{ frames: 1, then: 'hang' }]);
    await until(() => run.results.length === 1, 5000, 'a result');
    expect(run.sources.requests[0].output).toEqual({ width: run.model.info.inputWidth, height: run.model.info.inputHeight });
  });

  it('a finite network source (a file over HTTP, an HLS recording) ends; its info says so, not its URL', async () => {
    const run = start(settings({ url: 'http://server.local/clip.mp4', reconnect: fastReconnect }), [{ frames: 3, then: 'end', info: { isFile: true, type: 'http-file' } }]);
    await until(() => run.runner.state === 'ended', 5000, 'ended');
    expect(run.results).toHaveLength(3);
    expect(run.runner.reconnects).toBe(0);
    expect(run.runner.stats().source).toMatchObject({ type: 'http-file', width: 64, height: 48 });
  });

  it('refused credentials: state unauthorized, retried at the slowest pace from the first retry', async () => {
    const refused: Attempt = { open: 'fail', error: new SourceError('UNAUTHORIZED', 'rtsp://cam:***@camera.local/live: the server refused the credentials') };
    const run = start(settings({ reconnect: { initialMs: 10, maxMs: 80, factor: 2, jitter: 0 } }), [refused]);
    await until(() => reconnectDelays(run).length >= 2, 5000, 'two retries');
    expect(reconnectDelays(run).slice(0, 2)).toEqual([80, 80]);
    expect(run.runner.state).toBe('unauthorized');
    expect(run.runner.lastError).toMatch(/refused the credentials/);
  });

  it('a source that went silent (STALLED) is stalled; a live HLS playlist seen is handed back on the next open', async () => {
    const playlist: HlsPlaylist = { variants: [], ended: false, mediaSequence: 41, targetDuration: 2, segments: ['a.ts', 'b.ts'], duration: 4 };
    const silent = new DecodeError('http://h/live.m3u8: the HLS playlist stopped advancing (no new segment for 6 s; ...)', undefined, [], 'STALLED');
    const frozen: Attempt = { open: 'fail', error: new SourceError('STALLED', 'http://h/live.m3u8: the HLS playlist has not moved on (...)') };
    const run = start(settings({ url: 'http://h/live.m3u8', reconnect: fastReconnect }), [{ frames: 2, then: { fail: silent }, playlist, decodeErrors: 3 }, frozen, frozen]);
    await until(() => run.sources.requests.length >= 3, 5000, 'two more opens');
    expect(run.states).toEqual(['connecting', 'streaming', 'stalled']);
    expect(run.sources.requests[0].previousPlaylist).toBeUndefined();
    expect(run.sources.requests[1].previousPlaylist).toBe(playlist);
    expect(run.sources.requests[2].previousPlaylist).toBe(playlist);
    expect(run.runner.lastError).toMatch(/has not moved on/);
    expect(run.runner.stats().decodeErrors).toBe(3);
  });

  it('ends a file that is not looped; reconnects a live source that ends', async () => {
    const file = start(settings({ url: 'clip.mp4', dropPolicy: 'all', reconnect: fastReconnect }), [{ frames: 4, then: 'end' }]);
    await until(() => file.runner.state === 'ended', 5000, 'ended');
    expect(file.results).toHaveLength(4);
    const live = start(settings({ reconnect: fastReconnect }), [{ frames: 2, then: 'end' }]);
    await until(() => live.runner.reconnects >= 1, 5000, 'reconnect');
    expect(live.log.entries.find((e) => e.msg === 'stream reconnecting')!.err).toMatchObject({ message: 'live source ended the stream' });
    // A looped file never ends by itself: it was emptied or cut short, and is opened again.
    const looped = start(settings({ url: 'clip.mp4', loop: true, reconnect: fastReconnect }), [{ frames: 2, then: 'end' }]);
    await until(() => looped.runner.reconnects >= 1, 5000, 'reconnect');
    expect(looped.runner.lastError).toBe('looped file ended (emptied or cut short while playing)');
  });

  it('a live HLS broadcast whose playlist got its end marker ends; one without it reconnects', async () => {
    const playlist = (ended: boolean): HlsPlaylist => ({ variants: [], ended, mediaSequence: 7, targetDuration: 1, segments: ['a.ts'], duration: 1 });
    const over = start(settings({ url: 'http://h/live.m3u8', dropPolicy: 'all', reconnect: fastReconnect }), [{ frames: 3, then: 'end', playlist: playlist(true) }]);
    await until(() => over.runner.state === 'ended', 5000, 'ended');
    expect(over.results).toHaveLength(3);
    expect(over.runner.reconnects).toBe(0);
    expect(over.sources.requests).toHaveLength(1);
    const gone = start(settings({ url: 'http://h/live.m3u8', reconnect: fastReconnect }), [{ frames: 3, then: 'end', playlist: playlist(false) }]);
    await until(() => gone.runner.reconnects >= 1, 5000, 'reconnect');
    expect(gone.runner.lastError).toBe('live source ended the stream');
  });

  it('latest: counts every frame overwritten while the model was busy as a policy drop', async () => {
    const model = new FakeBackend(false);
    const run = start(settings({ dropPolicy: 'latest' }), [{ frames: 10, then: 'hang' }], model);
    await until(() => run.runner.counters.framesDecoded === 10 && model.pending.length === 1, 5000, 'all decoded, one in the model');
    const c = run.runner.counters;
    while (c.framesInferred + c.drops.policy < 10) {
      model.complete();
      await until(() => model.pending.length > 0 || c.framesInferred + c.drops.policy === 10, 5000, 'next frame');
    }
    expect(c.drops.policy).toBeGreaterThanOrEqual(8);
    expect(c.framesInferred + c.drops.policy).toBe(10);
    expect(c.framesSent).toBe(c.framesInferred);
    expect(run.results.at(-1)!.seq).toBe(9);
  });

  it('all: never drops, the source is only read when the chain takes a frame', async () => {
    const model = new FakeBackend(false);
    const run = start(settings({ url: 'clip.mp4', dropPolicy: 'all', realtime: false }), [{ frames: 10, then: 'end' }], model);
    await until(() => model.pending.length === 1, 5000, 'one frame in the model');
    expect(run.runner.counters.framesDecoded).toBe(1);
    while (run.runner.state !== 'ended') {
      model.complete();
      await until(() => model.pending.length > 0 || run.runner.state === 'ended', 5000, 'next frame');
    }
    expect(run.results.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(run.runner.counters.drops).toEqual({ policy: 0, staleness: 0, client: 0 });
  });

  it('maxStalenessMs: counts frames that waited too long as staleness drops', async () => {
    const model = new FakeBackend(false);
    const run = start(settings({ dropPolicy: 'queue:5', maxStalenessMs: 30 }), [{ frames: 6, then: 'hang' }], model);
    await until(() => run.runner.counters.framesDecoded === 6 && model.pending.length === 1, 5000, 'queue full');
    await new Promise((r) => setTimeout(r, 60)); // the five waiting frames are now older than 30 ms
    model.complete();
    await until(() => run.runner.counters.drops.staleness === 5, 5000, 'five stale frames');
    expect(run.runner.counters.framesInferred).toBe(1);
    expect(run.runner.counters.drops.policy).toBe(0);
  });

  it('stop() waits for the frame in the model and stops the source', async () => {
    const model = new FakeBackend(false);
    const run = start(settings({}), [{ frames: 3, then: 'hang' }], model);
    await until(() => model.pending.length === 1, 5000, 'a frame in the model');
    let stopped = false;
    const stopping = run.runner.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    model.complete();
    await stopping;
    expect(run.sources.running).toBe(0);
    expect(run.runner.state).toBe('stopped');
  });

  it('applies stage settings without a new source, and refuses source settings', async () => {
    const model = new FakeBackend(false);
    const run = start(settings({ conf: 0.25, dropPolicy: 'all' }), [{ frames: 1000, then: 'hang' }], model);
    await until(() => model.pending.length === 1, 5000, 'frame 0 in the model');
    model.complete();
    await until(() => model.pending.length === 1, 5000, 'frame 1 in the model');
    expect(run.runner.reconfigure({ ...run.runner.settings, conf: 0.6 })).toBe(true);
    model.complete(); // frame 1 finishes in the chain it started in
    await until(() => model.pending.length === 1, 5000, 'frame 2 in the model');
    expect(model.submitted.map((i) => i.conf)).toEqual([0.25, 0.25, 0.6]);
    model.complete();
    await until(() => run.results.length === 3, 5000, 'three results');
    expect(run.results.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(run.sources.requests).toHaveLength(1);
    expect(run.runner.reconfigure({ ...run.runner.settings, url: 'rtsp://other.local/live' })).toBe(false);
    expect(run.runner.settings.url).toBe('rtsp://camera.local/live');
  });

  it('opens every source with the source-size output chosen at start, through settings changes and reconnects', async () => {
    const withRegions = settings({ reconnect: fastReconnect, motion: { enabled: true, regions: true } });
    const run = start(withRegions, [{ open: 'fail', error: new Error('connection refused') }]);
    await until(() => run.sources.requests.length >= 1, 5000, 'a first attempt');
    expect(run.runner.reconfigure({ ...withRegions, motion: { ...withRegions.motion, regions: false } })).toBe(true);
    await until(() => run.sources.requests.length >= 3, 5000, 'two more attempts');
    expect(run.sources.requests.map((r) => r.source)).toEqual(run.sources.requests.map(() => true));
    expect(run.runner.stats().sourceFrames).toBe(true);
    expect(start(settings({}), [{ frames: 0, then: 'hang' }]).runner.stats().sourceFrames).toBe(false);
  });

  it('a resolution change at the first frame after new settings still flushes: tracks start afresh', async () => {
    const model = new FakeBackend(false);
    // Frames 0-2 at 64x48, then 640x360.
    const run = start(settings({ conf: 0.25, dropPolicy: 'all' }), [{ frames: 1000, then: 'hang', lb: (i) => (i < 3 ? letterbox(64, 48) : letterbox(640, 360)) }], model);
    for (let seq = 0; seq < 2; seq++) {
      await until(() => model.pending.length === 1, 5000, `frame ${seq} in the model`);
      model.complete();
    }
    await until(() => model.pending.length === 1, 5000, 'frame 2 in the model');
    // New settings while the last frame of the old size is in flight: the next frame, the first of
    // the new size, is the first of the rebuilt chain.
    expect(run.runner.reconfigure({ ...run.runner.settings, conf: 0.6 })).toBe(true);
    model.complete();
    for (let seq = 3; seq < 5; seq++) {
      await until(() => model.pending.length === 1, 5000, `frame ${seq} in the model`);
      model.complete();
    }
    await until(() => run.results.length === 5, 5000, 'five results');
    expect(model.submitted.slice(0, 5).map((i) => i.conf)).toEqual([0.25, 0.25, 0.25, 0.6, 0.6]);
    expect(run.log.entries).toContainEqual(expect.objectContaining({ msg: 'source resolution changed; letterboxing the new size', from: '64x48', to: '640x360' }));
    const before = run.results[2].detections[0].trackId;
    const after = run.results[4].detections[0].trackId;
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });
});
