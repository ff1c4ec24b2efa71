/**
 * The local StreamHub over fake sources and model backends: streams share one backend per model,
 * results and states leave through the hub, update() keeps the source when only stage settings
 * change, and removal releases the source and (with the last user) the model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { modelSettings, parseStream, type ModelSettings, type StreamSettings } from '../src/config.js';
import { DuplicateStreamError, UnknownStreamError, type StreamStateEvent } from '../src/pipeline/hub.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import type { FrameResult } from '../src/types.js';
import { FakeBackend, memoryLogger, ScriptedSources, until } from './helpers/fakes.js';

const ctx = { baseDir: '/media', mediaFolders: ['/media'], modelPaths: ['/models/a.onnx'], tracker: DEFAULT_TRACKER };
const stream = (id: string, fields: Record<string, unknown> = {}): StreamSettings => parseStream({ id, url: `rtsp://camera.local/${id}`, dropPolicy: 'all', ...fields }, ctx);

let hubs: { hub: StreamHub; opened: { backend: FakeBackend }[] }[] = [];
afterEach(async () => {
  // A removed stream waits for its frame in the model: closing the fake models answers them.
  for (const { hub, opened } of hubs) {
    const closing = hub.close();
    for (const o of opened) await o.backend.close();
    await closing;
  }
  hubs = [];
});

function makeHub() {
  const sources = new ScriptedSources([{ frames: 1_000_000, then: 'hang' }]);
  const opened: { settings: ModelSettings; backend: FakeBackend }[] = [];
  const hub = new StreamHub({
    modelSettings: (path) => modelSettings({ models: {} }, path),
    log: memoryLogger(),
    sources,
    backends: async (settings) => {
      // Frames wait for the test: nothing runs away in microtasks.
      const backend = new FakeBackend(false);
      opened.push({ settings, backend });
      return backend;
    },
  });
  hubs.push({ hub, opened });
  const results: FrameResult[] = [];
  const states: StreamStateEvent[] = [];
  hub.results$.subscribe((r) => results.push(r));
  hub.states$.subscribe((s) => states.push(s));
  return { hub, sources, opened, results, states };
}

describe('StreamHub with fakes', () => {
  it('shares one backend per model between streams, and releases it with its last stream', async () => {
    const { hub, sources, opened, results } = makeHub();
    await hub.add(stream('a'));
    await hub.add(stream('b'));
    await expect(hub.add(stream('a'))).rejects.toBeInstanceOf(DuplicateStreamError);
    expect(opened).toHaveLength(1);
    const model = opened[0].backend;
    await until(() => model.pending.length === 2, 5000, 'a frame of each stream');
    model.complete();
    await until(() => results.length === 2, 5000, 'two results');
    expect(results.map((r) => r.streamId).sort()).toEqual(['a', 'b']);
    expect(results.every((r) => r.timing.sendTs !== undefined)).toBe(true);
    expect(hub.list().map((s) => [s.id, s.state, s.provider])).toEqual([['a', 'streaming', 'fake'], ['b', 'streaming', 'fake']]);
    const info = await hub.modelInfo();
    expect(info).toHaveLength(1);
    expect(info[0]).toMatchObject({ path: '/models/a.onnx', streams: ['a', 'b'], maxQueuePerStream: 4, activeProvider: 'fake' });
    expect(await hub.detectBackend('/models/a.onnx')).toBe(model);
    expect(hub.modelStats(['/models/a.onnx', '/models/other.onnx']).map((m) => m.path)).toEqual(['/models/a.onnx']);

    const removing = hub.remove('a');
    model.complete(); // the frame 'a' has in the model finishes, then its source stops
    expect(await removing).toBe(true);
    expect(await hub.remove('a')).toBe(false);
    expect(model.closed).toBe(false); // 'b' and /api/detect still use it
    expect(sources.running).toBe(1);
  });

  it('applies stage settings to a running stream without a new source, and restarts it for a new source', async () => {
    const { hub, sources, opened, states } = makeHub();
    await hub.add(stream('a', { conf: 0.25 }));
    const model = opened[0].backend;
    await until(() => model.pending.length === 1, 5000, 'a frame');
    await hub.update('a', stream('a', { conf: 0.5 }));
    model.complete();
    await until(() => model.pending.length === 1 && model.submitted.length === 2, 5000, 'the next frame');
    expect(model.submitted.map((i) => i.conf)).toEqual([0.25, 0.5]);
    expect(sources.requests).toHaveLength(1);
    expect(hub.settings('a')!.conf).toBe(0.5);

    const moving = hub.update('a', stream('a', { url: 'rtsp://camera.local/other', conf: 0.5 }));
    model.complete();
    const moved = await moving;
    expect(moved.id).toBe('a');
    expect(sources.requests.map((r) => r.url)).toEqual(['rtsp://camera.local/a', 'rtsp://camera.local/other']);
    expect(states.filter((s) => s.stream === 'a').map((s) => s.state)).toContain('stopped');
    await expect(hub.update('nope', stream('nope'))).rejects.toBeInstanceOf(UnknownStreamError);
  });

  it('close() stops every stream and closes the models', async () => {
    const { hub, sources, opened } = makeHub();
    await hub.add(stream('a'));
    await until(() => opened[0]?.backend.pending.length === 1, 5000, 'a frame');
    const closing = hub.close();
    opened[0].backend.complete();
    await closing;
    hubs = [];
    expect(sources.running).toBe(0);
    expect(opened[0].backend.closed).toBe(true);
    await expect(hub.add(stream('b'))).rejects.toThrow(/shutting down/);
  });
});
