/**
 * Result sinks and their declared backpressure: a result file waits (its write's promise holds the
 * producer while the file stream is over its high-water mark), the WebSocket client path drops
 * (newest frame wins, every drop counted per stream), the snapshot cache keeps the newest frame, and
 * the SinkSet fans out with those rules (awaits 'wait' sinks, isolates failing ones).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { jsonlLine, ResultFileSink } from '../src/output/resultFiles.js';
import { FILE_SINKS, isResultFormat, openFileSink } from '../src/output/sinks.js';
import { SinkSet } from '../src/output/sinkSet.js';
import type { ResultSink } from '../src/output/sink.js';
import { ClientSession } from '../src/serve/clientSession.js';
import { encodeDetections } from '../src/serve/protocol.js';
import { LatestFrames } from '../src/serve/snapshot.js';
import { ClientDropCounts, servedStats } from '../src/serve/streamStats.js';
import type { Box, FrameResult, StreamStats } from '../src/types.js';
import { memoryLogger } from './helpers/fakes.js';

function result(seq: number, fields: Partial<FrameResult> = {}): FrameResult {
  return {
    streamId: 's',
    seq,
    index: seq,
    pts: seq / 10,
    width: 64,
    height: 48,
    detections: [{ box: [1, 2, 11, 12], score: 0.9, class: 0, label: 'thing', trackId: 3 }],
    timing: { captureTs: 0, stages: {} },
    ...fields,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'streamlens-sinks-'));

describe("result files ('wait')", () => {
  it('hold the producer while the file stream is over its high-water mark, and lose nothing', async () => {
    const path = join(dir, 'big.jsonl');
    const big = 'x'.repeat(64 * 1024);
    const sink = new ResultFileSink('big', path, (r) => `${r.seq} ${big}\n`);
    expect(sink.backpressure).toBe('wait');
    const first = sink.write(result(0));
    let settled = false;
    void first.then(() => (settled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false); // 64 KiB > the stream's 16 KiB mark: the write waits for 'drain'
    await first;
    for (let seq = 1; seq < 20; seq++) await sink.write(result(seq));
    await sink.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.map((l) => Number(l.split(' ')[0]))).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('are registered by kind (result formats first, the rendered video last): jsonl lines, MOT rows and analytics events', async () => {
    expect(Object.keys(FILE_SINKS)).toEqual(['jsonl', 'mot', 'events', 'coco', 'report', 'render']);
    expect(isResultFormat('mot')).toBe(true);
    expect(isResultFormat('coco')).toBe(true);
    // The report and the video have their own flags, and need the probed source.
    expect(isResultFormat('render')).toBe(false);
    expect(() => openFileSink('render', join(dir, 'x.mp4'))).toThrow(/opened with the probed source/);
    expect(isResultFormat('toString')).toBe(false);
    const jsonl = openFileSink('jsonl', join(dir, 'a.jsonl'));
    const mot = openFileSink('mot', join(dir, 'a.txt'));
    for (const sink of [jsonl, mot]) {
      await sink.write(result(4));
      await sink.close();
    }
    expect(readFileSync(join(dir, 'a.jsonl'), 'utf8')).toBe(jsonlLine(result(4)));
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('5,3,1.00,2.00,10.00,10.00,0.9000,-1,-1,-1\n');
    const events = openFileSink('events', join(dir, 'e.jsonl'));
    const cross = { id: 'a', type: 'line_cross', stream: 's', line: 'l', direction: 'in', track_id: 3, class: 0, label: 'x', score: 0.9, box: [1, 2, 11, 12] as Box, frame: 4, pts: 0.16 } as const;
    const exit = { id: 'b', type: 'zone_exit', stream: 's', zone: 'z', track_id: 3, class: 0, label: 'x', box: [1, 2, 11, 12] as Box, frame: 4, pts: 0.16, dwell: 2 } as const;
    await events.write(result(3)); // no events: no line
    await events.write({ ...result(4), events: [cross, exit] });
    await events.close();
    expect(readFileSync(join(dir, 'e.jsonl'), 'utf8')).toBe(`${JSON.stringify(cross)}\n${JSON.stringify(exit)}\n`);
  });

  it('reject their writes and close once the file cannot be written', async () => {
    const sink = openFileSink('jsonl', join(dir, 'missing-folder', 'x.jsonl'));
    await expect(sink.close()).rejects.toThrow(/cannot write .*x\.jsonl/);
    await expect(sink.write(result(0))).rejects.toThrow(/cannot write/);
  });
});

/** A ws stand-in whose send buffer the test controls. */
function fakeSocket(): WebSocket & { sent: (string | Buffer)[]; bufferedAmount: number } {
  const ws = { OPEN: 1, readyState: 1, bufferedAmount: 0, sent: [] as (string | Buffer)[], send(m: string | Buffer) { ws.sent.push(m); }, close() { ws.readyState = 3; }, terminate() {}, on() { return ws; }, ping() {} };
  return ws as unknown as WebSocket & { sent: (string | Buffer)[]; bufferedAmount: number };
}

