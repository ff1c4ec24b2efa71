/**
 * Streams changed over the API survive a restart (issue 19): the state file (StreamStateFile) on
 * its own, and a real server stopped and started again on the same config.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultStateFile, loadConfig, parseConfig, parseStream, streamContext, type ServeConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { keptStream, StreamStateFile } from '../src/pipeline/streamState.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { api, until } from './helpers/serveHarness.js';
import { memoryLogger } from './helpers/fakes.js';

let tmp: string;
let clip: string;
let model: string;

beforeAll(async () => {
  [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
  tmp = mkdtempSync(join(tmpdir(), 'streamlens-state-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A config with two streams; unreachable RTSP hosts are enough for what is kept (no frames needed). */
function config(dir: string, extra: Record<string, unknown> = {}): ServeConfig {
  const file = join(dir, 'cams.json');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({
      models: { [model]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dirname(clip)], host: '127.0.0.1', port: 0 },
      streams: [
        { id: 'a', url: 'rtsp://127.0.0.1:9/a' },
        { id: 'b', url: 'rtsp://127.0.0.1:9/b', conf: 0.4 },
      ],
      ...extra,
    }),
  );
  return loadConfig(file);
}

describe('config: the state file', () => {
  it('sits next to the config file by default; stateFile moves it (relative to the config) or turns it off', () => {
    const dir = join(tmp, 'cfg');
    mkdirSync(dir, { recursive: true });
    expect(config(dir).stateFile).toBe(join(dir, 'cams.state.json'));
    expect(defaultStateFile('/x/y/site.config.json')).toBe('/x/y/site.config.state.json');
    expect(config(dir, { stateFile: 'data/streams.json' }).stateFile).toBe(join(dir, 'data/streams.json'));
    expect(config(dir, { stateFile: false }).stateFile).toBeUndefined();
    // A document without a file (the demo) keeps nothing unless told where.
    expect(parseConfig({}, dir).stateFile).toBeUndefined();
    expect(() => parseConfig({ stateFile: true }, dir)).toThrow(/stateFile: expected a file path or false/);
  });
});

