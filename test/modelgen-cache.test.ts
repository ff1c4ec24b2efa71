import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ensureModel, readMetadata, repoRoot, MODELGEN_VERSION } from '../src/tools/modelgen/index.js';

describe('ensureModel', () => {
  it('builds on demand into <dir>/<name>-<imgsz>[-b<batch>].onnx and reuses the cached file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelgen-'));
    const path = await ensureModel('synthetic-det', { imgsz: 320, dir });
    expect(path).toBe(join(dir, 'synthetic-det-320.onnx'));
    const first = statSync(path).mtimeMs;
    expect(await ensureModel('synthetic-det', { imgsz: 320, dir })).toBe(path);
    expect(statSync(path).mtimeMs).toBe(first);
    const fixed = await ensureModel('synthetic-det', { imgsz: 320, batch: 1, dir });
    expect(fixed).toBe(join(dir, 'synthetic-det-320-b1.onnx'));
    expect(readdirSync(dir).sort()).toEqual(['synthetic-det-320-b1.onnx', 'synthetic-det-320.onnx']);
    const meta = readMetadata(readFileSync(path));
    expect(meta).toMatchObject({
      names: "{0: 'red', 1: 'green', 2: 'blue', 3: 'yellow'}",
      imgsz: '[320, 320]',
      stride: '32',
      task: 'detect',
      end2end: 'True',
      modelgen: MODELGEN_VERSION,
    });
    const s = await ort.InferenceSession.create(fixed);
    expect(s.inputNames).toEqual(['images']);
    expect(s.outputNames).toEqual(['output0']);
  });

  it('rebuilds a file that is corrupt or from another builder version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelgen-'));
    writeFileSync(join(dir, 'synthetic-seg-320.onnx'), 'not a model');
    const path = await ensureModel('synthetic-seg', { imgsz: 320, dir });
    const s = await ort.InferenceSession.create(path);
    expect(s.outputNames).toEqual(['output0', 'output1']);
    expect(readMetadata(readFileSync(path)).task).toBe('segment');
  });

  it('rejects unknown names and bad sizes with a reason', async () => {
    await expect(ensureModel('nope' as 'synthetic-det')).rejects.toThrow(/unknown model 'nope'/);
    await expect(ensureModel('synthetic-det', { imgsz: 300, dir: tmpdir() })).rejects.toThrow(/multiple of 32/);
  });

  it('finds the repository root from the source tree', () => {
    expect(JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).name).toBe('streamlens');
  });
});
