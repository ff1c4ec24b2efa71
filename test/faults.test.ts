/**
 * Issue 8, faults and bad inputs against a real server (real ffmpeg, real models): an ffmpeg child
 * killed with SIGKILL is restarted; truncated/corrupt/non-video files, an RTSP port that refuses,
 * an RTSP server that accepts and never answers, a file that is not ONNX and a model with
 * unexpected outputs each give the stream a clear state + lastError and a log line, while a
 * healthy stream keeps running and the process stays up.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilentServer, type SilentServer } from './helpers/silentServer.js';
import { holdClosedPort, type ClosedPort } from './helpers/closedPort.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { OnnxGraphBuilder } from '../src/tools/modelgen/onnxBuilder.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { ffmpegPath, liveFfmpegChildren } from '../src/ingest/ffmpeg.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { api, ffmpegChildPids, until, type Json } from './helpers/serveHarness.js';

let server: RunningServer;
let media: string;
let model: string;
const logLines: Json[] = [];
let silent: SilentServer | undefined;
let silentPort: number;
let closed: ClosedPort | undefined;

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
  // A port that refuses connections, held for the whole file.
  closed = await holdClosedPort();

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
});

afterAll(async () => {
  await server?.close();
  await silent?.close();
  await closed?.release();
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

  // Each fault, the message that names it, and the one state it leaves the stream in: a local file
  // or a model that cannot work fails for good; a live source is retried (cameras come back).
  const bad: [string, () => Json, RegExp, 'failed' | 'reconnecting'][] = [
    ['a truncated MP4', () => ({ url: join(media, 'truncated.mp4') }), /^truncated MP4: \S+\/truncated\.mp4 \(cut off inside its 'mdat' box, \d+ bytes; no index: moov atom not found\)$/, 'failed'],
    ['a corrupt MP4', () => ({ url: join(media, 'corrupt.mp4') }), /^not a video: \S+\/corrupt\.mp4 \(/, 'failed'],
    ['a non-video file', () => ({ url: join(media, 'notes.mp4') }), /^not a video: \S+\/notes\.mp4 \(a text file\)$/, 'failed'],
    // A live source is opened once, by ffmpeg itself (no probe): its verdict, or the open deadline.
    ['an RTSP URL that refuses', () => ({ url: `rtsp://127.0.0.1:${closed!.port}/cam`, probeTimeoutMs: 3000 }), /^cannot open rtsp:\/\/127\.0\.0\.1:\d+\/cam \(ffmpeg: Connection refused\)$/, 'reconnecting'],
    ['an RTSP server that accepts and never sends', () => ({ url: `rtsp://127.0.0.1:${silentPort}/cam`, probeTimeoutMs: 2000 }), /^no video from rtsp:\/\/127\.0\.0\.1:\d+\/cam within 2000 ms$/, 'reconnecting'],
    ['a model file that is not ONNX', () => ({ url: join(media, 'healthy.mp4'), model: join(media, 'not-a-model.onnx') }), /^model \S+\/not-a-model\.onnx: not an ONNX model: \S+\/not-a-model\.onnx \(protobuf: /, 'failed'],
    ['a model with unexpected outputs', () => ({ url: join(media, 'healthy.mp4'), model: join(media, 'odd-outputs.onnx') }), /^model \S+\/odd-outputs\.onnx: model output 'output0' has shape \[1,3,1\]; expected \[B,N,6\] \(yolov10\) or \[B,4\+nc,N\] \(yolov8\)$/, 'failed'],
  ];

  it.each(bad)('%s: clear error on the stream (API and log), no crash, others keep running', async (name, settings, pattern, state) => {
    const id = `bad-${name.replace(/[^a-z]+/gi, '-')}`.toLowerCase();
    const healthy0 = await stream('healthy');
    const res = await api(server, 'POST', '/api/streams', { id, model, loop: true, video: false, reconnect: { initialMs: 200, maxMs: 1000 }, ...settings() });
    expect(res.status).toBe(201);
    await until(async () => Boolean((await stream(id)).lastError), 30_000, `${id} lastError`);
    const s = await stream(id);
    expect(s.lastError).toMatch(pattern);
    expect(s.state).toBe(state);
    expect(s.framesSent).toBe(0);
    // The log says so too, with the stream id.
    const logged = (l: Json): unknown[] => [l.lastError, (l.err as Json | undefined)?.message];
    expect(logLines.some((l) => l.stream === id && ['warn', 'error'].includes(String(l.level)) && logged(l).some((m) => typeof m === 'string' && pattern.test(m)))).toBe(true);
    // Process and the other streams fine: the healthy stream keeps sending frames.
    await until(async () => (await stream('healthy')).framesSent > healthy0.framesSent, 30_000, 'the healthy stream to send more frames');
    expect((await stream('healthy')).state).toBe('streaming');
    expect((await api(server, 'GET', '/healthz')).status).toBe(200);
    expect((await api(server, 'DELETE', `/api/streams/${id}`)).status).toBe(204);
  });

  it('removing a stream while it probes a silent server ends the probe at once', async () => {
    const res = await api(server, 'POST', '/api/streams', { id: 'probing', url: `rtsp://127.0.0.1:${silentPort}/cam`, model, probeTimeoutMs: 60_000 });
    expect(res.status).toBe(201);
    await until(() => ffmpegChildPids().some((p) => cmdline(p).includes(`127.0.0.1:${silentPort}`)), 10_000, 'ffprobe running');
    const t0 = Date.now();
    expect((await api(server, 'DELETE', '/api/streams/probing')).status).toBe(204);
    expect(Date.now() - t0).toBeLessThan(30_000); // not the probe's 60 s
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
