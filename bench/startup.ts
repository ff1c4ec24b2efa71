/**
 * Time to first frame of live sources, before and after issue 13, in the same run:
 *  - before: what the runner did until then: ffprobe with ffmpeg's default probing, then ffmpeg
 *    with `-fflags nobuffer -flags low_delay` for every network URL (the first keyframe read while
 *    probing is thrown away), HLS from three segments back;
 *  - after: `ffmpegSources.open` as the runner calls it now (the output size known: one ffmpeg
 *    open, bounded probing, no nobuffer, HLS at the live edge).
 * Both time the same thing: from the start of the open to the first letterboxed frame on our
 * side of the pipe. Sources, on 127.0.0.1, from the demo clip (15 fps, a keyframe every second):
 * RTSP (GStreamer, every session joins one frame after a keyframe: about one keyframe interval to
 * wait), live HLS (1 s segments), MPEG-TS over HTTP from a live encoder (joined wherever it is),
 * and an MJPEG camera (every frame a keyframe).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpegChoice } from '../src/ingest/binaries.js';
import { decodeArgs, ffmpegPath, protocolWhitelist, spawnFfmpeg } from '../src/ingest/ffmpeg.js';
import { ffmpegSources } from '../src/ingest/ffmpegSource.js';
import { sourceKind } from '../src/ingest/sourceUrl.js';
import { repoRoot } from '../src/tools/repoRoot.js';
import type { Clip } from './inputs.js';
import { runFfmpeg } from './inputs.js';
import { startHttpSources } from './sourceServers.js';
import { summarize } from './stats.js';

export type StartupSource = 'rtsp' | 'hls' | 'mpegts-http' | 'mjpeg';

export interface StartupRow {
  source: StartupSource;
  variant: 'before' | 'after';
  /** Each trial's time to first frame, ms (NaN: no frame within the deadline). */
  trialsMs: number[];
  medianMs: number;
}

export interface StartupResult {
  ffmpeg: string;
  keyframeIntervalSeconds: number;
  rows: StartupRow[];
  /** RTSP after: median time to first frame against 1.5 x the keyframe interval + 0.5 s. */
  rtsp: { medianMs: number; targetMs: number; meets: boolean };
}

const OUTPUT = { width: 640, height: 640 };
const DEADLINE_MS = 20_000;

export async function startupBench(o: { clip: Clip; workDir: string; trials: number; log?: (line: string) => void }): Promise<StartupResult> {
  const fps = 15;
  const keyframeIntervalSeconds = 1;
  const dir = join(o.workDir, 'startup');
  await mkdir(dir, { recursive: true });
  // One-second MPEG-TS segments (the clip has a keyframe every second) and JPEGs for the camera.
  await runFfmpeg(['-y', '-i', o.clip.path, '-c', 'copy', '-f', 'segment', '-segment_time', '1', '-reset_timestamps', '0', join(dir, 'seg%d.ts')]);
  const segments = (await readdir(dir)).filter((f) => /^seg\d+\.ts$/.test(f)).sort((a, b) => Number(a.slice(3, -3)) - Number(b.slice(3, -3))).map((f) => join(dir, f));
  await runFfmpeg(['-y', '-i', o.clip.path, '-frames:v', String(fps), '-q:v', '5', join(dir, 'j%02d.jpg')]);
  const jpegs = await Promise.all(Array.from({ length: fps }, (_, i) => readFile(join(dir, `j${String(i + 1).padStart(2, '0')}.jpg`))));
  const http = await startHttpSources({
    hlsLive: { '/live.m3u8': { segments, segmentSeconds: 1, window: 4 } },
    liveTs: { '/live.ts': o.clip.path },
    mjpeg: { '/mjpeg': { jpegs, fps } },
  });
  const rtsp = await startRtsp(o.clip.path);
  const urls: Record<StartupSource, string> = { rtsp: rtsp.url, hls: http.url('/live.m3u8'), 'mpegts-http': http.url('/live.ts'), mjpeg: http.url('/mjpeg') };
  const rows: StartupRow[] = [];
  try {
    // The encoder and the playlist run for a few seconds before anyone joins.
    await new Promise((r) => setTimeout(r, 4000));
    for (const source of Object.keys(urls) as StartupSource[]) {
      for (const variant of ['before', 'after'] as const) {
        const trialsMs: number[] = [];
        for (let t = 0; t < o.trials; t++) trialsMs.push(variant === 'after' ? await timeAfter(urls[source]) : await timeBefore(urls[source]));
        const done = trialsMs.filter(Number.isFinite);
        rows.push({ source, variant, trialsMs, medianMs: summarize(done).p50 });
        o.log?.(`bench:   startup ${source} ${variant}: ${trialsMs.map((v) => v.toFixed(0)).join(' ')} ms`);
      }
    }
  } finally {
    rtsp.stop();
    await http.close();
  }
  const after = rows.find((r) => r.source === 'rtsp' && r.variant === 'after')!;
  const targetMs = 1.5 * keyframeIntervalSeconds * 1000 + 500;
  return { ffmpeg: `${ffmpegChoice().version} (${ffmpegChoice().origin})`, keyframeIntervalSeconds, rows, rtsp: { medianMs: after.medianMs, targetMs, meets: after.medianMs <= targetMs } };
}

