/**
 * Issue 8, security: what a URL can make ffmpeg open (per-kind protocol whitelists, checked with
 * the real binaries against an HLS playlist served on 127.0.0.1), source URLs over the API,
 * static-file traversal, body limits, slow clients (slowloris) cut off, no shell anywhere.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ffmpegPath, inputArgs, protocolWhitelist } from '../src/ingest/ffmpeg.js';
import { probeSource } from '../src/ingest/probe.js';
import type { RunningServer } from '../src/serve/server.js';
import { api, eventLoopStalls, startTestServer, until } from './helpers/serveHarness.js';
import { holdClosedPort } from './helpers/closedPort.js';

let clip: string;
let model: string;
let segment: string;
let passwdAlias: string;
let hls: Server;
let hlsUrl: string;
const hlsRequests: string[] = [];
let server: RunningServer;
let media: string;

beforeAll(async () => {
  const [c, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  clip = c.video;
  model = m;
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-sec-'));
  // A 2 s MPEG-TS segment of the demo clip: a real video file outside any media folder.
  segment = join(dir, 'seg0.ts');
  // /etc/passwd under a media extension: ffmpeg's HLS demuxer refuses segment names that are not
  // media files, so only the protocol whitelist keeps ffmpeg from reading this one.
  passwdAlias = join(dir, 'passwd.ts');
  symlinkSync('/etc/passwd', passwdAlias);
  execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-t', '2', '-i', clip, '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mpegts', segment], { timeout: 60_000 });
  const playlist = (uri: string): string => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\n${uri}\n#EXT-X-ENDLIST\n`;
  hls = createServer((req, res) => {
    hlsRequests.push(req.url ?? '');
    const base = `http://127.0.0.1:${(hls.address() as { port: number }).port}`;
    const body =
      req.url === '/good.m3u8' ? playlist(`${base}/seg0.ts`)
      : req.url === '/file.m3u8' ? playlist(`file://${segment}`)
      : req.url === '/passwd.m3u8' ? playlist(`file://${passwdAlias}`)
      : req.url === '/concat.m3u8' ? playlist(`concat:${segment}|${segment}`)
      : req.url === '/subfile.m3u8' ? playlist(`subfile:,,start,0,end,0,,:${segment}`)
      : req.url === '/seg0.ts' ? readFileSync(segment)
      : undefined;
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': req.url!.endsWith('.ts') ? 'video/mp2t' : 'application/vnd.apple.mpegurl' }).end(body);
  });
  await new Promise<void>((r) => hls.listen(0, '127.0.0.1', r));
  hlsUrl = `http://127.0.0.1:${(hls.address() as { port: number }).port}`;

  media = mkdtempSync(join(tmpdir(), 'streamlens-media-'));
  mkdirSync(join(media, 'sub'));
  symlinkSync(segment, join(media, 'escape.ts'));
  symlinkSync(dirname(segment), join(media, 'sub', 'dir'));
  server = await startTestServer(
    { models: { [model]: { intraOpThreads: 1 } }, server: { mediaFolders: [media, dirname(clip)], maxBodyBytes: 2048, requestTimeoutMs: 1500 }, streams: [] },
    process.cwd(),
  );
});

afterAll(async () => {
  await server?.close();
  await new Promise<void>((r) => (hls ? hls.close(() => r()) : r()));
});

/** Runs ffmpeg on a source as the decoder would open it; decodes one frame to null. */
function ffmpegOpen(url: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', ...inputArgs(url, ffmpegPath(), { socketTimeoutMs: 3000 }), '-frames:v', '1', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stderr });
    });
  });
}

