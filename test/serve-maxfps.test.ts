/**
 * Fewer frames for a client that asks for them (subscribe `maxFps`, issue 19: the dashboard's hidden
 * tiles): a real server, real WebSocket clients on one stream. The stream drops nothing itself
 * (`dropPolicy: "all"`), so a client at full rate gets every seq, and the thinned client's frames
 * can be checked against them exactly, by capture time, however fast this machine is.
 */
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { ClientSession } from '../src/serve/clientSession.js';
import { dueUnderMaxFps } from '../src/serve/maxFps.js';
import type { RunningServer } from '../src/serve/server.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { TestClient, startTestServer, until, type Json } from './helpers/serveHarness.js';

let server: RunningServer;

beforeAll(async () => {
  const [clip, model] = await Promise.all([ensureDemoClip().then((c) => c.video), ensureModel('synthetic-det')]);
  server = await startTestServer(
    {
      models: { [model]: { intraOpThreads: 1 } },
      server: { mediaFolders: [dirname(clip)] },
      // The demo clip runs at 15 fps.
      streams: [{ id: 'cam', url: clip, loop: true, realtime: true, video: true, dropPolicy: 'all' }],
    },
    process.cwd(),
  );
});

afterAll(async () => {
  await server?.close();
});

const seqs = (ds: Json[]): number[] => ds.map((d) => d.seq as number);

describe('dueUnderMaxFps', () => {
  it('takes the first frame, then one 1/maxFps or more after the last taken (by capture time), and any after the clock went back', () => {
    expect(dueUnderMaxFps(5, undefined, 1000)).toBe(true);
    expect(dueUnderMaxFps(5, 1000, 1199.9)).toBe(false);
    expect(dueUnderMaxFps(5, 1000, 1200)).toBe(true);
    expect(dueUnderMaxFps(0.5, 1000, 2999)).toBe(false);
    expect(dueUnderMaxFps(0.5, 1000, 3000)).toBe(true);
    expect(dueUnderMaxFps(5, 1000, 999)).toBe(true);
  });
});

describe('ClientSession: changing a subscription to maxFps', () => {
  /** A session on a connection that takes everything, and what it was sent: `seq` of each detections, `+jpeg` after it when video followed. */
  const session = () => {
    const sent: string[] = [];
    const ws = {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 0,
      send: (m: Buffer | string) => void (Buffer.isBuffer(m) && m[0] !== 0x7b ? (sent[sent.length - 1] += '+jpeg') : sent.push(String(JSON.parse(String(m)).seq))),
      ping: () => undefined,
      close: () => undefined,
      on: () => ws,
    };
    const s = new ClientSession(ws as unknown as WebSocket, { bufferBytes: 1 << 20, stuckTimeoutMs: 60_000, ackWindow: 1, onDrop: () => undefined });
    /** The gateway's order: the maxFps rule, then delivery. */
    const frame = (seq: number, ts: number): void => {
      if (s.takeFrame('a', ts)) s.deliver('a', seq, Buffer.from(`{"seq":${seq}}`), Buffer.from([0xff, 0xd8]), ts);
    };
    return { s, sent, frame };
  };

  it('a frame that waited under the old subscription goes out under the new one: without video, and the first maxFps interval counts from it', () => {
    const { s, sent, frame } = session();
    // Shown: every frame with video, one unacknowledged at a time; frame 2 waits for the ack of 1.
    s.subscribe(['a'], { video: true, ack: true });
    frame(1, 10_000);
    frame(2, 10_200);
    expect(sent).toEqual(['1+jpeg']);
    // Hidden (the dashboard's off-screen tile): detections only, 2 a second.
    s.subscribe(['a'], { video: false, ack: true, maxFps: 2 });
    frame(3, 10_222);
    frame(4, 10_500);
    frame(5, 10_700);
    s.acknowledge(new Map([['a', 2]]), 10_701);
    frame(6, 10_750);
    // Frame 2 (taken before) went out without its JPEG; 3 and 4 came sooner than 500 ms after it, 5
    // did not (it waited for the ack of 2), 6 came sooner than 500 ms after 5.
    expect(sent).toEqual(['1+jpeg', '2', '5']);
    expect(s.skipped).toBe(3);
  });

  it('subscribing again with the same maxFps does not let a frame through sooner than 1/maxFps after the last one taken', () => {
    const { s, sent, frame } = session();
    s.subscribe(['a'], { video: false, maxFps: 2 });
    frame(1, 20_000);
    s.subscribe(['a'], { video: false, maxFps: 2 });
    frame(2, 20_022);
    frame(3, 20_499);
    frame(4, 20_500);
    expect(sent).toEqual(['1', '4']);
    // After an unsubscribe the next subscription starts afresh: its first frame is due.
    s.unsubscribe(['a']);
    s.subscribe(['a'], { video: false, maxFps: 2 });
    frame(5, 20_600);
    expect(sent).toEqual(['1', '4', '5']);
  });
});

