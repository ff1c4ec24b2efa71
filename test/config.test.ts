import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_BACKOFF,
  DEFAULT_SERVER,
  DEFAULT_STREAM,
  DEFAULT_TRACKER,
  checkSourceUrl,
  loadConfig,
  parseConfig,
  parseDropPolicy,
  parseStream,
  type ServeConfig,
} from '../src/config.js';

const base = mkdtempSync(join(tmpdir(), 'streamlens-config-'));
const media = join(base, 'media');
mkdirSync(media);
writeFileSync(join(media, 'clip.mp4'), '');

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const cfg = (streams: unknown[], extra: Record<string, unknown> = {}): ServeConfig =>
  parseConfig({ models: { 'm.onnx': {} }, streams, ...extra }, base);

describe('parseConfig', () => {
  it('fills defaults: loopback, port 8080, latest for live sources, model from the only listed model', () => {
    const c = cfg([{ id: 'cam1', url: 'rtsp://10.0.0.5/stream' }]);
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.server.port).toBe(8080);
    expect(c.server.mediaFolders).toEqual([media]);
    expect(c.server.clientBufferBytes).toBe(DEFAULT_SERVER.clientBufferBytes);
    const s = c.streams[0];
    expect(s.dropPolicy).toEqual({ kind: 'latest' });
    expect(s.model).toBe(join(base, 'm.onnx'));
    expect(s.rtspTransport).toBe('tcp');
    expect(s.conf).toBe(0.25);
    expect(s.tracker.enabled).toBe(true);
    expect(c.models[join(base, 'm.onnx')].providers).toEqual(['tensorrt', 'cuda', 'cpu']);
    expect(c.server.maxUploadBytes).toBe(20 * 1024 * 1024);
  });

  it('defaults files to realtime with latest, and non-realtime files to all', () => {
    const c = cfg([
      { id: 'a', url: 'media/clip.mp4' },
      { id: 'b', url: 'media/clip.mp4', realtime: false },
    ]);
    expect(c.streams[0].url).toBe(join(media, 'clip.mp4'));
    expect(c.streams[0].dropPolicy).toEqual({ kind: 'latest' });
    expect(c.streams[1].dropPolicy).toEqual({ kind: 'all' });
  });

  it('parses drop policies', () => {
    expect(parseDropPolicy('queue:3')).toEqual({ kind: 'queue', size: 3 });
    expect(parseDropPolicy('queue:0')).toBeUndefined();
    expect(parseDropPolicy('fast')).toBeUndefined();
  });

  it('names the field of every error', () => {
    const errs = issues(() =>
      cfg([
        { id: 'ok', url: 'rtsp://cam/1' },
        { id: 'cam2', url: 'rtsp://cam/2', dropPolicy: 'fast', conf: 2, classes: [1, -1], fps: 'x' },
      ]),
    );
    expect(errs).toContain('streams[1].dropPolicy: expected "latest", "all" or "queue:N" (N >= 1), got "fast"');
    expect(errs).toContain('streams[1].conf: expected a number >= 0 and <= 1, got 2');
    expect(errs).toContain('streams[1].classes: expected an array of class ids (integers >= 0), got [1,-1]');
    expect(errs).toContain('streams[1].fps: expected a number >= 0 and <= 240, got "x"');
  });

  it('rejects unknown fields, duplicate ids, missing fields and bad server settings', () => {
    const errs = issues(() =>
      cfg([{ id: 'a', url: 'rtsp://cam/1', dropPolicey: 'all' }, { id: 'a', url: 'rtsp://cam/2' }, { url: 'rtsp://cam/3' }], {
        server: { port: 70000, host: '' },
      }),
    );
    expect(errs.some((e) => e.startsWith('streams[0].dropPolicey: unknown field'))).toBe(true);
    expect(errs).toContain('streams[1].id: duplicate id "a"');
    expect(errs).toContain('streams[2].id: required');
    expect(errs).toContain('server.port: expected an integer >= 0 and <= 65535, got 70000');
    expect(errs).toContain('server.host: expected a non-empty string, got ""');
  });

  it('requires a model when several are configured', () => {
    const errs = issues(() => parseConfig({ models: { 'a.onnx': {}, 'b.onnx': {} }, streams: [{ id: 'x', url: 'rtsp://h/s' }] }, base));
    expect(errs).toEqual(['streams[0].model: required (the config lists 2 models)']);
  });

  it('validates model settings', () => {
    const errs = issues(() => parseConfig({ models: { 'a.onnx': { providers: ['gpu'], maxBatch: 0, allowSpinning: 'no' } } }, base));
    expect(errs).toContain('models["a.onnx"].providers[0]: expected "tensorrt", "cuda" or "cpu", got "gpu"');
    expect(errs.some((e) => e.startsWith('models["a.onnx"].allowSpinning: expected'))).toBe(true);
    const ok = parseConfig({ models: { 'a.onnx': { allowSpinning: false }, 'b.onnx': {} }, streams: [{ id: 'x', url: 'rtsp://h/s', model: 'a.onnx' }] }, base);
    expect(ok.models[join(base, 'a.onnx')].allowSpinning).toBe(false);
    expect(ok.models[join(base, 'b.onnx')].allowSpinning).toBe(true);
    expect(ok.models[join(base, 'b.onnx')].padBatchSizes).toEqual([]);
    const padErrs = issues(() => parseConfig({ models: { 'a.onnx': { padBatchSizes: [4, 2] }, 'b.onnx': { padBatchSizes: [0] } } }, base));
    expect(padErrs).toContain('models["a.onnx"].padBatchSizes: expected increasing integers from 1 to 64, got [4,2]');
    expect(padErrs.some((e) => e.startsWith('models["b.onnx"].padBatchSizes: expected increasing integers'))).toBe(true);
    const padded = parseConfig({ models: { 'a.onnx': { padBatchSizes: [1, 2, 4] } } }, base);
    expect(padded.models[join(base, 'a.onnx')].padBatchSizes).toEqual([1, 2, 4]);
    expect(errs).toContain('models["a.onnx"].maxBatch: expected an integer >= 1 and <= 64, got 0');
  });

  it("bounds each stream's queue in the model's batcher (maxQueuePerStream)", () => {
    const c = parseConfig({ models: { 'a.onnx': {}, 'b.onnx': { maxQueuePerStream: 12 } } }, base);
    expect(c.models[join(base, 'a.onnx')].maxQueuePerStream).toBe(4);
    expect(c.models[join(base, 'b.onnx')].maxQueuePerStream).toBe(12);
    expect(issues(() => parseConfig({ models: { 'a.onnx': { maxQueuePerStream: 0 } } }, base))).toEqual(['models["a.onnx"].maxQueuePerStream: expected an integer >= 1 and <= 1000, got 0']);
  });

  it('loadConfig resolves paths relative to the config file and reports bad JSON with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-cfgfile-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ models: { '../models/x.onnx': {} }, streams: [{ id: 's', url: 'rtsp://h/s' }] }));
    const c = loadConfig(file);
    expect(c.streams[0].model).toBe(join(dir, '..', 'models', 'x.onnx'));
    writeFileSync(file, '{ nope');
    expect(issues(() => loadConfig(file))[0]).toMatch(/^.*c\.json: invalid JSON/);
  });
});

