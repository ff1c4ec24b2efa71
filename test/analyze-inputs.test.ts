/** `analyze IN...`: which inputs a list of files, folders and globs names, their output names, and the progress lines. */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expandInputs, outputBaseNames } from '../src/cli/analyzeInputs.js';
import { BatchProgress, fileLine, overallLine, type FileProgress } from '../src/output/batchProgress.js';

describe('expandInputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-inputs-'));
  for (const f of ['b.mp4', 'a.MKV', 'notes.txt', 'c.avi']) writeFileSync(join(dir, f), '');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'd.mp4'), '');
  mkdirSync(join(dir, 'empty'));

  it('takes files as given, a folder as its video files sorted (not recursing), and globs', async () => {
    const r = await expandInputs([join(dir, 'notes.txt'), dir, `${dir}/**/*.mp4`]);
    expect(r.inputs).toEqual([join(dir, 'notes.txt'), join(dir, 'a.MKV'), join(dir, 'b.mp4'), join(dir, 'c.avi'), join(dir, 'sub', 'd.mp4')]);
    expect(r.missing).toEqual([]);
  });

  it('keeps URLs, and reports what names nothing instead of failing the run', async () => {
    const r = await expandInputs(['rtsp://cam/stream', join(dir, 'nope.mp4'), join(dir, 'empty'), `${dir}/*.webm`]);
    expect(r.inputs).toEqual(['rtsp://cam/stream']);
    expect(r.missing).toEqual([
      { arg: join(dir, 'nope.mp4'), reason: 'not found' },
      { arg: join(dir, 'empty'), reason: 'folder has no video files' },
      { arg: `${dir}/*.webm`, reason: 'pattern matches no file' },
    ]);
  });
});

describe('outputBaseNames', () => {
  it('names each output after its input, unique within the run', () => {
    expect(outputBaseNames(['x/cam1.mp4', 'y/cam1.mp4', 'cam1-2.mkv', 'z/cam1.avi', 'rtsp://host:554/live/main', 'http://host/', 'odd name!.mp4'])).toEqual([
      'cam1',
      'cam1-2',
      'cam1-2-2',
      'cam1-3',
      'main',
      'host',
      'odd_name_',
    ]);
  });
});

describe('progress lines', () => {
  const f = (p: Partial<FileProgress>): FileProgress => ({ name: 'cam.mp4', state: 'running', done: 0, ...p });

  it('one line per file: running with a bar and ETA, done with its speed and outputs, failed with the reason', () => {
    expect(fileLine(f({ done: 50, total: 200, startedMs: 0 }), 3, 12, 10_000)).toBe('[ 3/12] cam.mp4  [#####...............] 50/200  5.0 fps  ETA 00:30');
    expect(fileLine(f({ state: 'done', done: 200, startedMs: 0, endedMs: 40_000, note: 'out/cam.jsonl' }), 3, 12, 0)).toBe('[ 3/12] cam.mp4  done: 200 frames in 40.0 s (5.0 fps) -> out/cam.jsonl');
    expect(fileLine(f({ state: 'failed', note: 'not a video' }), 1, 2, 0)).toBe('[1/2] cam.mp4  FAILED: not a video');
  });

  it('the overall line counts files and frames and estimates the rest from the files probed so far', () => {
    const files = [f({ state: 'done', done: 100, total: 100 }), f({ done: 50, total: 100 }), f({ state: 'waiting' }), f({ state: 'failed', done: 0 })];
    // 150 frames in 10 s; expected 100 + 100 + 100 (assumed) + 0 = 300; 150 left at 15 fps = 10 s.
    expect(overallLine(files, 10)).toBe('overall [###############...............] 2/4 files, 1 running, 1 failed  150 frames  15.0 fps  ETA 00:10');
  });

  it('without a terminal, prints each file once when it ends, then the overall line', () => {
    let text = '';
    const out = Object.assign(new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), { isTTY: false });
    const p = new BatchProgress(['a.mp4', 'b.mp4'], out);
    p.start(0);
    p.update(0, 10, 20);
    p.start(1);
    p.fail(1, 'not a video');
    p.update(0, 20, 20);
    p.finish(0, 'out/a.jsonl');
    p.close();
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('[2/2] b.mp4  FAILED: not a video');
    expect(lines[1]).toMatch(/^\[1\/2\] a\.mp4  done: 20 frames in [\d.]+ s \([\d.]+ fps\) -> out\/a\.jsonl$/);
    expect(lines[2]).toMatch(/^overall \[#{30}\] 2\/2 files, 1 failed  20 frames/);
    expect(text).not.toContain('\x1b');
  });

  it('on a terminal, redraws the running files and the overall bar in place below the finished ones', () => {
    let text = '';
    const out = Object.assign(new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), { isTTY: true });
    const p = new BatchProgress(['a.mp4', 'b.mp4'], out, 0);
    p.start(0);
    p.start(1);
    p.finish(1);
    p.close();
    // start(0): 2 live lines; start(1): cleared (2 up) and 3 drawn; finish(1): cleared (3 up), b's line, 2 drawn; close: cleared (2 up).
    expect(text.match(/\x1b\[(\d+)A/g)).toEqual(['\x1b[2A', '\x1b[3A', '\x1b[2A']);
    expect(text).toContain('[2/2] b.mp4  done: 0 frames');
  });
});
