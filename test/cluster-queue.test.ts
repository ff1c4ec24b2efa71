/**
 * Queued analysis on a real redis-server with real `streamlens worker` processes: 3 files, 2
 * workers, one SIGKILLed mid-job -> 3 complete results and no partial file left; a bad input fails
 * once, with its reason; `streamlens jobs` and GET /api/jobs on a cluster node list the same jobs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { startServeCli } from './helpers/serveCli.js';
import { holdClosedPort } from './helpers/closedPort.js';
import { untilValue } from './helpers/until.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { JobQueue, type JobSummary } from '../src/cluster/jobQueue.js';

const cli = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
let redis: RedisServer;
let dir: string;
let model: string;
let clipFrames: number;
const workers: ChildProcess[] = [];

function startWorker(name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'worker', '--queue', redis.url, '--lock-ms', '2000', '--name', name], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STREAMLENS_LOG_LEVEL: 'warn' } });
  workers.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('taking jobs')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}: ${err}`)));
  });
}

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, STREAMLENS_LOG_LEVEL: 'warn' }, timeout: 240_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  const [demo, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det', { imgsz: 320 })]);
  model = m;
  clipFrames = demo.frames;
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'streamlens-queue-'));
  mkdirSync(join(dir, 'in'));
  for (const n of ['a', 'b', 'c']) copyFileSync(demo.video, join(dir, 'in', `${n}.mp4`));
  writeFileSync(join(dir, 'bad.mp4'), 'this is not a video\n');
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await redis?.close();
});

describe('queued analysis (BullMQ on a real Redis)', () => {
  it('3 files, 2 workers, one SIGKILLed mid-job: 3 complete results, no partial file left', async () => {
    const out = join(dir, 'out');
    const [w1] = await Promise.all([startWorker('w1'), startWorker('w2')]);
    const queued = await runCli(['analyze', '--queue', redis.url, join(dir, 'in'), '--model', model, '--out-dir', out]);
    expect(queued.code, queued.stderr).toBe(0);
    const ids = [...queued.stdout.matchAll(/^queued job (\S+): /gm)].map((m) => m[1]);
    expect(ids).toHaveLength(3);

    const queue = new JobQueue(redis.url);
    try {
      // Kill w1 once its job has made progress, and before it is done.
      const victim = await untilValue(
        async () => (await queue.list()).find((j) => j.state === 'active' && j.worker === 'w1' && (j.progress?.done ?? 0) > 0 && j.progress!.done < (j.progress!.total ?? Infinity)),
        120_000,
        'w1 to be in the middle of a job',
      );
      w1.kill('SIGKILL');
      const partial = readdirSync(out).filter((n) => n.startsWith('.'));
      expect(partial.length).toBeGreaterThan(0);

      const done = await queue.wait(ids, () => undefined, 200);
      expect(done.map((j) => j.state)).toEqual(['completed', 'completed', 'completed']);
      const again = done.find((j) => j.id === victim.id)!;
      expect(again.worker).toBe('w2');
      // Every frame of every input, under the final names only.
      expect(readdirSync(out).sort()).toEqual(['a.jsonl', 'b.jsonl', 'c.jsonl']);
      for (const j of done) {
        const lines = readFileSync(j.outputs[0], 'utf8').trimEnd().split('\n');
        expect(lines.length).toBe(j.result!.frames);
        expect(lines.map((l) => JSON.parse(l).frame)).toEqual(Array.from({ length: lines.length }, (_, i) => i));
      }
      const n = done[0].result!.frames;
      for (const j of done) expect(j.result!.frames).toBe(n);
      expect(n).toBe(clipFrames);

      const listed = await runCli(['jobs', '--queue', redis.url, '--json']);
      expect(listed.code).toBe(0);
      const jobs = (JSON.parse(listed.stdout) as { jobs: JobSummary[] }).jobs;
      expect(jobs.filter((j) => ids.includes(j.id)).map((j) => j.state)).toEqual(['completed', 'completed', 'completed']);
    } finally {
      await queue.close();
    }
  });

  it('a bad input fails once, with its reason, and nothing is written', async () => {
    const out = join(dir, 'out-bad');
    const res = await runCli(['analyze', '--queue', redis.url, join(dir, 'bad.mp4'), '--model', model, '--out-dir', out, '--wait']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/1 of 1 jobs failed: .*bad\.mp4 \(.*not a video/);
    const id = /^queued job (\S+): /m.exec(res.stdout)![1];
    const queue = new JobQueue(redis.url);
    try {
      const job = (await queue.get(id))!;
      expect(job.state).toBe('failed');
      expect(job.attempts).toBe(1);
      expect(job.error).toMatch(/not a video/);
    } finally {
      await queue.close();
    }
    expect(readdirSync(out)).toEqual([]);

    // Without a Redis to reach, the commands give up with the reason instead of waiting forever.
    const closed = await holdClosedPort();
    try {
      const unreachable = await runCli(['jobs', '--queue', `redis://127.0.0.1:${closed.port}`]);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toContain('ECONNREFUSED');
    } finally {
      await closed.release();
    }

    // A cluster node shows the same jobs as `streamlens jobs`.
    const config = join(dir, 'empty.json');
    writeFileSync(config, '{}');
    const node = await startServeCli(['--config', config, '--port', '0', '--cluster', redis.url, '--node-id', 'jobs-node']);
    try {
      const api = await new Promise<{ jobs: JobSummary[] }>((resolve, reject) =>
        get(`${node.url}/api/jobs`, { agent: false }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve(JSON.parse(body)));
        }).on('error', reject),
      );
      const cliList = JSON.parse((await runCli(['jobs', '--queue', redis.url, '--json'])).stdout) as { jobs: JobSummary[] };
      expect(api.jobs.map((j) => [j.id, j.state, j.error])).toEqual(cliList.jobs.map((j) => [j.id, j.state, j.error]));
      expect(api.jobs.map((j) => j.state).sort()).toEqual(['completed', 'completed', 'completed', 'failed']);
    } finally {
      node.child.kill('SIGTERM');
      await node.exited;
    }
  });
});
