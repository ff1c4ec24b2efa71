/**
 * Smaller video for clients that show a stream small (subscribe `maxWidth`, issue 19): which widths
 * a frame gets (planRenditions), reading a JPEG's size, the order and bounds of encoding
 * (VideoRenditions with a resizer the test controls), and a real server with real clients.
 */
import { dirname } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegSize } from '../src/ingest/jpegStream.js';
import { RENDITION_WIDTHS, renditionWidth } from '../src/serve/renditionWidths.js';
import { planRenditions, sharpResizer, VideoRenditions, type JpegResizer, type Renditions } from '../src/serve/videoRenditions.js';
import type { RunningServer } from '../src/serve/server.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { memoryLogger } from './helpers/fakes.js';
import { api, TestClient, startTestServer, until } from './helpers/serveHarness.js';

const jpeg = (width: number, height: number, progressive = false): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .jpeg({ quality: 80, progressive })
    .toBuffer();

describe('planRenditions', () => {
  it('rounds each maxWidth up to a rendition width narrower than the JPEG; the rest get the JPEG as it is', () => {
    expect(renditionWidth(1)).toBe(160);
    expect(renditionWidth(320)).toBe(320);
    expect(renditionWidth(321)).toBe(480);
    expect(renditionWidth(3841)).toBeUndefined();
    const plan = planRenditions(1280, [300, 310, 1280, 2000, undefined, 450], 2);
    expect(plan.widths).toEqual([320, 480]);
    expect([300, 310, 450, 1280, 2000, undefined].map((m) => plan.widthFor(m))).toEqual([320, 320, 480, undefined, undefined, undefined]);
    // 1100 rounds up to 1280, the JPEG's own width: nothing to encode.
    expect(planRenditions(1280, [1100], 2).widths).toEqual([]);
    expect(planRenditions(0, [100], 2).widths).toEqual([]);
  });

  it('keeps the smallest `limit` widths; a client whose width is not kept gets the full JPEG, never a smaller one', () => {
    const plan = planRenditions(1920, [150, 700, 300, 900], 2);
    expect(plan.widths).toEqual([160, 320]);
    expect(plan.widthFor(700)).toBeUndefined();
    expect(plan.widthFor(900)).toBeUndefined();
    expect(planRenditions(1920, [150], 0).widths).toEqual([]);
    expect(RENDITION_WIDTHS.every((w, i) => i === 0 || w > RENDITION_WIDTHS[i - 1]!)).toBe(true);
  });
});

describe('jpegSize', () => {
  it('reads baseline and progressive frame headers; undefined for what is not a JPEG', async () => {
    expect(jpegSize(await jpeg(64, 48))).toEqual({ width: 64, height: 48 });
    expect(jpegSize(await jpeg(1280, 720, true))).toEqual({ width: 1280, height: 720 });
    expect(jpegSize(Buffer.from('not a jpeg'))).toBeUndefined();
    expect(jpegSize((await jpeg(64, 48)).subarray(0, 20))).toBeUndefined();
  });
});