describe('StreamStateFile', () => {
  it('keeps a stream as the config file would say it: parsing it again gives the same settings', () => {
    const ctx = streamContext(config(join(tmp, 'roundtrip')));
    const inputs = [
      { id: 'plain', url: 'rtsp://user:pw@cam.local/s' },
      { id: 'file', url: clip, loop: true, realtime: false, dropPolicy: 'queue:3', tracker: false, fps: 5, jpegMaxWidth: 640 },
      {
        id: 'zones',
        url: 'https://cam.example/live.m3u8',
        tracker: { trackThresh: 0.6 },
        classes: [0, 2],
        analytics: { coordinates: 'normalized', zones: [{ name: 'bay', polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]] }], lines: [{ name: 'gate', from: [0, 0.5], to: [1, 0.5] }] },
      },
    ];
    for (const input of inputs) {
      const settings = parseStream(input, ctx);
      expect(parseStream(JSON.parse(JSON.stringify(keptStream(settings))), ctx)).toEqual(settings);
    }
  });

  it('applies the kept changes over the config: removed stay away, changed are replaced, added come last in the order added', async () => {
    const dir = join(tmp, 'apply');
    const cfg = config(dir);
    const ctx = streamContext(cfg);
    const log = memoryLogger();
    const file = new StreamStateFile(cfg.stateFile!, { context: ctx, log });
    expect((await file.restore(cfg.streams)).map((s) => s.id)).toEqual(['a', 'b']);
    expect(existsSync(cfg.stateFile!)).toBe(false); // nothing changed: nothing written

    await file.put(parseStream({ id: 'z', url: 'rtsp://127.0.0.1:9/z' }, ctx));
    await file.put(parseStream({ id: 'c', url: 'rtsp://127.0.0.1:9/c' }, ctx));
    await file.put({ ...cfg.streams[1]!, conf: 0.7 });
    await file.delete('a');
    await file.put(parseStream({ id: 'gone', url: 'rtsp://127.0.0.1:9/g' }, ctx));
    await file.delete('gone');
    expect(statSync(cfg.stateFile!).mode & 0o777).toBe(0o600);

    // The config changed meanwhile: a new stream "d" and another conf for "a" (which was removed).
    const cfg2 = loadConfig(join(dir, 'cams.json'));
    cfg2.streams.push(parseStream({ id: 'd', url: 'rtsp://127.0.0.1:9/d' }, ctx));
    const again = await new StreamStateFile(cfg.stateFile!, { context: ctx, log }).restore(cfg2.streams);
    expect(again.map((s) => s.id)).toEqual(['b', 'd', 'z', 'c']);
    expect(again[0]!.conf).toBe(0.7);
    expect(log.entries.some((e) => e.msg === 'streams changed over the API restored')).toBe(true);

    // A removed config stream comes back when it is added over the API again.
    const third = new StreamStateFile(cfg.stateFile!, { context: ctx, log });
    await third.restore(cfg.streams);
    await third.put(cfg.streams[0]!);
    expect((await new StreamStateFile(cfg.stateFile!, { context: ctx, log }).restore(cfg.streams)).map((s) => s.id)).toEqual(['a', 'b', 'z', 'c']);
  });

  it('skips a kept stream that no longer validates (logged, kept in the file); the config version of a changed stream starts instead', async () => {
    const dir = join(tmp, 'invalid');
    const cfg = config(dir);
    const ctx = streamContext(cfg);
    writeFileSync(
      cfg.stateFile!,
      JSON.stringify({ streams: [{ id: 'b', url: '/etc/passwd' }, { id: 'x', url: '/etc/hosts' }, { id: 'ok', url: 'rtsp://127.0.0.1:9/ok' }], removed: [] }),
    );
    const log = memoryLogger();
    const file = new StreamStateFile(cfg.stateFile!, { context: ctx, log });
    const restored = await file.restore(cfg.streams);
    expect(restored.map((s) => s.id)).toEqual(['a', 'b', 'ok']);
    expect(restored[1]).toEqual(cfg.streams[1]);
    const errors = log.entries.filter((e) => e.msg === 'a stream kept from the API cannot be restored');
    expect(errors.map((e) => e.stream)).toEqual(['b', 'x']);
    expect(String(errors[0]!.error)).toMatch(/kept stream "b"\.url: .*media folder/);
    await file.delete('ok');
    const kept = JSON.parse(readFileSync(cfg.stateFile!, 'utf8')) as { streams: { id: string }[] };
    expect(kept.streams.map((s) => s.id)).toEqual(['b', 'x']);
  });

  it('moves an unreadable file aside instead of overwriting it, and starts from the config', async () => {
    const dir = join(tmp, 'corrupt');
    const cfg = config(dir);
    writeFileSync(cfg.stateFile!, '{"streams": [');
    const log = memoryLogger();
    const restored = await new StreamStateFile(cfg.stateFile!, { context: streamContext(cfg), log }).restore(cfg.streams);
    expect(restored.map((s) => s.id)).toEqual(['a', 'b']);
    const aside = readdirSync(dir).filter((f) => f.startsWith('cams.state.json.unreadable-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toBe('{"streams": [');
    expect(log.entries.find((e) => e.msg.startsWith('the stream state file is unreadable'))?.error).toMatch(/invalid JSON/);
  });
});

describe('serve: streams changed over the API come back after a restart', () => {
  const log = createLogger({ test: true }, 'error');
  const start = (cfg: ServeConfig): Promise<RunningServer> =>
    startServer({ config: cfg, hub: StreamHub.forConfig(cfg, log), version: 'test', log, streamState: new StreamStateFile(cfg.stateFile!, { context: streamContext(cfg), log }) });

  it('added, changed (analytics, motion) and removed streams; GET /api/info names the file', async () => {
    const dir = join(tmp, 'serve');
    let server = await start(config(dir));
    try {
      expect((await api(server, 'GET', '/api/info')).json.stateFile).toBe(join(dir, 'cams.state.json'));
      const added = await api(server, 'POST', '/api/streams', { id: 'added', url: clip, loop: true, realtime: true, fps: 5, video: false });
      expect(added.status).toBe(201);
      expect(added.json.warning).toBeUndefined();
      const zones = { zones: [{ name: 'bay', polygon: [[0, 0], [100, 0], [100, 100]] }] };
      expect((await api(server, 'PUT', '/api/streams/b/analytics', zones)).status).toBe(200);
      const motion = await api(server, 'PUT', '/api/streams/b/motion', { threshold: 30, mask: [[[0, 0], [50, 0], [50, 20]]] });
      expect(motion.status).toBe(200);
      expect(motion.json.warning).toBeUndefined();
      expect((await api(server, 'DELETE', '/api/streams/a')).status).toBe(204);
    } finally {
      await server.close();
    }
    server = await start(config(dir));
    try {
      expect(server.hub.ids().sort()).toEqual(['added', 'b']);
      expect((await api(server, 'GET', '/api/streams/b/analytics')).json.config.zones.map((z: { name: string }) => z.name)).toEqual(['bay']);
      expect((await api(server, 'GET', '/api/streams/b/motion')).json.config).toMatchObject({ enabled: true, threshold: 30, mask: [[[0, 0], [50, 0], [50, 20]]] });
      // The restored stream runs: its frames are inferred again.
      await until(() => (server.hub.stats('added')?.framesInferred ?? 0) >= 2, 60_000, 'restored stream inferring');
    } finally {
      await server.close();
    }
  });

  it('a change the state file cannot keep is made, and the answer says it will not survive a restart', async () => {
    const dir = join(tmp, 'blocked');
    // The state file's folder is a plain file: no write can succeed, whoever runs the test.
    const cfg = config(dir, { stateFile: 'blocker/streams.json' });
    writeFileSync(join(dir, 'blocker'), '');
    const server = await start(cfg);
    try {
      const res = await api(server, 'POST', '/api/streams', { id: 'c', url: 'rtsp://127.0.0.1:9/c' });
      expect(res.status).toBe(201);
      expect(server.hub.has('c')).toBe(true);
      expect(res.json.warning).toMatch(/^stream added, but it cannot be kept for the next start \(.*blocker\/streams\.json: (EEXIST|ENOTDIR)/);
      const del = await api(server, 'DELETE', '/api/streams/c');
      expect(del.status).toBe(200);
      expect(del.json.warning).toMatch(/^stream removed, but it cannot be kept/);
      expect(server.hub.has('c')).toBe(false);
    } finally {
      await server.close();
    }
  });
});
