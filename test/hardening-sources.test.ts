/**
 * Issue 20, file sources and ffmpeg restarts against a real server (real ffmpeg, real model): a
 * file that is missing, truncated to nothing or renamed away during a restart is retried with
 * backoff and the reason shown, and recovers once it is back (item 3); a frozen ffmpeg (SIGSTOP)
 * is gone before its replacement starts (item 7).
 */
import { copyFileSync, mkdtempSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import type { RunningServer } from '../src/serve/server.js';
import { api, ffmpegChildPids, sleep, startTestServer, until, type Json } from './helpers/serveHarness.js';
import { alive } from './helpers/processes.js';

let server: RunningServer;
let media: string;
let clip: string;
let model: string;

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** This process's ffmpeg/ffprobe children reading `file`. */
const readers = (file: string): number[] => ffmpegChildPids().filter((pid) => cmdline(pid).includes(file));
const decoder = (file: string): number | undefined => readers(file).find((pid) => cmdline(pid).includes('rawvideo'));

async function stream(id: string): Promise<Json> {
  return (await api(server, 'GET', `/api/streams/${id}`)).json;
}

async function add(id: string, file: string, extra: Json = {}): Promise<void> {
  const res = await api(server, 'POST', '/api/streams', { id, url: file, model, loop: true, realtime: true, video: false, stallTimeoutSeconds: 2, reconnect: { initialMs: 200, maxMs: 1000 }, ...extra });
  expect(res.status).toBe(201);
}

async function framesFlow(id: string): Promise<void> {
  const s0 = await stream(id);
  await until(async () => (await stream(id)).framesSent > s0.framesSent + 5, 60_000, `${id} frames`);
  expect((await stream(id)).state).toBe('streaming');
}

beforeAll(async () => {
  [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
  media = mkdtempSync(join(tmpdir(), 'streamlens-sources-'));
  server = await startTestServer({ models: { [model]: { intraOpThreads: 1 } }, server: { mediaFolders: [media, dirname(clip)] } }, process.cwd());
});

afterAll(async () => {
  await server?.close();
});

describe('file sources that come back (item 3)', () => {
  it('a missing file: reconnecting with "input not found", streaming once it appears', async () => {
    const file = join(media, 'later.mp4');
    await add('later', file);
    await until(async () => (await stream('later')).state === 'reconnecting', 30_000, 'reconnecting');
    const s = await stream('later');
    expect(s.lastError).toBe(`input not found: ${file}`);
    await until(async () => (await stream('later')).reconnects >= 2, 30_000, 'a second retry');
    copyFileSync(clip, file);
    await framesFlow('later');
    expect((await stream('later')).lastError).toBeUndefined();
    expect((await api(server, 'DELETE', '/api/streams/later')).status).toBe(204);
  });

  it('a file truncated to 0 bytes while streaming: retried ("empty file"), streaming again once restored', async () => {
    const file = join(media, 'shrinks.mp4');
    copyFileSync(clip, file);
    const whole = readFileSync(file);
    await add('shrinks', file);
    await framesFlow('shrinks');
    truncateSync(file, 0);
    // The running decoder ends (a looped file must not), stalls or fails; the next attempts find an empty file.
    await until(async () => (await stream('shrinks')).lastError === `empty file: ${file}`, 60_000, 'empty file');
    expect((await stream('shrinks')).state).toBe('reconnecting');
    writeFileSync(file, whole);
    await framesFlow('shrinks');
    expect((await api(server, 'DELETE', '/api/streams/shrinks')).status).toBe(204);
  });

  it('a file renamed away for 3 s during a decoder restart recovers', async () => {
    const file = join(media, 'moved.mp4');
    copyFileSync(clip, file);
    await add('moved', file);
    await framesFlow('moved');
    const pid = decoder(file);
    expect(pid).toBeDefined();
    renameSync(file, file + '.away');
    process.kill(pid!, 'SIGKILL');
    await until(async () => (await stream('moved')).lastError === `input not found: ${file}`, 30_000, 'input not found');
    await sleep(3000);
    renameSync(file + '.away', file);
    await framesFlow('moved');
    expect((await api(server, 'DELETE', '/api/streams/moved')).status).toBe(204);
  });
});

describe('a frozen ffmpeg (item 7)', () => {
  it('SIGSTOP: the stall restarts the decoder, and the frozen one is gone before its replacement starts', async () => {
    const file = join(media, 'frozen.mp4');
    copyFileSync(clip, file);
    await add('frozen', file);
    await framesFlow('frozen');
    const frozen = decoder(file)!;
    expect(frozen).toBeDefined();
    const r0 = (await stream('frozen')).reconnects;
    process.kill(frozen, 'SIGSTOP');
    // Watch every ffmpeg/ffprobe child reading the file until the replacement decodes.
    let together = 0;
    let replacement: number | undefined;
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const pids = readers(file);
      if (pids.includes(frozen) && pids.some((p) => p !== frozen)) together++;
      replacement = decoder(file);
      if (replacement !== undefined && replacement !== frozen) break;
      await sleep(20);
    }
    expect(replacement).toBeDefined();
    expect(replacement).not.toBe(frozen);
    expect(alive(frozen)).toBe(false);
    expect(together).toBe(0);
    expect((await stream('frozen')).reconnects).toBeGreaterThan(r0);
    await framesFlow('frozen');
    expect((await api(server, 'DELETE', '/api/streams/frozen')).status).toBe(204);
  });
});