/** Now: the source as the runner opens it, until its first frame. */
async function timeAfter(url: string): Promise<number> {
  const t0 = performance.now();
  const source = await ffmpegSources.open({ streamId: 'bench', url, output: OUTPUT, openTimeoutMs: DEADLINE_MS });
  try {
    const first = await source.frames(OUTPUT).next();
    return first.done ? NaN : performance.now() - t0;
  } finally {
    await source.stop();
  }
}

/** Until issue 13: ffprobe with default probing, then ffmpeg with nobuffer, until its first frame. */
async function timeBefore(url: string): Promise<number> {
  const t0 = performance.now();
  const probe = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-print_format', 'json', '-show_streams', '-select_streams', 'v:0', ...legacyInput(url, ffmpegChoice().libavformat[0])], { binary: 'ffprobe' });
  const timer = setTimeout(() => void probe.stop(), DEADLINE_MS);
  probe.stdout.resume();
  const probed = await probe.exited;
  clearTimeout(timer);
  if (probed.code !== 0) return NaN;
  // The same decode graph as now, with the input options of then.
  const args = decodeArgs({ url, dstWidth: OUTPUT.width, dstHeight: OUTPUT.height }, ffmpegPath());
  const i = args.indexOf('-protocol_whitelist');
  const j = args.indexOf('-i', i);
  args.splice(i, j + 2 - i, ...legacyInput(url, ffmpegChoice().libavformat[0]));
  const decoder = spawnFfmpeg(args);
  const frameBytes = OUTPUT.width * OUTPUT.height * 3;
  return new Promise<number>((resolve) => {
    let got = 0;
    const finish = (ms: number): void => {
      clearTimeout(deadline);
      void decoder.stop().then(() => resolve(ms));
    };
    const deadline = setTimeout(() => finish(NaN), DEADLINE_MS);
    decoder.stdout.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= frameBytes) finish(performance.now() - t0);
    });
    void decoder.exited.then(() => finish(got >= frameBytes ? performance.now() - t0 : NaN));
  });
}

/** The input options every network URL got before issue 13 (ffmpeg.ts at that time). */
function legacyInput(url: string, lavfMajor: number): string[] {
  const args = ['-protocol_whitelist', protocolWhitelist(url)];
  if (sourceKind(url) === 'rtsp') args.push('-rtsp_transport', 'tcp', lavfMajor >= 59 ? '-timeout' : '-stimeout', '5000000');
  else args.push('-rw_timeout', '5000000');
  return [...args, '-fflags', 'nobuffer', '-flags', 'low_delay', '-i', url];
}

/** The GStreamer RTSP fixture: every session starts one access unit after the clip's first keyframe. */
async function startRtsp(file: string): Promise<{ url: string; stop(): void }> {
  const script = join(repoRoot(), 'test', 'fixtures', 'rtsp_server.py');
  const child: ChildProcess = spawn(process.env.RTSP_SERVER_PYTHON || '/usr/bin/python3', [script, '--file', file, '--port', '0', '--start-frame', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('rtsp_server: not ready within 60 s')), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (rtsp:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rtsp_server exited (${code}) before it was ready`));
    });
  });
  return { url, stop: () => void child.kill('SIGTERM') };
}
