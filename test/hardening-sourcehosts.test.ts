/**
 * Issue 20 item 9: API users probing internal hosts through source URLs. server.sourceHosts
 * allows or denies hosts and networks (judged by name and by the addresses the name resolves to,
 * with the real resolver), and `sourceErrors: "brief"` makes a refused connection and a host that
 * answers garbage look the same to API and WebSocket users, while the log keeps the details.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import { SourceHostPolicy, hostEntryError, sourceHost } from '../src/ingest/sourceHosts.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import type { RunningServer } from '../src/serve/server.js';
import { TestClient, api, startTestServer, until } from './helpers/serveHarness.js';

describe('SourceHostPolicy', () => {
  const deny = new SourceHostPolicy({ deny: ['127.0.0.0/8', '::1', 'fd00::/8', 'metadata.internal', '*.corp.example'] });

  it.each([
    'rtsp://127.0.0.1:8554/cam',
    'rtsp://user:pw@127.0.0.2/cam',
    'http://localhost:8080/x.m3u8',
    'http://[::1]/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://[::ffff:7f00:1]/x',
    // Spellings of 127.0.0.1 the resolver (as ffmpeg's) understands: decimal, hex, short forms.
    'http://2130706433/x',
    'rtsp://2130706433/x',
    'rtsp://0x7f.1/x',
    'rtsp://127.1/x',
    'http://[fd12::5]/x',
    'rtsp://metadata.internal/x',
    'rtsp://METADATA.internal./x',
    'rtsp://cam.corp.example/x',
  ])('denies %s', async (url) => {
    expect(await deny.refusal(url)).toMatch(/denied by server\.sourceHosts|does not resolve/);
  });

  it('lets through what no rule names, and files (mediaFolders judge those)', async () => {
    expect(await deny.refusal('rtsp://192.0.2.10/cam')).toBeUndefined();
    expect(await deny.refusal('/media/clip.mp4')).toBeUndefined();
    expect(await new SourceHostPolicy({}).refusal('rtsp://127.0.0.1/x')).toBeUndefined();
  });

  it('with an allow list, only listed names, and names whose every address is in an allowed network', async () => {
    const resolver = async (host: string): Promise<string[]> => {
      const table: Record<string, string[]> = { 'cam.lan': ['192.168.1.20'], 'mixed.lan': ['192.168.1.21', '10.0.0.5'] };
      if (!table[host]) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return table[host];
    };
    const allow = new SourceHostPolicy({ allow: ['192.168.1.0/24', 'named.example'], deny: ['192.168.1.99'] }, resolver);
    expect(await allow.refusal('rtsp://192.168.1.20/x')).toBeUndefined();
    expect(await allow.refusal('rtsp://cam.lan/x')).toBeUndefined();
    expect(await allow.refusal('rtsp://named.example/x')).toBeUndefined();
    expect(await allow.refusal('rtsp://10.0.0.5/x')).toMatch(/not allowed/);
    expect(await allow.refusal('rtsp://mixed.lan/x')).toMatch(/not allowed/);
    expect(await allow.refusal('rtsp://192.168.1.99/x')).toMatch(/denied/);
    expect(await allow.refusal('rtsp://gone.lan/x')).toMatch(/does not resolve/);
  });

  it('reads hosts from URLs and checks entries', () => {
    expect(sourceHost('rtsp://u:p@Cam.LAN:554/x')).toBe('cam.lan');
    expect(sourceHost('http://[fe80::1]/x')).toBe('fe80::1');
    expect(sourceHost('/media/a.mp4')).toBeUndefined();
    for (const ok of ['10.0.0.0/8', 'fd00::/8', '::1', '192.168.1.4', 'cam.lan', '*.cams.example']) expect(hostEntryError(ok)).toBeUndefined();
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fd00::/129', 'http://x', 'a b', '*']) expect(hostEntryError(bad)).toBeDefined();
    expect(() => parseConfig({ server: { sourceHosts: { deny: ['10.0.0.0/99'] } } }, '/tmp')).toThrow(ConfigError);
    expect(() => parseConfig({ server: { sourceHosts: { deny: ['10.0.0.0/99'] } } }, '/tmp')).toThrow(/server\.sourceHosts\.deny\[0\]/);
  });
});

describe('serve: sourceHosts and brief source errors', () => {
  let guarded: RunningServer;
  let brief: RunningServer;
  let garbage: Server;
  let closedPort: number;
  let model: string;

  beforeAll(async () => {
    const [clip, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
    model = m;
    // A host that answers, but not with video; and a port nothing listens on.
    garbage = createServer((_req, res) => res.writeHead(200, { 'content-type': 'video/mp4' }).end('this is not a video at all'.repeat(100)));
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const base = { models: { [model]: { intraOpThreads: 1 } }, streams: [] };
    [guarded, brief] = await Promise.all([
      startTestServer({ ...base, server: { mediaFolders: [dirname(clip.video)], sourceHosts: { deny: ['127.0.0.0/8', '::1', 'localhost'] } } }, process.cwd()),
      startTestServer({ ...base, server: { mediaFolders: [dirname(clip.video)], sourceErrors: 'brief' } }, process.cwd()),
    ]);
  });

  afterAll(async () => {
    await Promise.all([guarded?.close(), brief?.close()]);
    garbage?.close();
  });

  it('refuses a source on a denied network with 403, before anything is started', async () => {
    for (const url of [`rtsp://127.0.0.1:${closedPort}/x`, `http://localhost:${closedPort}/x`, `http://2130706433:${closedPort}/x`]) {
      const res = await api(guarded, 'POST', '/api/streams', { id: 'probe', url, model });
      expect(res.status, url).toBe(403);
      expect(res.json.error).toMatch(/sourceHosts/);
    }
    expect(guarded.hub.ids()).toEqual([]);
  });

  it('"brief": a refused port and a host answering garbage read the same to API and WebSocket users', async () => {
    const client = await TestClient.connect(brief);
    const refused = `rtsp://127.0.0.1:${closedPort}/cam`;
    const answering = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}/cam.mp4`;
    for (const [id, url] of [['refused', refused], ['answering', answering]]) {
      expect((await api(brief, 'POST', '/api/streams', { id, url, model, reconnect: { initialMs: 200, maxMs: 1000 } })).status).toBe(201);
    }
    await client.subscribe(['refused', 'answering'], false);
    // The hub itself (and so the log) knows the difference...
    await until(() => ['refused', 'answering'].every((id) => brief.hub.stats(id)?.lastError !== undefined), 60_000, 'both streams failing');
    const inner = ['refused', 'answering'].map((id) => brief.hub.stats(id)!.lastError);
    expect(inner[0]).not.toBe(inner[1]);
    // ... API users do not.
    const shown = await Promise.all(['refused', 'answering'].map(async (id) => (await api(brief, 'GET', `/api/streams/${id}`)).json.lastError));
    expect(shown[0]).toBe(shown[1]);
    expect(shown[0]).toMatch(/details in the server log/);
    const listed = (await api(brief, 'GET', '/api/streams')).json.streams.map((s: { lastError?: string }) => s.lastError);
    expect(new Set(listed)).toEqual(new Set([shown[0]]));
    await until(() => client.states.filter((s) => s.error !== undefined).length >= 2, 30_000, 'state messages with errors');
    for (const s of client.states) if (s.error !== undefined) expect(s.error).toBe(shown[0]);
    client.close();
    for (const id of ['refused', 'answering']) await api(brief, 'DELETE', `/api/streams/${id}`);
  });
});
