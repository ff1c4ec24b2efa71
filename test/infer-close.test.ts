/**
 * Issue 8: closing a Detector while session.run is in flight must not crash the process.
 * Terminating the worker mid-run used to abort node from onnxruntime's native completion callback
 * ("terminate called after throwing an instance of 'Napi::Error'"), so the race runs in a child
 * process whose exit status is checked.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { Detector } from '../src/infer/detector.js';

let model: string;
beforeAll(async () => {
  model = await ensureModel('synthetic-det');
});

function blankFrame(w: number, h: number) {
  return { rgb: new Uint8Array(w * h * 3), letterbox: { srcWidth: w, srcHeight: h, dstWidth: w, dstHeight: h, resizedWidth: w, resizedHeight: h, padX: 0, padY: 0, scale: 1 } };
}

describe('Detector.close() during inference', () => {
  it('rejects waiting calls at once and closes without killing the process (child process, 12 races)', async () => {
    const detectorUrl = pathToFileURL(join(process.cwd(), 'dist/src/infer/detector.js')).href;
    const script = join(mkdtempSync(join(tmpdir(), 'streamlens-close-')), 'race.mjs');
    // Three runs per detector, closed at each point of their life in turn: before any result
    // (runs waiting, the first in the session), or right after the first, second or third result
    // (the next run in the session, if any).
    writeFileSync(
      script,
      `import { Detector } from ${JSON.stringify(detectorUrl)};
let rejected = 0, resolved = 0;
for (let i = 0; i < 12; i++) {
  const d = await Detector.open({ path: ${JSON.stringify(model)}, providers: ['cpu'], intraOpThreads: 1 });
  const w = d.info.inputWidth, h = d.info.inputHeight;
  const lb = { srcWidth: w, srcHeight: h, dstWidth: w, dstHeight: h, resizedWidth: w, resizedHeight: h, padX: 0, padY: 0, scale: 1 };
  const runs = [];
  for (let k = 0; k < 3; k++) runs.push(d.detect([{ rgb: new Uint8Array(w * h * 3), letterbox: lb }], { conf: 0.25 }).then(() => resolved++, () => rejected++));
  const resultsBeforeClose = i % 4;
  if (resultsBeforeClose > 0) await runs[resultsBeforeClose - 1];
  await d.close();
  await Promise.all(runs);
}
console.log(JSON.stringify({ rejected, resolved }));
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 100_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    clearTimeout(kill);
    expect(err).not.toMatch(/terminate called|Napi::Error|Aborted/);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const counts = JSON.parse(out.trim().split('\n').at(-1)!) as { rejected: number; resolved: number };
    expect(counts.rejected + counts.resolved).toBe(36);
    // Closed before any result: all three reject (3 detectors); after k results: at least k resolved.
    expect(counts.rejected).toBeGreaterThanOrEqual(9);
    expect(counts.resolved).toBeGreaterThanOrEqual(3 * (1 + 2 + 3));
  });

  it('in process: close() while a run is in flight resolves once the worker has let go; waiting runs reject; later calls reject', async () => {
    const d = await Detector.open({ path: model, providers: ['cpu'], intraOpThreads: 1 });
    const { inputWidth: w, inputHeight: h } = d.info;
    const runs = [1, 2, 3].map(() => d.detect([blankFrame(w, h)], { conf: 0.25 }).then(() => 'ok', (e: Error) => e.message));
    // Once the first result is in, the second run is in the session and the third waits for it.
    expect(await runs[0]).toBe('ok');
    // No grace period to fall back on: close() resolves when the worker reports its session released.
    await d.close(10 * 60_000);
    expect(await Promise.all(runs)).toEqual(['ok', 'detector is closed', 'detector is closed']);
    await expect(d.detect([blankFrame(w, h)], { conf: 0.25 })).rejects.toThrow('detector is closed');
    await d.close(); // idempotent
  });

  it('a call made in the same turn as close() rejects instead of waiting forever', async () => {
    const d = await Detector.open({ path: model, providers: ['cpu'], intraOpThreads: 1 });
    const { inputWidth: w, inputHeight: h } = d.info;
    const run = d.detect([blankFrame(w, h)], { conf: 0.25 }).then(() => 'ok', (e: Error) => e.message);
    await d.close();
    expect(await run).toBe('detector is closed');
  });
});