describe('ffmpeg protocol whitelist per source kind', () => {
  it('gives each kind only its protocols, never file for network URLs', () => {
    expect(protocolWhitelist('rtsp://cam/1')).toBe('rtsp,rtsps,rtp,srtp,udp,tcp,tls');
    expect(protocolWhitelist('https://h/a.m3u8')).toBe('http,https,tcp,tls,crypto');
    expect(protocolWhitelist('/media/a.mp4')).toBe('file,pipe');
    for (const u of ['rtsp://c/1', 'rtsps://c/1', 'http://h/x', 'https://h/x']) {
      const list = protocolWhitelist(u).split(',');
      for (const bad of ['file', 'concat', 'subfile', 'data', 'pipe', 'hls', 'cache', 'async']) expect(list).not.toContain(bad);
    }
  });

  it('an HLS playlist over http plays when its segments are http (control)', async () => {
    const r = await ffmpegOpen(`${hlsUrl}/good.m3u8`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(hlsRequests).toContain('/seg0.ts');
    // (Not probed: the bundled static ffprobe build segfaults on any MPEG-TS input.)
  });

  it.each([
    // file: segments get as far as opening the file, which only the whitelist refuses.
    ['file', /Protocol 'file' not on whitelist 'http,https,tcp,tls,crypto'/],
    ['passwd', /Protocol 'file' not on whitelist 'http,https,tcp,tls,crypto'/],
    // concat: and subfile: segments are taken as paths relative to the playlist's URL by ffmpeg 4.x;
    // ffmpeg 5.1 keeps them as they are and refuses to open them.
    ['concat', /Error when loading first segment '(http:\/\/127\.0\.0\.1:\d+\/)?concat:/],
    ['subfile', /Error when loading first segment '(http:\/\/127\.0\.0\.1:\d+\/)?subfile:/],
  ])('an http playlist naming a %s: segment cannot make ffmpeg or ffprobe read it', async (name, refusal) => {
    const url = `${hlsUrl}/${name}.m3u8`;
    const r = await ffmpegOpen(url);
    expect(hlsRequests).toContain(`/${name}.m3u8`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(refusal);
    expect(r.stderr).not.toMatch(/^root:/m);
    await expect(probeSource(url, { timeoutMs: 15_000 })).rejects.toThrow(`cannot open ${url} (ffprobe: Invalid data found when processing input)`);
  });

  it('the same playlist through the server: the stream never streams and says why', async () => {
    const res = await api(server, 'POST', '/api/streams', { id: 'evil', url: `${hlsUrl}/file.m3u8`, model, video: false, reconnect: { initialMs: 200, maxMs: 500 } });
    expect(res.status).toBe(201);
    await until(async () => Boolean((await api(server, 'GET', '/api/streams/evil')).json.lastError), 20_000, 'lastError');
    const s = (await api(server, 'GET', '/api/streams/evil')).json;
    // A network source that cannot be opened is retried (it may come back); it never decodes a frame.
    expect(s.lastError).toMatch(/^cannot open http:\/\/127\.0\.0\.1:\d+\/file\.m3u8 \(ffprobe: Invalid data found when processing input\)$/);
    expect(s.framesDecoded).toBe(0);
    expect(s.state).toBe('reconnecting');
    expect((await api(server, 'DELETE', '/api/streams/evil')).status).toBe(204);
  });
});

describe('source URLs over the API', () => {
  it.each([
    ['concat', () => `concat:${clip}|${clip}`],
    ['subfile', () => `subfile:,,start,0,end,0,,:${clip}`],
    ['file: URL', () => `file://${segment}`],
    ['a file outside the media folders', () => segment],
    ['../ traversal', () => join(media, '..', '..', 'etc', 'passwd')],
    ['../ traversal (relative)', () => `${media}/sub/../../${segment.split('/').slice(-2).join('/')}`],
    ['a symlinked file that escapes', () => join(media, 'escape.ts')],
    ['a file under a symlinked dir that escapes', () => join(media, 'sub', 'dir', 'seg0.ts')],
    ['udp', () => 'udp://127.0.0.1:1234'],
    ['data', () => 'data:video/mp4;base64,AAAA'],
    ['pipe', () => 'pipe:0'],
  ])('refuses %s with 400 naming the url field', async (_name, url) => {
    const res = await api(server, 'POST', '/api/streams', { id: 'x', url: url(), model });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json.issues ?? res.json.error)).toMatch(/url/);
    expect((await api(server, 'GET', '/api/streams/x')).status).toBe(404);
  });

  it('accepts rtsp, rtsps, http, https and files inside a media folder', async () => {
    const closed = await holdClosedPort();
    try {
      const host = `127.0.0.1:${closed.port}`;
      for (const [i, url] of [`rtsp://${host}/x`, `rtsps://${host}/x`, `http://${host}/x`, `https://${host}/x`, clip].entries()) {
        const res = await api(server, 'POST', '/api/streams', { id: `ok${i}`, url, model, video: false });
        expect(res.status, url).toBe(201);
        expect((await api(server, 'DELETE', `/api/streams/ok${i}`)).status).toBe(204);
      }
    } finally {
      await closed.release();
    }
  });
});

/** A raw HTTP exchange (no client-side path normalisation). */
function raw(port: number, request: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error('raw request timed out'));
    }, timeoutMs);
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    sock.on('error', () => undefined);
    sock.write(request);
  });
}

