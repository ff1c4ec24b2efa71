/**
 * Issue 8, faults and bad inputs against a real server (real ffmpeg, real models): an ffmpeg child
 * killed with SIGKILL is restarted; truncated/corrupt/non-video files, an RTSP port that refuses,
 * an RTSP server that accepts and never answers, a file that is not ONNX and a model with
 * unexpected outputs each give the stream a clear state + lastError and a log line, while a
 * healthy stream keeps running and the process stays up.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilentServer, type SilentServer } from './helpers/silentServer.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { OnnxGraphBuilder } from '../src/tools/modelgen/onnxBuilder.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { ffmpegPath, liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { api, ffmpegChildPids, sleep, until, type Json } from './helpers/serveHarness.js';

let server: RunningServer;
let media: string;
let model: string;
const logLines: Json[] = [];
let silent: SilentServer | undefined;
let silentPort: number;
let closedPort: number;

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The ffmpeg (decoder) child of this process reading `file`. */
function decoderPid(file: string): number | undefined {
  return ffmpegChildPids().find((pid) => {
    const c = cmdline(pid);
    return c.includes(file) && c.includes('rawvideo');
  });
}

async function stream(id: string): Promise<Json> {
  return (await api(server, 'GET', `/api/streams/${id}`)).json;
}

