/**
 * `streamlens analyze` end to end: a synthetic clip with ground truth, the project's own detector,
 * the real CLI process, and the result file checked frame by frame.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { OnnxGraphBuilder } from '../src/tools/modelgen/onnxBuilder.js';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';
import { matchFrame, type ResultDetection } from './helpers/detectionMetrics.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const vtest = fileURLToPath(new URL('../../shared/data/vtest.avi', import.meta.url));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], timeoutMs = 240_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Line {
  frame: number;
  pts: number;
  width: number;
  height: number;
  detections: ResultDetection[];
}

const readLines = (path: string): Line[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);

describe('analyze on the synthetic scene', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-analyze-'));
  let gt: GtFrame[];
  let lines: Line[];
  let run: CliRun;

  beforeAll(async () => {
    // A seed the detector was not developed on.
    const clip = await generateClip({ out: join(dir, 'scene.mp4'), seed: 1234, seconds: 10, targets: 10 });
    gt = await readGroundTruth(clip.groundTruth);
    const model = await ensureModel('synthetic-det', { imgsz: 640 });
    run = await runCli(['analyze', clip.video, '--model', model, '--out', join(dir, 'out.jsonl')]);
    lines = readLines(join(dir, 'out.jsonl'));
  }, 300_000);

  it('exits 0 with a summary line', () => {
    expect(run.stderr).toMatch(/analyzed \d+ frames in [\d.]+ s \([\d.]+ fps\)/);
    expect(run.code).toBe(0);
  });

  it('writes every decoded frame exactly once, in order', () => {
    expect(lines.length).toBe(gt.length);
    lines.forEach((l, i) => {
      expect(l.frame).toBe(i);
      expect(l.width).toBe(640);
      expect(l.height).toBe(480);
    });
    for (let i = 1; i < lines.length; i++) expect(lines[i].pts).toBeGreaterThan(lines[i - 1].pts);
  });

  it('finds the targets: precision >= 0.99 and recall >= 0.95 at IoU 0.5 (targets at least half visible)', () => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < gt.length; i++) {
      const m = matchFrame(gt[i], lines[i].detections);
      tp += m.tp;
      fp += m.fp;
      fn += m.fn;
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    expect(tp).toBeGreaterThan(500);
    expect(precision).toBeGreaterThanOrEqual(0.99);
    expect(recall).toBeGreaterThanOrEqual(0.95);
  });

  it('gives tracked objects stable ids (track_id on confirmed tracks)', () => {
    const withIds = lines.flatMap((l) => l.detections).filter((d) => d.track_id !== undefined);
    expect(withIds.length).toBeGreaterThan(0.8 * lines.flatMap((l) => l.detections).length);
  });

  it('writes MOTChallenge rows with --format mot', async () => {
    const model = await ensureModel('synthetic-det', { imgsz: 640 });
    const out = join(dir, 'scene.txt');
    const r = await runCli(['analyze', join(dir, 'scene.mp4'), '--model', model, '--out', out, '--format', 'mot']);
    expect(r.code).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(rows.length).toBeGreaterThan(500);
    for (const row of rows) {
      expect(row).toHaveLength(10);
      const frame = Number(row[0]);
      expect(frame).toBeGreaterThanOrEqual(1);
      expect(frame).toBeLessThanOrEqual(gt.length);
      expect(Number(row[1])).toBeGreaterThan(0);
      expect(row.slice(7)).toEqual(['-1', '-1', '-1']);
    }
  });
});

describe('analyze on real footage', () => {
  it('processes all 795 frames of vtest.avi', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-vtest-'));
    const out = join(dir, 'vtest.jsonl');
    const r = await runCli(['analyze', vtest, '--model', 'synthetic-det', '--out', out, '--no-track']);
    expect(r.code).toBe(0);
    const lines = readLines(out);
    expect(lines).toHaveLength(795);
    expect(lines[794].frame).toBe(794);
    expect(lines[0]).toMatchObject({ width: 768, height: 576 });
  }, 300_000);
});

describe('analyze interrupted', () => {
  it('stops on SIGINT with exit 130, leaving complete lines for a prefix of the frames', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-int-'));
    const out = join(dir, 'vtest.jsonl');
    const child = spawn(process.execPath, [cli, 'analyze', vtest, '--model', 'synthetic-det', '--out', out, '--batch', '1'], { cwd: root });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 20) break;
    }
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(stderr).toMatch(/\(interrupted\)/);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.length).toBeLessThan(795);
    lines.forEach((l, i) => expect(l.frame).toBe(i));
  });
});

describe('analyze a recording whose resolution changes mid-way', () => {
  it('maps every frame with its own letterbox: 640x480, then 640x360, targets found in both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamlens-reschange-'));
    const [a, b] = await Promise.all([
      generateClip({ out: join(dir, 'a.mp4'), width: 640, height: 480, seconds: 3, seed: 4713, targets: 6 }),
      generateClip({ out: join(dir, 'b.mp4'), width: 640, height: 360, seconds: 3, seed: 4712, targets: 6 }),
    ]);
    // One MPEG-TS of both, the second part's timestamps continuing the first's (a camera changing its SPS).
    const ts = async (mp4: string, offset: number): Promise<Buffer> => {
      const out = mp4.replace(/\.mp4$/, '.ts');
      await new Promise<void>((resolve, reject) =>
        execFile(ffmpegPath(), ['-v', 'error', '-y', '-i', mp4, '-c', 'copy', '-bsf:v', 'h264_mp4toannexb', '-output_ts_offset', String(offset), '-f', 'mpegts', out], (err) => (err ? reject(err) : resolve())),
      );
      return readFileSync(out);
    };
    const joined = join(dir, 'joined.ts');
    writeFileSync(joined, Buffer.concat([await ts(a.video, 0), await ts(b.video, 3)]));
    const gt = [...(await readGroundTruth(a.groundTruth)), ...(await readGroundTruth(b.groundTruth))];
    const model = await ensureModel('synthetic-det', { imgsz: 640 });
    const run = await runCli(['analyze', joined, '--model', model, '--out', join(dir, 'out.jsonl')]);
    expect(run.code).toBe(0);
    const lines = readLines(join(dir, 'out.jsonl'));
    expect(lines.length).toBe(a.frames + b.frames);
    lines.forEach((l, i) => expect([l.frame, l.width, l.height]).toEqual(i < a.frames ? [i, 640, 480] : [i, 640, 360]));
    for (const [from, to] of [[0, a.frames], [a.frames, a.frames + b.frames]]) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (let i = from; i < to; i++) {
        const m = matchFrame(gt[i], lines[i].detections);
        tp += m.tp;
        fp += m.fp;
        fn += m.fn;
      }
      expect(tp).toBeGreaterThan(50);
      expect(tp / (tp + fp)).toBeGreaterThanOrEqual(0.97);
      expect(tp / (tp + fn)).toBeGreaterThanOrEqual(0.93);
    }
  });
});

describe('analyze with bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-bad-'));
  let model: string;
  beforeAll(async () => {
    model = await ensureModel('synthetic-det', { imgsz: 320 });
  });

  const expectOneLineFailure = (r: CliRun, pattern: RegExp): void => {
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  };

  it('a missing input file', async () => {
    const r = await runCli(['analyze', join(dir, 'nope.mp4'), '--model', model, '--out', join(dir, 'a.jsonl')]);
    expectOneLineFailure(r, /input not found: .*nope\.mp4/);
  });

  it('a text file', async () => {
    const text = join(dir, 'notes.mp4');
    writeFileSync(text, 'this is not a video\n'.repeat(50));
    const r = await runCli(['analyze', text, '--model', model, '--out', join(dir, 'b.jsonl')]);
    expectOneLineFailure(r, /not a video/);
  });

  it('a truncated MP4: every frame ffmpeg can decode is analysed, and the run succeeds', async () => {
    const clip = await generateClip({ out: join(dir, 'whole.mp4'), seconds: 2, seed: 3 });
    const truncated = join(dir, 'truncated.mp4');
    const bytes = readFileSync(clip.video);
    // Keep the first half: with +faststart the moov atom survives and the media data is cut.
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    // What is there to decode, counted by ffmpeg itself (one framecrc line per decoded frame).
    const decodable = await new Promise<number>((resolve, reject) =>
      execFile(ffmpegPath(), ['-v', 'quiet', '-i', truncated, '-map', '0:v', '-f', 'framecrc', '-'], { maxBuffer: 1 << 24 }, (_err, stdout) =>
        stdout ? resolve(stdout.split('\n').filter((l) => /^\d/.test(l)).length) : reject(new Error('ffmpeg decoded nothing')),
      ),
    );
    expect(decodable).toBeGreaterThan(0);
    expect(decodable).toBeLessThan(clip.frames);
    const out = join(dir, 'c.jsonl');
    const r = await runCli(['analyze', truncated, '--model', model, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`analyzed ${decodable} frames in `);
    expect(readFileSync(out, 'utf8').endsWith('\n')).toBe(true);
    expect(readLines(out).map((l) => l.frame)).toEqual(Array.from({ length: decodable }, (_, i) => i));
  });

  it('a model with the wrong output shape', async () => {
    const g = new OnnxGraphBuilder('wrong-shape');
    const x = g.input('images', 'float32', [1, 3, 64, 64]);
    const pooled = g.op('GlobalAveragePool', [x]);
    const shape = g.int64s('shape', [1, 3, 1]);
    g.output(g.op('Reshape', [pooled, shape], {}, { output: 'output0' }), 'float32', [1, 3, 1]);
    const path = join(dir, 'wrong.onnx');
    writeFileSync(path, g.toBytes({ metadata: { task: 'detect', names: "{0: 'a'}" } }));
    const r = await runCli(['analyze', vtest, '--model', path, '--out', join(dir, 'd.jsonl')]);
    expectOneLineFailure(r, /output0.*\[1,\s?3,\s?1\].*expected/);
  });

  it('a missing model', async () => {
    const r = await runCli(['analyze', vtest, '--model', join(dir, 'missing.onnx'), '--out', join(dir, 'e.jsonl')]);
    expectOneLineFailure(r, /model not found: .*missing\.onnx/);
  });

  it('a file that is not an ONNX model', async () => {
    const fake = join(dir, 'fake.onnx');
    writeFileSync(fake, 'not a model at all, just text');
    const r = await runCli(['analyze', vtest, '--model', fake, '--out', join(dir, 'f.jsonl')]);
    expectOneLineFailure(r, /not an ONNX model/);
  });

  it('a --decode-nice outside 0..19 is a usage error (exit 2)', async () => {
    const r = await runCli(['analyze', vtest, '--model', model, '--out', join(dir, 'g.jsonl'), '--decode-nice', '25']);
    expectOneLineFailure(r, /--decode-nice must be a number in \[0, 19\], got "25"/);
    expect(r.code).toBe(2);
  });
});