describe('serve: a subscription with maxFps', () => {
  it('gets at most that many frames a second (the first due, by capture time) while another client gets every frame; no drops counted', async () => {
    const full = await TestClient.connect(server);
    const thin = await TestClient.connect(server);
    try {
      await full.subscribe(['cam'], true);
      thin.send({ type: 'subscribe', streams: ['cam'], video: true, maxFps: 2 });
      await thin.waitFor(() => thin.control.some((m) => m.type === 'subscribed'), 5000, 'subscribed');
      expect(thin.control.find((m) => m.type === 'subscribed')).toMatchObject({ streams: ['cam'], video: true, maxFps: 2 });
      await until(() => thin.detections.length >= 8, 60_000, '8 frames for the thinned client');
      const got = thin.detections.slice(0, 8);
      await until(() => full.detections.some((d) => d.seq >= got.at(-1)!.seq), 30_000, 'the full client past them');

      // Every frame for the full client, in order, without a gap (the stream drops none).
      const all = full.detections.filter((d) => d.seq >= got[0]!.seq && d.seq <= got.at(-1)!.seq);
      expect(seqs(all)).toEqual(Array.from({ length: got.at(-1)!.seq - got[0]!.seq + 1 }, (_, i) => got[0]!.seq + i));
      // The thinned client: each frame at least 500 ms (by capture time) after the one before, and
      // the first frame that was (the one before it was not): at most 2 a second, and not fewer.
      const ts = new Map(all.map((d) => [d.seq as number, d.ts as number]));
      for (let i = 1; i < got.length; i++) {
        const [a, b] = [got[i - 1]!, got[i]!];
        expect(b.ts - a.ts).toBeGreaterThanOrEqual(500);
        expect(ts.get(b.seq - 1)! - a.ts).toBeLessThan(500);
        expect(b).toEqual(all.find((d) => d.seq === b.seq));
      }
      // Video follows the detections it belongs to, and nothing else.
      expect(thin.videos.map((v) => v.header.seq).every((s) => thin.detections.some((d) => d.seq === s))).toBe(true);
      expect(thin.videos.length).toBeGreaterThanOrEqual(7);

      // Skipped frames are what the client asked for: counted apart, not as drops (its own or the stream's).
      const [fullInfo, thinInfo] = [0, 1].map((i) => server.clients()[i]!);
      expect(thinInfo.drops).toEqual({ video: 0, detections: 0, events: 0 });
      expect(thinInfo.skipped).toBeGreaterThanOrEqual(all.length - got.length);
      expect(fullInfo.skipped).toBe(0);
      const clientDrops = server.clients().reduce((n, c) => n + c.drops.video + c.drops.detections + c.drops.events, 0);
      expect(server.streams.stats('cam')!.drops.client).toBe(clientDrops);
      await until(() => thin.stats.some((s) => s.client.skipped > 0), 10_000, 'stats with skipped frames');
      expect(thin.stats.at(-1)!.client.drops).toEqual({ video: 0, detections: 0, events: 0 });

      // Subscribing again without maxFps: every frame again.
      thin.send({ type: 'subscribe', streams: ['cam'], video: true });
      await thin.waitFor(() => thin.control.filter((m) => m.type === 'subscribed').length >= 2, 5000, 'subscribed again');
      expect(thin.control.filter((m) => m.type === 'subscribed')[1]).not.toHaveProperty('maxFps');
      const from = thin.detections.length;
      await until(() => thin.detections.length >= from + 10, 60_000, '10 frames at full rate');
      const after = seqs(thin.detections.slice(from + 1, from + 10));
      expect(after).toEqual(Array.from({ length: 9 }, (_, i) => after[0]! + i));
    } finally {
      full.close();
      thin.close();
    }
  });

  it('refuses a maxFps that is not a number from 0.1 to 1000, naming the field', async () => {
    const c = await TestClient.connect(server);
    try {
      for (const maxFps of [0, -1, 0.05, '2', 5000, null, true]) c.send({ type: 'subscribe', streams: ['cam'], maxFps });
      await c.waitFor(() => c.errors.length >= 7, 5000, 'errors');
      expect(c.errors.map((e) => e.code)).toEqual(Array(7).fill('bad_message'));
      expect(c.errors[0]!.message).toBe('maxFps: expected a number from 0.1 to 1000 (frames per second)');
      expect(c.control.some((m) => m.type === 'subscribed')).toBe(false);
      c.send({ type: 'subscribe', streams: ['cam'], maxFps: 0.5 });
      await c.waitFor(() => c.control.some((m) => m.type === 'subscribed'), 5000, 'subscribed');
      expect(c.control.find((m) => m.type === 'subscribed')).toMatchObject({ streams: ['cam'], video: false, maxFps: 0.5 });
    } finally {
      c.close();
    }
  });
});