describe('HTTP hardening', () => {
  it('static files: no path traversal', async () => {
    for (const path of ['/dashboard/../../package.json', '/dashboard/..%2f..%2fpackage.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/....//package.json', '/../../../etc/passwd', '/dashboard/.env', '/dashboard/%00.js']) {
      const res = await raw(server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(res, path).toMatch(/^HTTP\/1\.1 (400|401|404)/);
      expect(res, path).not.toContain('"name": "streamlens"');
      expect(res, path).not.toContain('root:');
    }
  });

  it('refuses bodies over server.maxBodyBytes (declared or streamed)', async () => {
    const big = JSON.stringify({ id: 'big', url: clip, pad: 'x'.repeat(10_000) });
    expect((await api(server, 'POST', '/api/streams', big)).status).toBe(413);
    const chunked = await raw(server.port, `POST /api/streams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${(5000).toString(16)}\r\n${'x'.repeat(5000)}\r\n0\r\n\r\n`);
    expect(chunked).toMatch(/^HTTP\/1\.1 413/);
  });

  it('cuts off a client that sends its headers very slowly (slowloris), within the request timeout', async () => {
    const sock = connect(server.port, '127.0.0.1');
    const stalls = eventLoopStalls();
    const started = Date.now();
    const closed = new Promise<number>((resolve) => sock.on('close', () => resolve(Date.now() - started)));
    sock.on('error', () => undefined);
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    // One header byte every 200 ms, for at most 30 s (without the request timeout, Node's own
    // header timeout would let it drip for 60 s).
    const drip = setInterval(() => {
      if (!sock.destroyed) sock.write('X');
    }, 200);
    const cutAfter = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 30_000))]);
    clearInterval(drip);
    sock.destroy();
    const stalledMs = stalls.stop();
    expect(cutAfter).toBeGreaterThan(1000);
    // requestTimeoutMs 1500 + checking interval 1 s + slack, and the stalls of the server's event
    // loop (it runs in this process) measured meanwhile.
    expect(cutAfter, `longest event-loop stall ${stalledMs.toFixed(0)} ms`).toBeLessThan(6000 + stalledMs);
    expect((await api(server, 'GET', '/healthz')).status).toBe(200);
  });

  it('a client that sends half a body is cut off too', async () => {
    const sock = connect(server.port, '127.0.0.1');
    const started = Date.now();
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    const closed = new Promise<number>((resolve) => sock.on('close', () => resolve(Date.now() - started)));
    sock.on('error', () => undefined);
    sock.write('POST /api/streams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"id":');
    const cutAfter = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    sock.destroy();
    expect(cutAfter).toBeGreaterThan(1000);
    expect(cutAfter).toBeLessThan(6000);
    expect(out === '' || /^HTTP\/1\.1 408/.test(out)).toBe(true);
  });
});

describe('processes', () => {
  it('no shell: child processes are spawned with argument arrays', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk('src');
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/shell\s*:\s*true/);
      expect(text, f).not.toMatch(/(?<![.\w])(exec|execSync)\s*\(/);
      expect(text, f).not.toMatch(/from 'node:child_process'.*\bexec\b[,}]/);
    }
  });
});
