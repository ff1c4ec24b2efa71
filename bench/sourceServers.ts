/**
 * Real HTTP sources on 127.0.0.1 for the startup bench and the ingest tests, as cameras and
 * servers send them:
 *  - files with a Content-Length and byte ranges (a web server: mp4, webm, ...);
 *  - MJPEG cameras: multipart/x-mixed-replace JPEGs at a frame rate, with or without a
 *    Content-Length per part (cheap cameras send none);
 *  - HLS: a recording (#EXT-X-ENDLIST) and a live playlist whose window slides one segment per
 *    segment duration in real time, until frozen (an encoder that crashed) or finished (an
 *    encoder that stopped cleanly: its end marker appended);
 *  - a live MPEG-TS stream (an encoder's HTTP output): one broadcast that clients join mid-stream.
 * Media comes from ffmpeg-made files; the test passes them in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';

export interface MjpegCamera {
  /** JPEG images sent in turn, looping. */
  jpegs: Buffer[];
  fps: number;
  /** Send a Content-Length header per part (many cameras do not). */
  contentLength?: boolean;
  /** HTTP Basic credentials the camera requires. */
  auth?: { user: string; password: string };
}

export interface HlsLive {
  /** MPEG-TS segment files, played in turn (looping, with a discontinuity at each wrap). */
  segments: string[];
  /** Duration of each segment, seconds (the window slides by one segment per this much time). */
  segmentSeconds: number;
  /** Segments listed at once. */
  window?: number;
}

export interface HttpSourcesOptions {
  /** Path -> file served with Content-Length and byte ranges (content type from the extension). */
  files?: Record<string, string>;
  /** Path -> MJPEG camera. */
  mjpeg?: Record<string, MjpegCamera>;
  /** Path (ending .m3u8) -> recording: the segments listed with #EXT-X-ENDLIST. */
  hlsVod?: Record<string, { segments: string[]; segmentSeconds: number }>;
  /** Path (ending .m3u8) -> live playlist. */
  hlsLive?: Record<string, HlsLive>;
  /** Path -> a file sent as a live MPEG-TS broadcast in real time (ffmpeg -re), looping. */
  liveTs?: Record<string, string>;
}

