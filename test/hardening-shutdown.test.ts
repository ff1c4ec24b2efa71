/**
 * Issue 20, start and stop of `streamlens serve` as users run it (the built CLI): a port in use
 * ends it at once with status 1 and nothing started (item 10); an /api/detect request in progress
 * when SIGINT arrives is answered, not reset (item 11).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { startServeCli } from './helpers/serveCli.js';

const cli = join(process.cwd(), 'dist/src/cli/main.js');
let dir: string;
let clip: string;
let model: string;

beforeAll(async () => {
  [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
  dir = mkdtempSync(join(tmpdir(), 'streamlens-start-stop-'));
});

/** Processes whose command line names `text` (ps, independent of any bookkeeping). */
function processesNaming(text: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(text) && !l.includes('ps -eo'));
}

describe('streamlens serve: start and stop', () => {
  it('a port in use: exits 1 at once, naming EADDRINUSE, having started no stream', async () => {
    const held: Server = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const port = (held.address() as { port: number }).port;
    // A file of its own, so its ffmpeg (there must be none) can be told from others'.
    const media = mkdtempSync(join(dir, 'media-'));
    const file = join(media, 'busy-port-clip.mp4');
    copyFileSync(clip, file);
    const config = join(dir, 'busy.json');
    writeFileSync(config, JSON.stringify({ server: { mediaFolders: [media] }, models: { [model]: { intraOpThreads: 1 } }, streams: [{ id: 'demo', url: file, loop: true }] }));
    const t0 = Date.now();
    const child = spawn(process.execPath, [cli, 'serve', '--config', config, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(-1);
      }, 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    held.close();
    console.log(`serve on a busy port exited ${exited} after ${Date.now() - t0} ms`);
    expect(exited).toBe(1);
    expect(stderr).toMatch(/EADDRINUSE/);
    expect(stderr).not.toMatch(/"msg":"stream state"/);
    expect(processesNaming('busy-port-clip.mp4')).toEqual([]);
  });

  it('SIGINT during an /api/detect upload: the request is answered (200), then the server exits 0', async () => {
    const config = join(dir, 'detect.json');
    writeFileSync(config, JSON.stringify({ models: { [model]: { intraOpThreads: 1 } }, streams: [] }));
    const server = await startServeCli(['--config', config, '--port', '0'], { logLevel: 'info' });
    const png = join(dir, 'frame.png');
    execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', clip, '-frames:v', '1', png]);
    const body = readFileSync(png);
    const half = Math.floor(body.length / 2);
    const answer = new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/detect', headers: { 'content-type': 'image/png', 'content-length': body.length } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      // Half the image, then SIGINT, then the rest: the request is in progress when shutdown begins.
      req.write(body.subarray(0, half), () => {
        server.child.kill('SIGINT');
        setTimeout(() => req.end(body.subarray(half)), 300);
      });
    });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(Array.isArray(res.json.objects)).toBe(true);
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(server.stderr()).toMatch(/"msg":"shutting down"/);
  });
});