describe('source URL validation', () => {
  it('allows rtsp, rtsps, http, https', () => {
    for (const u of ['rtsp://h/s', 'rtsps://h:322/s', 'http://h/a.m3u8', 'https://h/v.mp4']) {
      expect(checkSourceUrl(u, base, [media])).toEqual({ url: u, isFile: false });
    }
  });

  it('refuses other protocols and ffmpeg pseudo-protocols', () => {
    for (const u of ['file:///etc/passwd', 'concat:/etc/passwd|/etc/hosts', 'subfile:,,start,0,end,0,,:/etc/passwd', 'udp://0.0.0.0:1234', 'data:text/plain,x']) {
      expect(checkSourceUrl(u, base, [media])).toHaveProperty('error');
    }
  });

  it('allows files only inside media folders, also through .. and symlinks', () => {
    expect(checkSourceUrl('media/clip.mp4', base, [media])).toEqual({ url: join(media, 'clip.mp4'), isFile: true });
    expect(checkSourceUrl('media/../../etc/passwd', base, [media])).toHaveProperty('error');
    expect(checkSourceUrl('/etc/passwd', base, [media])).toHaveProperty('error');
    symlinkSync('/etc/passwd', join(media, 'link.mp4'));
    expect(checkSourceUrl('media/link.mp4', base, [media])).toHaveProperty('error');
  });

  it('names the field for a refused URL in an API stream', () => {
    const ctx = { baseDir: base, mediaFolders: [media], modelPaths: ['/m.onnx'], tracker: cfg([]).tracker };
    const errs = issues(() => parseStream({ id: 'x', url: 'file:///etc/passwd' }, ctx));
    expect(errs[0]).toMatch(/^url: expected an rtsp:\/\/, rtsps:\/\/, http:\/\/ or https:\/\/ URL/);
    expect(parseStream({ id: 'x', url: 'rtsp://cam/1', dropPolicy: 'queue:2' }, ctx).dropPolicy).toEqual({ kind: 'queue', size: 2 });
  });
});