describe('motion in the outputs', () => {
  // 20 regions at fractional corners, region i (1.7 + i) px wide: given smallest first.
  const regions: Box[] = Array.from({ length: 20 }, (_, i) => [10.6 + i, 5.2, 12.3 + 2 * i, 7.7]);
  const motion = { changed: 0.123456, reason: 'motion' as const, regions };

  it('carry the largest 16 regions, largest first, rounded outward to whole pixels, the same in JSONL and on the WebSocket', () => {
    const line = JSON.parse(jsonlLine(result(1, { motion })));
    const expected = Array.from({ length: 16 }, (_, k) => {
      const i = 19 - k;
      return [10 + i, 5, 13 + 2 * i, 8];
    });
    expect(line.motion).toEqual({ changed: 0.1235, reason: 'motion', regions: expected });
    expect(JSON.parse(encodeDetections(result(1, { motion }))).motion).toEqual(line.motion);
    // The frame's own regions are left as they were.
    expect(regions[0]).toEqual([10.6, 5.2, 12.3, 7.7]);
  });

  it('carry every region of a frame with few, and no regions field on a still frame', () => {
    const few = JSON.parse(jsonlLine(result(1, { motion: { ...motion, regions: [[0, 0, 4, 4], [1.5, 2.5, 63.2, 47.9]] } }))).motion;
    expect(few.regions).toEqual([[1, 2, 64, 48], [0, 0, 4, 4]]);
    const still = { changed: 0, reason: 'still' as const, regions: [] };
    expect(JSON.parse(encodeDetections(result(2, { motion: still }))).motion).toStrictEqual({ changed: 0, reason: 'still' });
    expect(JSON.parse(jsonlLine(result(2, { motion: still }))).motion).toStrictEqual({ changed: 0, reason: 'still' });
  });
});

describe("WebSocket clients ('drop')", () => {
  it('never queue beyond the bound: the newest detections replace unsent ones, video goes first, each drop counted per stream', () => {
    const ws = fakeSocket();
    const counts = new ClientDropCounts();
    const session = new ClientSession(ws, { bufferBytes: 1000, stuckTimeoutMs: 60_000, ackWindow: 2, onDrop: (stream) => counts.add(stream) });
    session.subscribe(['a'], { video: true });
    const video = Buffer.alloc(100);
    session.deliver('a', 1, 'frame-1', video, 0);
    expect(ws.sent).toEqual(['frame-1', video]);
    ws.bufferedAmount = 995; // the client stopped reading
    session.deliver('a', 2, 'frame-2', video, 1);
    session.deliver('a', 3, 'frame-3', video, 2);
    expect(ws.sent).toHaveLength(2);
    expect(session.drops).toEqual({ detections: 1, video: 2, events: 0 });
    expect(counts.get('a')).toBe(3);
    ws.bufferedAmount = 0; // it read again: the newest waiting frame goes out, not the replaced one
    session.flush(3);
    expect(ws.sent.at(-1)).toBe('frame-3');
    counts.forget('a');
    expect(counts.get('a')).toBe(0);
  });

  it('are reported with the stream stats by serve', () => {
    const counts = new ClientDropCounts();
    counts.add('a', 4);
    const base = { id: 'a', drops: { policy: 1, staleness: 0, client: 0 } } as StreamStats;
    const view = servedStats({ stats: (id) => (id === 'a' ? base : undefined), list: () => [base] }, counts);
    expect(view.stats('a')!.drops).toEqual({ policy: 1, staleness: 0, client: 4 });
    expect(view.list()[0].drops.client).toBe(4);
    expect(view.stats('b')).toBeUndefined();
  });
});

