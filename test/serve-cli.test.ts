/**
 * `streamlens serve` as users run it (the built CLI): bad config exits 2 naming the field;
 * SIGTERM closes WebSockets with 1001, ends every ffmpeg and exits 0.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServeCli } from './helpers/serveCli.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { childPids, alive } from './helpers/processes.js';

const cli = join(process.cwd(), 'dist/src/cli/main.js');
let dir: string;
let clip: string;
let model: string;

beforeAll(async () => {
  [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
  dir = mkdtempSync(join(tmpdir(), 'streamlens-cli-'));
});

describe('streamlens serve (CLI)', () => {
  it('exits 2 and names the field for a bad config', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ streams: [{ id: 'a', url: 'rtsp://h/s', model: 'm.onnx', dropPolicy: 'fast' }] }));
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [cli, 'serve', '--config', file], { encoding: 'utf8', stdio: 'pipe', timeout: 60_000 });
    } catch (err) {
      ({ status, stderr } = err as { status: number; stderr: string });
    }
    expect(status).toBe(2);
    expect(stderr).toContain('streams[0].dropPolicy: expected "latest", "all" or "queue:N" (N >= 1), got "fast"');
  });

  it('shuts down gracefully on SIGTERM: 1001 to clients, no ffmpeg left, exit 0', async () => {
    const file = join(dir, 'ok.json');
    writeFileSync(
      file,
      JSON.stringify({
        server: { mediaFolders: [dirname(clip)] },
        models: { [model]: { intraOpThreads: 1 } },
        streams: [{ id: 'demo', url: clip, loop: true, video: true }],
      }),
    );
    const server = await startServeCli(['--config', file, '--port', '0'], { timeoutMs: 30_000 });
    const { child, url } = server;
    const exited = server.exited.then((e) => e.code);
    try {
      const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      let detections = 0;
      ws.on('message', (data, isBinary) => {
        if (!isBinary && JSON.parse(data.toString()).type === 'detections') detections++;
      });
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'subscribe', streams: ['demo'], video: true }));
      const end = Date.now() + 30_000;
      while (detections < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(detections).toBeGreaterThanOrEqual(5);
      const ffmpegs = childPids(child.pid!).filter((p) => /ffmpeg/.test(execFileSync('ps', ['-o', 'comm=', '-p', String(p)], { encoding: 'utf8' })));
      expect(ffmpegs.length).toBeGreaterThanOrEqual(1);

      child.kill('SIGTERM');
      expect(await closed).toBe(1001);
      expect(await exited).toBe(0);
      for (const pid of ffmpegs) expect(alive(pid)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