describe('schema errors', () => {
  it('reports a union field by the branch the value was meant for', () => {
    expect(issues(() => cfg([{ id: 'a', url: 'rtsp://h/s', tracker: 'yes' }]))).toEqual(['streams[0].tracker: expected true or false, or an object, got "yes"']);
    const errs = issues(() => cfg([{ id: 'a', url: 'rtsp://h/s', tracker: { trackThresh: 2, lostSeconds: 1 } }]));
    expect(errs).toContain('streams[0].tracker.trackThresh: expected a number >= 0 and <= 1, got 2');
    expect(cfg([{ id: 'a', url: 'rtsp://h/s', tracker: { boxes: 'filtered' } }]).streams[0].tracker.boxes).toBe('filtered');
    expect(issues(() => cfg([{ id: 'a', url: 'rtsp://h/s', tracker: { boxes: 'kalman' } }]))).toEqual(['streams[0].tracker.boxes: expected "detection", or "filtered", got "kalman"']);
    expect(errs.some((e) => e.startsWith('streams[0].tracker.lostSeconds: unknown field (known: enabled, trackThresh,'))).toBe(true);
    expect(errs).toHaveLength(2);
  });

  it('names map keys, array items and the document itself', () => {
    expect(issues(() => parseConfig({ models: { 'a.onnx': null } }, base))).toEqual(['models["a.onnx"]: expected an object, got null']);
    expect(issues(() => parseConfig({ streams: {} }, base))).toEqual(['streams: expected an array of objects, got {}']);
    expect(issues(() => parseConfig({ streams: [5] }, base))).toEqual(['streams[0]: expected an object, got 5']);
    expect(issues(() => parseConfig({ server: { logLevel: 'loud' } }, base))).toEqual(['server.logLevel: expected "debug", "info", "warn", "error" or "silent", got "loud"']);
    expect(issues(() => parseConfig([1], base))).toEqual([': expected an object, got [1]']);
  });

  it('checks one field against another after the schema', () => {
    expect(issues(() => cfg([{ id: 'a', url: 'rtsp://h/s', reconnect: { initialMs: 1000, maxMs: 500 } }]))).toEqual([
      'streams[0].reconnect.maxMs: expected >= initialMs (1000), got 500',
    ]);
  });

  it('fills every default from the schema, and a stream tracker from the top-level one', () => {
    const c = parseConfig({ $schema: './streamlens.schema.json', models: { 'm.onnx': {} }, tracker: { trackThresh: 0.3 }, streams: [{ id: 'a', url: 'rtsp://h/s', tracker: { lostTrackSeconds: 4 } }] }, base);
    expect(c.server).toEqual({ ...DEFAULT_SERVER, mediaFolders: [media] });
    const { id, url, model, dropPolicy, tracker, hwaccel, ...rest } = c.streams[0];
    expect(rest).toEqual(DEFAULT_STREAM);
    expect(hwaccel).toBe('none');
    expect(rest.reconnect).toEqual(DEFAULT_BACKOFF);
    expect([id, url, model, dropPolicy]).toEqual(['a', 'rtsp://h/s', join(base, 'm.onnx'), { kind: 'latest' }]);
    expect(c.tracker).toEqual({ ...DEFAULT_TRACKER, trackThresh: 0.3 });
    expect(tracker).toEqual({ ...DEFAULT_TRACKER, trackThresh: 0.3, lostTrackSeconds: 4 });
    expect(cfg([{ id: 'b', url: 'rtsp://h/s', tracker: false }]).streams[0].tracker).toEqual({ ...DEFAULT_TRACKER, enabled: false });
  });

  it("hardware decoding: a stream's own, else its model's (with the model's device), else none; deinterlace true, false or 'auto'", () => {
    const c = parseConfig(
      {
        models: { 'gpu.onnx': { hwaccel: 'vaapi', hwaccelDevice: '/dev/dri/renderD129' }, 'cpu.onnx': {} },
        streams: [
          { id: 'a', url: 'rtsp://h/a', model: 'gpu.onnx' },
          { id: 'b', url: 'rtsp://h/b', model: 'gpu.onnx', hwaccel: 'cuda' },
          { id: 'c', url: 'rtsp://h/c', model: 'gpu.onnx', hwaccel: 'none' },
          { id: 'd', url: 'rtsp://h/d', model: 'cpu.onnx', deinterlace: true },
          { id: 'e', url: 'rtsp://h/e', model: 'cpu.onnx', hwaccel: 'qsv', hwaccelDevice: '/dev/dri/renderD130', deinterlace: false },
        ],
      },
      base,
    );
    expect(c.streams.map((s) => [s.hwaccel, s.hwaccelDevice, s.deinterlace])).toEqual([
      ['vaapi', '/dev/dri/renderD129', 'auto'],
      ['cuda', undefined, 'auto'],
      ['none', undefined, 'auto'],
      ['none', undefined, true],
      ['qsv', '/dev/dri/renderD130', false],
    ]);
    const bad = issues(() => parseConfig({ models: { 'm.onnx': {} }, streams: [{ id: 'a', url: 'rtsp://h/a', hwaccel: 'nvdec', deinterlace: 'yes' }] }, base));
    expect(bad.map((i) => i.split(':')[0]).sort()).toEqual(['streams[0].deinterlace', 'streams[0].hwaccel']);
  });

  it('leaves the caller\'s document as it was', () => {
    const doc = { models: { 'm.onnx': {} }, streams: [{ id: 'a', url: 'rtsp://h/s' }] };
    const before = JSON.stringify(doc);
    parseConfig(doc, base);
    expect(JSON.stringify(doc)).toBe(before);
  });
});