describe("snapshot cache ('drop')", () => {
  it('keeps the newest frame with a JPEG per stream, until the stream is gone', async () => {
    const cache = new LatestFrames();
    const jpeg = Uint8Array.of(0xff, 0xd8);
    cache.write(result(1, { jpeg }));
    cache.write(result(2, { jpeg }));
    cache.write(result(3)); // no JPEG: nothing to show, the last picture stays
    expect(cache.get('s')!.seq).toBe(2);
    cache.forget('s');
    expect(cache.get('s')).toBeUndefined();
    await cache.close();
  });

  it('draws a frame once for any number of requests, shared, and again only for a newer frame (issue 20 item 5: a snapshot flood)', async () => {
    const cache = new LatestFrames();
    const jpeg = Uint8Array.of(0xff, 0xd8);
    let draws = 0;
    let fail = false;
    const draw = async (r: FrameResult): Promise<Buffer> => {
      draws++;
      if (fail) throw new Error('sharp failed');
      return Buffer.from(`frame ${r.seq}`);
    };
    expect(cache.snapshot('s', draw)).toBeUndefined();
    cache.write(result(1, { jpeg }));
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.snapshot('s', draw)!.jpeg));
    expect(draws).toBe(1);
    expect(new Set(answers).size).toBe(1);
    cache.write(result(2, { jpeg }));
    expect((await cache.snapshot('s', draw)!.jpeg).toString()).toBe('frame 2');
    expect(draws).toBe(2);
    // A failed drawing is not kept: the next request draws again.
    cache.write(result(3, { jpeg }));
    fail = true;
    await expect(cache.snapshot('s', draw)!.jpeg).rejects.toThrow('sharp failed');
    fail = false;
    await Promise.resolve();
    expect((await cache.snapshot('s', draw)!.jpeg).toString()).toBe('frame 3');
    expect(draws).toBe(4);
    await cache.close();
  });
});

describe('SinkSet', () => {
  const sink = (name: string, backpressure: ResultSink['backpressure'], write: ResultSink['write']): ResultSink => ({ name, backpressure, write, close: async () => undefined });

  it("returns a 'wait' sink's promise to the producer and nothing when every sink takes the result at once", async () => {
    let release!: () => void;
    const seen: string[] = [];
    const waiting = sink('file', 'wait', (r) => new Promise<void>((resolve) => (release = () => (seen.push(`file:${r.seq}`), resolve()))));
    const dropping = sink('ws', 'drop', (r) => void seen.push(`ws:${r.seq}`));
    expect(new SinkSet([dropping], memoryLogger()).write(result(0))).toBeUndefined();
    const set = new SinkSet([waiting, dropping], memoryLogger());
    const p = set.write(result(1));
    expect(p).toBeInstanceOf(Promise);
    expect(seen).toEqual(['ws:0', 'ws:1']);
    release();
    await p;
    expect(seen).toEqual(['ws:0', 'ws:1', 'file:1']);
  });

  it('keeps a failing live sink from stopping the others, counting and logging its failures', async () => {
    const log = memoryLogger();
    const seen: number[] = [];
    const broken = sink('broken', 'drop', () => {
      throw new Error('socket gone');
    });
    const rejecting = sink('remote', 'buffer', () => Promise.reject(new Error('refused')));
    const set = new SinkSet([broken, rejecting, sink('ok', 'drop', (r) => void seen.push(r.seq))], log, { live: true });
    for (let seq = 0; seq < 5; seq++) expect(() => set.write(result(seq))).not.toThrow();
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(set.drops()).toEqual({ broken: { failed: 5 }, remote: { failed: 5 }, ok: {} });
    // The first failure and then powers of two: 1, 2, 4.
    expect(log.entries.filter((e) => e.sink === 'broken').map((e) => e.failures)).toEqual([1, 2, 4]);
  });

  it("refuses a 'wait' sink in a live server, and two sinks of one name", () => {
    expect(() => new SinkSet([sink('file', 'wait', async () => undefined)], memoryLogger(), { live: true })).toThrow(/waits for its writes/);
    expect(() => new SinkSet([sink('a', 'drop', () => undefined), sink('a', 'drop', () => undefined)], memoryLogger())).toThrow(/two result sinks/);
  });

  it('closes every sink and reports the first failure', async () => {
    const closed: string[] = [];
    const make = (name: string, fail: boolean): ResultSink => ({
      name,
      backpressure: 'drop',
      write: () => undefined,
      close: async () => {
        closed.push(name);
        if (fail) throw new Error(`${name} failed`);
      },
    });
    await expect(new SinkSet([make('a', false), make('b', true), make('c', false)], memoryLogger()).close()).rejects.toThrow('b failed');
    expect(closed).toEqual(['a', 'b', 'c']);
  });
});