beforeAll(async () => {
  const [clip, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  model = m;
  media = mkdtempSync(join(tmpdir(), 'streamlens-faults-'));
  for (const name of ['a.mp4', 'b.mp4', 'healthy.mp4']) copyFileSync(clip.video, join(media, name));
  const bytes = readFileSync(clip.video);
  // A recording cut short: moov (written last by default) never made it to disk.
  const moovLast = join(media, 'moov-last.mp4');
  execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', clip.video, '-c', 'copy', moovLast], { timeout: 60_000 });
  const whole = readFileSync(moovLast);
  writeFileSync(join(media, 'truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
  const corrupt = Buffer.from(bytes);
  for (let i = 0; i < corrupt.length; i += 97) corrupt[i] = (corrupt[i] * 31 + 7) & 0xff; // garble everything, header included
  writeFileSync(join(media, 'corrupt.mp4'), corrupt);
  writeFileSync(join(media, 'notes.mp4'), 'this is a text file, not a video\n'.repeat(100));
  writeFileSync(join(media, 'not-a-model.onnx'), 'definitely not protobuf');
  const g = new OnnxGraphBuilder('odd-outputs');
  const x = g.input('images', 'float32', [1, 3, 64, 64]);
  const pooled = g.op('GlobalAveragePool', [x]);
  g.output(g.op('Reshape', [pooled, g.int64s('shape', [1, 3, 1])], {}, { output: 'output0' }), 'float32', [1, 3, 1]);
  writeFileSync(join(media, 'odd-outputs.onnx'), g.toBytes({ metadata: { task: 'detect', names: "{0: 'a'}" } }));

  // An RTSP "server" that accepts and never says a word.
  silent = await startSilentServer();
  silentPort = silent.port;
  // A port nobody listens on: bind, note, close.
  const tmp = createNetServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  closedPort = (tmp.address() as { port: number }).port;
  await new Promise<void>((r) => tmp.close(() => r()));

  const config = parseConfig(
    {
      server: { host: '127.0.0.1', port: 0, mediaFolders: [media] },
      models: {
        [model]: { intraOpThreads: 1, maxBatch: 4 },
        [join(media, 'not-a-model.onnx')]: { providers: ['cpu'] },
        [join(media, 'odd-outputs.onnx')]: { providers: ['cpu'] },
      },
      streams: ['a', 'b', 'healthy'].map((id) => ({ id, url: join(media, `${id}.mp4`), model, loop: true, realtime: true, video: false, reconnect: { initialMs: 200, maxMs: 1000 } })),
    },
    process.cwd(),
  );
  const log = createLogger({ test: 'faults' }, 'info', (line) => logLines.push(JSON.parse(line) as Json));
  server = await startServer({ config, hub: StreamHub.forConfig(config, log), version: 'test', log });
  await until(async () => (await Promise.all(['a', 'b', 'healthy'].map(stream))).every((s) => s.framesSent > 5), 60_000, 'three streams sending');
}, 120_000);

afterAll(async () => {
  await server?.close();
  await silent?.close();
  expect(liveFfmpegChildren()).toBe(0);
  expect(ffmpegChildPids()).toEqual([]);
});

describe('faults', () => {
  it('SIGKILL of a stream\'s ffmpeg: that stream restarts it and recovers; the other is unaffected', async () => {
    const aPid = decoderPid(join(media, 'a.mp4'));
    const bPid = decoderPid(join(media, 'b.mp4'));
    expect(aPid).toBeDefined();
    expect(bPid).toBeDefined();
    const [a0, b0] = [await stream('a'), await stream('b')];
    process.kill(aPid!, 'SIGKILL');
    await until(async () => (await stream('a')).reconnects > a0.reconnects, 15_000, 'a reconnects');
    const a1 = await stream('a');
    await until(async () => (await stream('a')).framesSent > a1.framesSent + 10, 30_000, 'a frames after the restart');
    const a2 = await stream('a');
    expect(a2.state).toBe('streaming');
    const newPid = decoderPid(join(media, 'a.mp4'));
    expect(newPid).toBeDefined();
    expect(newPid).not.toBe(aPid);
    // b: same ffmpeg, no reconnect, frames kept flowing.
    const b2 = await stream('b');
    expect(decoderPid(join(media, 'b.mp4'))).toBe(bPid);
    expect(b2.reconnects).toBe(b0.reconnects);
    expect(b2.state).toBe('streaming');
    expect(b2.framesSent).toBeGreaterThan(b0.framesSent + 10);
    expect(logLines.some((l) => l.stream === 'a' && /reconnecting/.test(String(l.msg)) && l.level === 'warn')).toBe(true);
  });

  const bad: [string, () => Json, RegExp][] = [
    ['a truncated MP4', () => ({ url: join(media, 'truncated.mp4') }), /truncated|moov atom|not a video/i],
    ['a corrupt MP4', () => ({ url: join(media, 'corrupt.mp4') }), /not a video|invalid data|no video/i],
    ['a non-video file', () => ({ url: join(media, 'notes.mp4') }), /not a video|invalid data/i],
    ['an RTSP URL that refuses', () => ({ url: `rtsp://127.0.0.1:${closedPort}/cam`, probeTimeoutMs: 3000 }), /refused|cannot open|unreachable/i],
    ['an RTSP server that accepts and never sends', () => ({ url: `rtsp://127.0.0.1:${silentPort}/cam`, probeTimeoutMs: 2000 }), /timed out|no answer|within/i],
    ['a model file that is not ONNX', () => ({ url: join(media, 'healthy.mp4'), model: join(media, 'not-a-model.onnx') }), /not an ONNX model/i],
    ['a model with unexpected outputs', () => ({ url: join(media, 'healthy.mp4'), model: join(media, 'odd-outputs.onnx') }), /output0.*expected|unexpected|output/i],
  ];

  it.each(bad)('%s: clear error on the stream (API and log), no crash, others keep running', async (name, settings, pattern) => {
    const id = `bad-${name.replace(/[^a-z]+/gi, '-')}`.toLowerCase();
    const healthy0 = await stream('healthy');
    const res = await api(server, 'POST', '/api/streams', { id, model, loop: true, video: false, reconnect: { initialMs: 200, maxMs: 1000 }, ...settings() });
    expect(res.status).toBe(201);
    await until(async () => Boolean((await stream(id)).lastError), 30_000, `${id} lastError`);
    const s = await stream(id);
    expect(s.lastError).toMatch(pattern);
    expect(['reconnecting', 'failed', 'connecting']).toContain(s.state);
    expect(s.framesSent).toBe(0);
    // The log says so too, with the stream id.
    expect(logLines.some((l) => l.stream === id && ['warn', 'error'].includes(String(l.level)) && pattern.test(JSON.stringify(l)))).toBe(true);
    // Process and the other streams fine.
    await sleep(500);
    const healthy1 = await stream('healthy');
    if (!(healthy1.framesSent > healthy0.framesSent)) console.log(JSON.stringify((await api(server, 'GET', '/api/streams')).json, null, 1), ffmpegChildPids().map(cmdline));
    expect(healthy1.state).toBe('streaming');
    expect(healthy1.framesSent).toBeGreaterThan(healthy0.framesSent);
    expect((await api(server, 'GET', '/healthz')).status).toBe(200);
    expect((await api(server, 'DELETE', `/api/streams/${id}`)).status).toBe(204);
  });

  it('removing a stream while it probes a silent server ends the probe at once', async () => {
    const res = await api(server, 'POST', '/api/streams', { id: 'probing', url: `rtsp://127.0.0.1:${silentPort}/cam`, model, probeTimeoutMs: 60_000 });
    expect(res.status).toBe(201);
    await until(() => ffmpegChildPids().some((p) => cmdline(p).includes(`127.0.0.1:${silentPort}`)), 10_000, 'ffprobe running');
    const t0 = Date.now();
    expect((await api(server, 'DELETE', '/api/streams/probing')).status).toBe(204);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(ffmpegChildPids().filter((p) => cmdline(p).includes(`127.0.0.1:${silentPort}`))).toEqual([]);
  });

  it('no ffmpeg left for removed streams', async () => {
    const pids = ffmpegChildPids().map(cmdline);
    const all = (await api(server, 'GET', '/api/streams')).json.streams as Json[];
    expect(all.map((s) => [s.id, s.state])).toEqual([['a', 'streaming'], ['b', 'streaming'], ['healthy', 'streaming']]);
    // Only the three configured streams' decoders (probes are short-lived and may be finishing).
    await until(() => ffmpegChildPids().length === 3, 10_000, `3 ffmpeg children, have: ${pids.join('\n')}`);
    expect(liveFfmpegChildren()).toBe(3);
    execFileSync('true');
  });
});