const run = promisify(execFile);
const schemaFile = join('streams', 'streamlens.schema.json');
const examples = readdirSync('streams').filter((f) => f.endsWith('.json') && f !== 'streamlens.schema.json');

describe('the JSON Schema', () => {
  it('`streamlens config schema` prints the committed streams/streamlens.schema.json (regenerate: npm run config:schema)', async () => {
    const { stdout } = await run(process.execPath, ['dist/src/cli/main.js', 'config', 'schema']);
    expect(stdout).toBe(readFileSync(schemaFile, 'utf8'));
  });

  it('rejects what the loader rejects for its shape, as an editor checking against it would', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
    const good = { models: { 'm.onnx': { maxBatch: 8 } }, streams: [{ id: 'a', url: 'rtsp://h/s', dropPolicy: 'queue:3', tracker: true }] };
    expect(validate(good)).toBe(true);
    for (const bad of [
      { streams: [{ id: 'a', url: 'rtsp://h/s', dropPolicey: 'all' }] },
      { streams: [{ id: 'a', url: 'rtsp://h/s', dropPolicy: 'queue:0' }] },
      { streams: [{ url: 'rtsp://h/s' }] },
      { server: { port: 70000 } },
      { models: { 'm.onnx': { providers: ['gpu'] } } },
      { tracker: { trackThresh: 2 } },
    ]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
      expect(() => parseConfig({ models: { 'm.onnx': {} }, ...bad }, base)).toThrow(ConfigError);
    }
  });
});

describe('example configs in streams/', () => {
  it('are all covered', () => {
    expect(examples).toEqual(expect.arrayContaining(['demo.json', 'rtsp-camera.json', 'file.json', 'cameras-shared-model.json']));
  });

  it.each(examples)('%s names the schema, validates against it and loads', (name) => {
    const text = JSON.parse(readFileSync(join('streams', name), 'utf8')) as Record<string, unknown>;
    expect(text.$schema).toBe('./streamlens.schema.json');
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
    expect(validate(text), JSON.stringify(validate.errors)).toBe(true);
    const c = loadConfig(join('streams', name));
    expect(c.streams.length).toBeGreaterThan(0);
    for (const s of c.streams) expect(Object.keys(c.models)).toContain(s.model);
  });
});
