/**
 * Fewer frames for a client that asks for them (subscribe `maxFps`, issue 19: the dashboard's hidden
 * tiles): a real server, real WebSocket clients on one stream. The stream drops nothing itself
 * (`dropPolicy: "all"`), so a client at full rate gets every seq, and the thinned client's frames
 * can be checked against them exactly, by capture time, however fast this machine is.
 */
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
