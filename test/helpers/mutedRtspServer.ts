/**
 * A camera that describes its stream and then never sends it: a real RTSP conversation on
 * 127.0.0.1 (OPTIONS, DESCRIBE with an H.265 or H.264 SDP, SETUP over TCP, PLAY), and after PLAY
 * not one RTP packet. The SDP's parameter sets come from a real encode by ffmpeg. ffmpeg reads the
 * size from H.265's parameter sets alone (it describes the stream, then waits for video); for
 * H.264 it needs a frame (it never gets as far as describing it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath } from '../../src/ingest/ffmpeg.js';

export interface MutedRtspServer {
  url: string;
  /** PLAY requests answered so far. */
  plays(): number;
  close(): Promise<void>;
}

export type MutedCodec = 'hevc' | 'h264';

const ENCODERS: Record<MutedCodec, string[]> = {
  hevc: ['-c:v', 'libx265', '-x265-params', 'log-level=error'],
  h264: ['-c:v', 'libx264'],
};

/** An SDP for a width x height stream with its parameter sets, from a one-frame encode to RTP. */
function sdpOf(codec: MutedCodec, width: number, height: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-sdp-'));
  try {
    const sdp = join(dir, 'cam.sdp');
    // The one RTP packet goes to the discard port on 127.0.0.1; only the SDP file is wanted.
    execFileSync(ffmpegPath(), [
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=15`,
      '-frames:v', '1', ...ENCODERS[codec], '-pix_fmt', 'yuv420p', '-bf', '0', '-flags:v', '+global_header',
      '-f', 'rtp', '-sdp_file', sdp, 'rtp://127.0.0.1:9',
    ], { timeout: 60_000 });
    const media = readFileSync(sdp, 'utf8').split(/\r?\n/).filter((l) => /^(m=|a=rtpmap|a=fmtp)/.test(l));
    if (!media.some((l) => l.includes('sprop-'))) throw new Error(`ffmpeg wrote no parameter sets: ${media.join(' | ')}`);
    return ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=muted camera', 'c=IN IP4 127.0.0.1', 't=0 0', ...media.map((l) => l.replace(/^m=video \d+/, 'm=video 0')), 'a=control:track1', ''].join('\r\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startMutedRtspServer(codec: MutedCodec = 'hevc', width = 320, height = 240): Promise<MutedRtspServer> {
  const sdp = sdpOf(codec, width, height);
  const sockets = new Set<Socket>();
  let plays = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const [method, uri] = request.split(' ');
        const cseq = /^CSeq:\s*(\d+)/im.exec(request)?.[1] ?? '0';
        const headers = [`CSeq: ${cseq}`];
        let body = '';
        if (method === 'OPTIONS') headers.push('Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN');
        else if (method === 'DESCRIBE') {
          body = sdp;
          headers.push('Content-Type: application/sdp', `Content-Base: ${uri}/`, `Content-Length: ${Buffer.byteLength(body)}`);
        } else if (method === 'SETUP') headers.push('Transport: RTP/AVP/TCP;unicast;interleaved=0-1', 'Session: 4711;timeout=60');
        else if (method === 'PLAY') {
          plays++;
          headers.push('Session: 4711', 'Range: npt=0.000-');
        } else headers.push('Session: 4711');
        socket.write(`RTSP/1.0 200 OK\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `rtsp://127.0.0.1:${port}/cam`,
    plays: () => plays,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