/** A resizer whose encodes finish when the test says, in any order. */
function heldResizer(): { resize: JpegResizer; calls: Array<{ width: number; finish(fail?: boolean): void }> } {
  const calls: Array<{ width: number; finish(fail?: boolean): void }> = [];
  const resize: JpegResizer = (_jpeg, width) =>
    new Promise((resolve, reject) => calls.push({ width, finish: (fail) => (fail ? reject(new Error('bad jpeg')) : resolve(Buffer.from(`w${width}`))) }));
  return { resize, calls };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('VideoRenditions', () => {
  const frame = Buffer.from('jpeg');

  it('delivers at once without renditions; with them, a stream\'s frames in order whatever order encodes finish in', async () => {
    const { resize, calls } = heldResizer();
    const r = new VideoRenditions({ maxWaiting: 4, resize, log: memoryLogger() });
    const got: string[] = [];
    r.prepare('a', frame, [], 75, () => got.push('a0'));
    expect(got).toEqual(['a0']); // synchronous
    const show = (tag: string) => (m: Renditions) => got.push(`${tag}:${[...m].map(([w, b]) => `${w}=${b?.toString()}`).join(',')}`);
    r.prepare('a', frame, [160, 320], 75, show('a1'));
    r.prepare('a', frame, [160], 75, show('a2'));
    r.prepare('a', frame, [], 75, show('a3')); // nothing to encode, but behind a1 and a2
    r.prepare('b', frame, [], 75, show('b1')); // another stream is not held back
    expect(got).toEqual(['a0', 'b1:']);
    expect(r.framesWaiting('a')).toBe(3);
    calls[2]!.finish(); // a2's encode first
    await tick();
    expect(got).toEqual(['a0', 'b1:']);
    calls[0]!.finish();
    calls[1]!.finish();
    await until(() => got.length === 5, 1000, 'deliveries');
    expect(got).toEqual(['a0', 'b1:', 'a1:160=w160,320=w320', 'a2:160=w160', 'a3:']);
    expect(r.framesWaiting('a')).toBe(0);
    expect(r.counts).toEqual({ encoded: 3, failed: 0, skipped: 0 });
    r.prepare('a', frame, [], 75, () => got.push('a4'));
    expect(got.at(-1)).toBe('a4'); // synchronous again once nothing waits
  });

  it('does not encode a frame while `maxWaiting` frames of its stream wait: it goes in its turn without them', async () => {
    const { resize, calls } = heldResizer();
    const r = new VideoRenditions({ maxWaiting: 2, resize, log: memoryLogger() });
    const got: Array<[string, Renditions]> = [];
    for (const tag of ['f1', 'f2', 'f3']) r.prepare('a', frame, [240], 75, (m) => got.push([tag, m]));
    expect(calls).toHaveLength(2);
    calls.forEach((c) => c.finish());
    await until(() => got.length === 3, 1000, 'deliveries');
    expect(got.map(([t]) => t)).toEqual(['f1', 'f2', 'f3']);
    expect(got[2]![1].has(240) && got[2]![1].get(240) === undefined).toBe(true);
    expect(r.counts).toEqual({ encoded: 2, failed: 0, skipped: 1 });
  });

  it('a failed encode serves the full JPEG; a failed delivery does not hold the stream back', async () => {
    const { resize, calls } = heldResizer();
    const log = memoryLogger();
    const r = new VideoRenditions({ maxWaiting: 4, resize, log });
    const got: string[] = [];
    r.prepare('a', frame, [320], 75, () => {
      throw new Error('client gone');
    });
    r.prepare('a', frame, [320], 75, (m) => got.push(m.get(320)!.toString()));
    calls[0]!.finish();
    calls[1]!.finish(true);
    await until(() => got.length === 1, 1000, 'delivery');
    expect(got).toEqual(['jpeg']);
    expect(r.counts).toEqual({ encoded: 1, failed: 1, skipped: 0 });
    expect(log.entries.map((e) => e.msg)).toEqual(expect.arrayContaining(['video delivery failed', 'a video rendition could not be encoded']));
  });

  it('sharp re-encodes at the width asked, aspect kept', async () => {
    const out = await sharpResizer(await jpeg(1280, 720), 320, 70);
    expect(jpegSize(out)).toEqual({ width: 320, height: 180 });
  });
});

describe('serve: clients asking for smaller video', () => {
  let server: RunningServer;
  const renditions = async (): Promise<Record<string, number>> => {
    const text = (await api(server, 'GET', '/metrics')).bytes.toString();
    return Object.fromEntries([...text.matchAll(/^streamlens_video_renditions_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  };

  beforeAll(async () => {
    const [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
    server = await startTestServer(
      {
        models: { [model]: { intraOpThreads: 1 } },
        server: { mediaFolders: [dirname(clip)], maxRenditionsPerStream: 1 },
        // The demo clip is 640x480: its JPEGs are 640 wide.
        streams: [{ id: 'cam', url: clip, loop: true, realtime: true, video: true }],
      },
      process.cwd(),
    );
  });

  afterAll(async () => {
    await server?.close();
  });

  it('each client gets the width it asked for (rounded up), the full JPEG past the limit; nothing is encoded once nobody asks', async () => {
    const small = await TestClient.connect(server);
    const smaller = await TestClient.connect(server);
    const full = await TestClient.connect(server);
    const wide = await TestClient.connect(server);
    try {
      expect(await renditions()).toEqual({ encoded: 0, failed: 0, skipped: 0 });
      small.send({ type: 'subscribe', streams: ['cam'], video: true, maxWidth: 300 });
      await small.waitFor(() => small.control.some((m) => m.type === 'subscribed'), 5000, 'subscribed');
      expect(small.control.find((m) => m.type === 'subscribed')).toMatchObject({ streams: ['cam'], video: true, maxWidth: 300 });
      await full.subscribe(['cam'], true);
      wide.send({ type: 'subscribe', streams: ['cam'], video: true, maxWidth: 2000 });
      await until(() => small.videos.length >= 5 && full.videos.length >= 5 && wide.videos.length >= 5, 60_000, 'video for every client');
      expect(new Set(small.videos.map((v) => v.jpegWidth))).toEqual(new Set([320]));
      expect(new Set(full.videos.map((v) => v.jpegWidth))).toEqual(new Set([640]));
      expect(new Set(wide.videos.map((v) => v.jpegWidth))).toEqual(new Set([640]));
      // Every video message still follows its detections, in seq order.
      const seqs = small.videos.map((v) => v.header.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs.every((s) => small.detections.some((d) => d.seq === s))).toBe(true);

      // A second, smaller width is past maxRenditionsPerStream (1): the smallest (160) is encoded, 320 gets the full JPEG.
      smaller.send({ type: 'subscribe', streams: ['cam'], video: true, maxWidth: 100 });
      await until(() => smaller.videos.length >= 3, 30_000, 'video for the smallest client');
      const n = small.videos.length;
      await until(() => small.videos.length >= n + 3, 30_000, 'more video');
      // A frame already encoded under the old plan (where 100 was past the limit) may reach it
      // first, as the full JPEG; once 160 is planned, only 160.
      const widths = smaller.videos.map((v) => v.jpegWidth);
      const planned = widths.indexOf(160);
      expect(planned).toBeGreaterThanOrEqual(0);
      expect(widths.slice(0, planned).every((w) => w === 640)).toBe(true);
      expect(widths.slice(planned).every((w) => w === 160)).toBe(true);
      await until(() => smaller.videos.length >= planned + 3, 30_000, 'more video for the smallest client');
      expect(smaller.videos.slice(planned).every((v) => v.jpegWidth === 160)).toBe(true);
      expect(small.videos.slice(n + 1).every((v) => v.jpegWidth === 640)).toBe(true);
      expect((await renditions()).encoded).toBeGreaterThan(0);

      // Nobody asks any more: the count stands still while frames go on.
      small.send({ type: 'subscribe', streams: ['cam'], video: true });
      smaller.send({ type: 'unsubscribe', streams: ['cam'] });
      await until(() => small.control.filter((m) => m.type === 'subscribed').length >= 2 && smaller.control.some((m) => m.type === 'unsubscribed'), 5000, 'replies');
      const settled = full.videos.length;
      await until(() => full.videos.length >= settled + 2, 30_000, 'frames');
      const before = (await renditions()).encoded;
      const m = full.videos.length;
      await until(() => full.videos.length >= m + 5, 30_000, 'frames');
      expect((await renditions()).encoded).toBe(before);
      expect(small.videos.at(-1)!.jpegWidth).toBe(640);
    } finally {
      for (const c of [small, smaller, full, wide]) c.close();
    }
  });

  it('refuses a maxWidth that is not a positive integer, naming the field', async () => {
    const c = await TestClient.connect(server);
    try {
      for (const maxWidth of [0, 1.5, '320', 20_000]) c.send({ type: 'subscribe', streams: ['cam'], video: true, maxWidth });
      await c.waitFor(() => c.errors.length >= 4, 5000, 'errors');
      expect(c.errors.map((e) => e.code)).toEqual(['bad_message', 'bad_message', 'bad_message', 'bad_message']);
      expect(c.errors[0]!.message).toMatch(/^maxWidth: expected an integer from 1 to 16384/);
      expect(c.control.some((m) => m.type === 'subscribed')).toBe(false);
    } finally {
      c.close();
    }
  });
});