export interface HttpSources {
  /** http://127.0.0.1:PORT */
  base: string;
  url(path: string): string;
  /** Stops a live playlist's window from sliding (its encoder died); `resume()` starts it again. */
  freeze(path: string): void;
  resume(path: string): void;
  /** Ends a live playlist: it stops sliding and gets #EXT-X-ENDLIST (the broadcast is over). */
  finish(path: string): void;
  /** Paths requested so far, in order (without the query). */
  log(): string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { mp4: 'video/mp4', webm: 'video/webm', mkv: 'video/x-matroska', ts: 'video/mp2t', mov: 'video/quicktime' };

export async function startHttpSources(opts: HttpSourcesOptions): Promise<HttpSources> {
  const log: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const encoders: ChildProcess[] = [];
  const live = new Map<string, { spec: HlsLive; started: number; frozenAt?: number; frozenOffset: number; finished?: boolean }>();
  for (const [path, spec] of Object.entries(opts.hlsLive ?? {})) live.set(path, { spec, started: Date.now(), frozenOffset: 0 });
  const broadcasts = new Map<string, Set<ServerResponse>>();
  for (const [path, file] of Object.entries(opts.liveTs ?? {})) {
    const clients = new Set<ServerResponse>();
    broadcasts.set(path, clients);
    const enc = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    enc.stdout!.on('data', (chunk: Buffer) => {
      for (const res of clients) res.write(chunk);
    });
    encoders.push(enc);
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    log.push(path);
    if (opts.files?.[path]) return serveFile(req, res, opts.files[path]);
    if (opts.mjpeg?.[path]) return serveMjpeg(req, res, opts.mjpeg[path]);
    if (opts.hlsVod?.[path]) return servePlaylist(res, vodPlaylist(path, opts.hlsVod[path]));
    if (live.has(path)) return servePlaylist(res, livePlaylist(path));
    const segment = /^(.*)\/seg(\d+)\.ts$/.exec(path);
    if (segment) {
      const playlist = `${segment[1]}.m3u8`;
      const list = opts.hlsVod?.[playlist]?.segments ?? live.get(playlist)?.spec.segments;
      if (list) return serveFile(req, res, list[Number(segment[2]) % list.length]);
    }
    const clients = broadcasts.get(path);
    if (clients) {
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      clients.add(res);
      res.on('close', () => clients.delete(res));
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  function serveMjpeg(req: IncomingMessage, res: ServerResponse, cam: MjpegCamera): void {
    if (cam.auth) {
      const expected = `Basic ${Buffer.from(`${cam.auth.user}:${cam.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="camera"' }).end();
        return;
      }
    }
    res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame', 'cache-control': 'no-cache' });
    let i = 0;
    const send = (): void => {
      const jpeg = cam.jpegs[i++ % cam.jpegs.length];
      res.write(`--frame\r\nContent-Type: image/jpeg\r\n${cam.contentLength ? `Content-Length: ${jpeg.length}\r\n` : ''}\r\n`);
      res.write(jpeg);
      res.write('\r\n');
    };
    send();
    const timer = setInterval(send, 1000 / cam.fps);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  }

  function vodPlaylist(path: string, vod: { segments: string[]; segmentSeconds: number }): string {
    const dir = path.replace(/\.m3u8$/, '');
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${Math.ceil(vod.segmentSeconds)}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
    vod.segments.forEach((_, k) => lines.push(`#EXTINF:${vod.segmentSeconds.toFixed(3)},`, `${dir.split('/').pop()}/seg${k}.ts`));
    lines.push('#EXT-X-ENDLIST');
    return lines.join('\n') + '\n';
  }

  /** Segments whose end has been reached in real time, the newest `window` of them. */
  function livePlaylist(path: string): string {
    const l = live.get(path)!;
    const elapsed = (l.frozenAt ?? Date.now()) - l.started - l.frozenOffset;
    const window = l.spec.window ?? 3;
    const available = window + Math.floor(elapsed / 1000 / l.spec.segmentSeconds);
    const first = available - window;
    const dir = path.replace(/\.m3u8$/, '').split('/').pop();
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${Math.ceil(l.spec.segmentSeconds)}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
    for (let k = first; k < available; k++) {
      if (k > 0 && k % l.spec.segments.length === 0) lines.push('#EXT-X-DISCONTINUITY');
      lines.push(`#EXTINF:${l.spec.segmentSeconds.toFixed(3)},`, `${dir}/seg${k}.ts`);
    }
    if (l.finished) lines.push('#EXT-X-ENDLIST');
    return lines.join('\n') + '\n';
  }

  return {
    base,
    url: (path) => base + path,
    freeze(path) {
      const l = live.get(path)!;
      l.frozenAt ??= Date.now();
    },
    finish(path) {
      const l = live.get(path)!;
      l.frozenAt ??= Date.now();
      l.finished = true;
    },
    resume(path) {
      const l = live.get(path)!;
      if (l.frozenAt === undefined || l.finished) return;
      l.frozenOffset += Date.now() - l.frozenAt;
      l.frozenAt = undefined;
    },
    log: () => [...log],
    async close() {
      for (const t of timers) clearInterval(t);
      for (const e of encoders) e.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function servePlaylist(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' }).end(text);
}

/** A file with its length, honouring one byte range (as web servers do for video). */
function serveFile(req: IncomingMessage, res: ServerResponse, file: string): void {
  const size = statSync(file).size;
  const type = TYPES[file.split('.').pop()!.toLowerCase()] ?? 'application/octet-stream';
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const body = readFileSync(file);
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, { 'content-type': type, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, 'accept-ranges': 'bytes' });
    res.end(body.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': size, 'accept-ranges': 'bytes' }).end(body);
}
