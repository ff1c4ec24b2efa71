/**
 * Issue 13: ffmpeg and ffprobe children die with their parent, also when it is killed with SIGKILL
 * (no exit handler runs then). A real Node process owns real children through src/ingest; the test
 * kills it and watches its children go.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from './helpers/processes.js';
import { startSilentServer, type SilentServer } from './helpers/silentServer.js';

const ingest = (file: string): string => fileURLToPath(new URL(`../dist/src/ingest/${file}`, import.meta.url));
let silent: SilentServer;

beforeAll(async () => {
  silent = await startSilentServer();
});
afterAll(async () => {
  await silent.close();
});

/** Runs `body` (an ES module) in a fresh Node process; resolves with the JSON line it prints and the process. */
async function owner(body: string): Promise<{ pids: Record<string, number>; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', body], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    void exited.then(() => reject(new Error(`owner exited early: ${out}`)));
  });
  return {
    pids: JSON.parse(line) as Record<string, number>,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function gone(pids: number[], withinMs: number): Promise<number[]> {
  const end = Date.now() + withinMs;
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

describe('children of a SIGKILLed process', () => {
  it('decoding ffmpeg and an ffprobe probing a silent camera exit, and so does the watchdog', async () => {
    const o = await owner(`
      import { spawnFfmpeg } from ${JSON.stringify(ingest('ffmpeg.js'))};
      import { watchdogPid } from ${JSON.stringify(ingest('childWatchdog.js'))};
      const a = spawnFfmpeg(['-nostdin', '-f', 'lavfi', '-i', 'testsrc2=rate=5', '-f', 'null', '-']);
      const b = spawnFfmpeg(['-nostdin', '-f', 'lavfi', '-i', 'testsrc2=rate=5', '-f', 'null', '-']);
      const probe = spawnFfmpeg(['-v', 'error', '-rw_timeout', '600000000', '-i', 'http://127.0.0.1:${silent.port}/cam'], { binary: 'ffprobe' });
      setInterval(() => {}, 1000);
      console.log(JSON.stringify({ a: a.pid, b: b.pid, probe: probe.pid, watchdog: watchdogPid() }));
    `);
    const pids = Object.values(o.pids);
    expect(pids).toHaveLength(4);
    expect(pids.every(alive)).toBe(true);
    await o.kill();
    expect(await gone(pids, 5000)).toEqual([]);
  });

  it('only children still registered are killed: one that was unregistered (it exited, its pid may be reused) is left alone', async () => {
    const o = await owner(`
      import { spawn } from 'node:child_process';
      import { watchChild } from ${JSON.stringify(ingest('childWatchdog.js'))};
      const sleeps = [0, 1, 2].map(() => spawn('sleep', ['60'], { stdio: 'ignore', detached: true }));
      const unwatch = sleeps.map((s) => watchChild(s.pid));
      unwatch[1]();
      unwatch[1](); // twice is once
      setInterval(() => {}, 1000);
      console.log(JSON.stringify({ a: sleeps[0].pid, b: sleeps[1].pid, c: sleeps[2].pid }));
    `);
    try {
      await o.kill();
      expect(await gone([o.pids.a, o.pids.c], 5000)).toEqual([]);
      await new Promise((r) => setTimeout(r, 300));
      expect(alive(o.pids.b)).toBe(true);
    } finally {
      for (const pid of Object.values(o.pids)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
