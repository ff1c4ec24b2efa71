/**
 * The demo clip's stable name: ensureDemoClip() with default options keeps demo.mp4 /
 * demo.gt.jsonl pointing at the current synth version (atomically), the clip has a keyframe every
 * second, and `streamlens serve --config streams/demo.json` runs (generating what is missing).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServeCli } from './helpers/serveCli.js';
import { demoClipPath, ensureDemoClip, groundTruthPath, SYNTH_VERSION } from '../src/tools/synth/index.js';
import { ffprobePath } from '../src/ingest/ffmpeg.js';
import { modelsDir } from '../src/tools/modelgen/index.js';


function sameInode(a: string, b: string): boolean {
  const sa = statSync(a);
  const sb = statSync(b);
  return sa.ino === sb.ino && sa.dev === sb.dev;
}

/** Runs `streamlens serve` with `args` until one WebSocket client got `n` detections; then SIGTERM. */
async function serveUntilDetections(args: string[], n: number): Promise<{ code: number | null; stderr: string; detections: number }> {
  const server = await startServeCli([...args, '--port', '0'], { logLevel: 'info', timeoutMs: 90_000 });
  const { child, url } = server;
  let detections = 0;
  try {
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', streams: ['demo'] })));
      ws.on('message', (data) => {
        if ((JSON.parse(data.toString()) as { type: string }).type === 'detections' && ++detections >= n) resolve();
      });
      ws.on('error', reject);
      setTimeout(() => reject(new Error(`only ${detections} detections\n${server.stderr()}`)), 60_000).unref();
    });
    ws.terminate();
  } finally {
    child.kill('SIGTERM');
  }
  return { code: (await server.exited).code, stderr: server.stderr(), detections };
}

describe('demo clip with a stable name', () => {
  it('keeps demo.mp4 and demo.gt.jsonl linked to the current version, with a keyframe every second', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-demo-'));
    const clip = await ensureDemoClip({ dir });
    expect(clip.video).toBe(join(dir, `synth-v${SYNTH_VERSION}-640x480-15fps-12s-seed1-n10.mp4`));
    const demo = demoClipPath(dir);
    expect(sameInode(demo, clip.video)).toBe(true);
    expect(sameInode(groundTruthPath(demo), clip.groundTruth)).toBe(true);

    // A stale demo.mp4 (an older version) is replaced on the next call.
    rmSync(demo);
    writeFileSync(demo, 'old version');
    await ensureDemoClip({ dir });
    expect(sameInode(demo, clip.video)).toBe(true);
    expect(readFileSync(groundTruthPath(demo), 'utf8')).toBe(readFileSync(clip.groundTruth, 'utf8'));

    // Keyframes at most a second (15 frames) apart; x264 may place them a frame early.
    const keys = execFileSync(ffprobePath(), ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', demo], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .flatMap((k, i) => (k.startsWith('1') ? [i] : []));
    expect(keys[0]).toBe(0);
    expect(keys.length).toBeGreaterThanOrEqual(12);
    for (let i = 1; i < keys.length; i++) expect(keys[i] - keys[i - 1]).toBeLessThanOrEqual(15);
    expect(180 - keys.at(-1)!).toBeLessThanOrEqual(15);
    rmSync(dir, { recursive: true, force: true });
  });

  it('other clip options leave demo.mp4 alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-demo-'));
    await ensureDemoClip({ dir, seconds: 1 });
    expect(existsSync(demoClipPath(dir))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('streamlens serve --config with generated files', () => {
  it('runs streams/demo.json (media/demo.mp4)', async () => {
    const r = await serveUntilDetections(['--config', join(process.cwd(), 'streams', 'demo.json')], 5);
    expect(r.detections).toBeGreaterThanOrEqual(5);
    expect(r.code).toBe(0);
    expect(existsSync(demoClipPath())).toBe(true);
    // Fallback warnings are single lines, at most one per unavailable provider.
    const warnings = r.stderr.split('\n').filter((l) => l.includes('"level":"warn"'));
    expect(warnings.length).toBeLessThanOrEqual(2);
  });

  it('generates a missing built-in model named in the config', async () => {
    const model = join(modelsDir(), 'synthetic-det-320-b3.onnx');
    rmSync(model, { force: true });
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-demo-cfg-'));
    const file = join(dir, 'cfg.json');
    writeFileSync(
      file,
      JSON.stringify({
        server: { mediaFolders: [join(process.cwd(), 'streams', 'media')] },
        models: { [model]: { providers: ['cpu'], intraOpThreads: 1 } },
        streams: [{ id: 'demo', url: demoClipPath(), loop: true, video: false }],
      }),
    );
    try {
      const r = await serveUntilDetections(['--config', file], 3);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('generating a built-in model');
      expect(existsSync(model)).toBe(true);
    } finally {
      rmSync(model, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
