import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameDecoder, DecodeError } from '../src/ingest/decoder.js';
import {
  decodeArgs,
  ffmpegPath,
  inputArgs,
  letterboxFilter,
  liveFfmpegChildren,
  mjpegQscale,
  jpegScaleFilter,
  parseLetterboxInput,
  parseLogLine,
  parseShowinfo,
  spawnFfmpeg,
} from '../src/ingest/ffmpeg.js';
import { redactUrl } from '../src/ingest/sourceUrl.js';
import { bundledFfmpegPath } from '../src/ingest/binaries.js';
import { JpegSplitter, jpegEnd } from '../src/ingest/jpegStream.js';
import { computeLetterbox } from '../src/ingest/letterbox.js';

const FFMPEG4 = bundledFfmpegPath(); // the bundled static build: libavformat 58
const SYSTEM_FFMPEG = '/usr/bin/ffmpeg'; // Debian's 5.1 (scripts/install-test-deps.sh): libavformat 59

describe('argument builders', () => {
  it('files: file: protocol only, optional -re and -stream_loop', () => {
    expect(inputArgs('/v/a:b.mp4', FFMPEG4)).toEqual(['-protocol_whitelist', 'file,pipe', '-i', 'file:/v/a:b.mp4']);
    expect(inputArgs('clip.mp4', FFMPEG4, { realtime: true, loop: true })).toEqual([
      '-protocol_whitelist', 'file,pipe', '-re', '-stream_loop', '-1', '-i', 'file:clip.mp4',
    ]);
  });

  it('rtsp: TCP by default, the socket timeout as each ffmpeg calls it (µs), bounded probing, never nobuffer', () => {
    const live = ['-analyzeduration', '500000', '-probesize', '500000', '-flags', 'low_delay'];
    expect(inputArgs('rtsp://cam/1', FFMPEG4, { socketTimeoutMs: 3000 })).toEqual([
      '-protocol_whitelist', 'rtsp,rtsps,rtp,srtp,udp,tcp,tls', '-rtsp_transport', 'tcp', '-stimeout', '3000000', ...live, '-i', 'rtsp://cam/1',
    ]);
    // libavformat 59+ (Debian's 5.1) renamed it -timeout.
    expect(inputArgs('rtsp://cam/1', SYSTEM_FFMPEG, { socketTimeoutMs: 3000 })).toEqual([
      '-protocol_whitelist', 'rtsp,rtsps,rtp,srtp,udp,tcp,tls', '-rtsp_transport', 'tcp', '-timeout', '3000000', ...live, '-i', 'rtsp://cam/1',
    ]);
    expect(inputArgs('rtsp://cam/1', FFMPEG4, { rtspTransport: 'udp' })).toContain('udp');
  });

  it('http, per source type: files are files (no live options, loop and pacing apply), live types get bounded probing', () => {
    const http = ['-protocol_whitelist', 'http,https,tcp,tls,crypto'];
    const probe = ['-analyzeduration', '500000', '-probesize', '500000'];
    const rw = ['-rw_timeout', '5000000'];
    const u = 'https://h/x';
    expect(inputArgs(u, FFMPEG4, { type: 'http-file', realtime: true, loop: true })).toEqual([...http, '-re', '-stream_loop', '-1', ...rw, '-i', u]);
    expect(inputArgs(u, FFMPEG4, { type: 'hls-vod', loop: true })).toEqual([...http, '-stream_loop', '-1', ...rw, '-i', u]);
    expect(inputArgs(u, FFMPEG4, { type: 'hls-live', loop: true, realtime: true })).toEqual([...http, ...rw, '-live_start_index', '-1', ...probe, '-flags', 'low_delay', '-i', u]);
    expect(inputArgs(u, FFMPEG4, { type: 'mjpeg' })).toEqual([...http, ...rw, '-f', 'mjpeg', '-use_wallclock_as_timestamps', '1', ...probe, '-flags', 'low_delay', '-i', u]);
    expect(inputArgs(u, FFMPEG4, { type: 'http-live' })).toEqual([...http, ...rw, ...probe, '-flags', 'low_delay', '-i', u]);
    // Without a type, what the URL tells.
    expect(inputArgs('http://h/clip.mp4', FFMPEG4)).toEqual([...http, ...rw, '-i', 'http://h/clip.mp4']);
    expect(inputArgs('https://h/live.m3u8', FFMPEG4)).toContain('-live_start_index');
    for (const type of ['file', 'http-file', 'hls-vod', 'hls-live', 'mjpeg', 'http-live', 'rtsp'] as const) {
      expect(inputArgs(type === 'file' ? 'a.mp4' : type === 'rtsp' ? 'rtsp://c/1' : u, FFMPEG4, { type })).not.toContain('nobuffer');
    }
    // Decoder options go right before -i.
    expect(inputArgs('a.mp4', FFMPEG4, { decoder: ['-hwaccel', 'cuda'] }).slice(-4)).toEqual(['-hwaccel', 'cuda', '-i', 'file:a.mp4']);
  });

  it('decode graph: deinterlace, fps cap, split, pts tap, letterbox expressions, MJPEG of the source', () => {
    const args = decodeArgs({ url: 'a.mp4', dstWidth: 640, dstHeight: 640, fps: 5, deinterlace: 'interlaced', jpeg: { quality: 75, maxWidth: 960 } }, FFMPEG4);
    expect(args.slice(0, 5)).toEqual(['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+verbose']);
    expect(args[args.indexOf('-filter_complex') + 1]).toBe(
      '[0:v]bwdif=mode=send_frame:deint=interlaced,fps=5,split=3[main][tap][jsrc];[tap]crop=2:2:0:0,showinfo,nullsink;' +
        `[main]${letterboxFilter(640, 640)}[rgb];` +
        "[jsrc]settb=1/1000,setpts=N,scale=w='2*round(min(iw,960)/2)':h='2*round(ih*ow/iw/2)':flags=bilinear+accurate_rnd+full_chroma_int,format=yuvj420p[jpg]",
    );
    expect(args.slice(-7)).toEqual(['-q:v', '9', '-flush_packets', '1', '-f', 'mjpeg', 'pipe:3']);
    // ffmpeg 4.x: one global -vsync; 5.1+: -fps_mode for each output (JPEG and source frames too).
    expect(args.filter((a) => a === '-vsync')).toHaveLength(1);
    const sys = decodeArgs({ url: 'a.mp4', dstWidth: 640, dstHeight: 640, jpeg: { quality: 75 }, source: { width: 64, height: 48 } }, SYSTEM_FFMPEG);
    expect(sys.filter((a) => a === '-fps_mode')).toHaveLength(3);
    expect(sys).not.toContain('-vsync');
  });

  it('JPEG sizes are even, the whole picture, each axis scaled by its own ratio', () => {
    // [source w, h, maxWidth] -> JPEG w, h (4:2:0 needs even sizes; 161x97 is stretched to 162x98, not cropped).
    const cases: [number, number, number | undefined, number, number][] = [[161, 97, undefined, 162, 98], [640, 480, undefined, 640, 480], [1920, 1080, 960, 960, 540], [1921, 1081, 960, 960, 540], [1000, 999, 501, 502, 502]];
    for (const [w, h, maxWidth, jw, jh] of cases) {
      for (const bin of [FFMPEG4, SYSTEM_FFMPEG]) {
        const r = spawnSync(bin, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=white:size=${w}x${h}:rate=1,format=rgb24`, '-frames:v', '1', '-vf', `${jpegScaleFilter(maxWidth)},format=yuvj420p`, '-c:v', 'mjpeg', '-f', 'mjpeg', 'pipe:1']);
        expect(r.status).toBe(0);
        const jpeg = r.stdout as Buffer;
        // SOF0 marker: height and width at bytes 5..8 after FF C0.
        const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
        expect([jpeg.readUInt16BE(sof + 7), jpeg.readUInt16BE(sof + 5)]).toEqual([jw, jh]);
      }
    }
  });

  it("ffmpeg's letterbox expressions give computeLetterbox's numbers (ties round half to even, odd pads)", () => {
    // [src w, src h, dst w, dst h]: 1280x721 -> 360.5 rows (tie: 360), 1280x723 -> 361.5 (tie: 362),
    // 768x577 -> odd leftover, 577x768 portrait, 2x1 -> 5x5 (tiny, odd), 1280x720 -> 640x384 canvas, upscaling 360x640 -> 1280.
    const cases = [[1920, 1080, 640, 640], [1280, 721, 640, 640], [1280, 723, 640, 640], [768, 577, 640, 640], [577, 768, 640, 640], [2, 1, 5, 5], [1280, 720, 640, 384], [360, 640, 1280, 1280], [1000, 667, 320, 320]];
    for (const [sw, sh, dw, dh] of cases) {
      const r = spawnSync(FFMPEG4, ['-hide_banner', '-nostdin', '-loglevel', 'level+verbose', '-f', 'lavfi', '-i', `color=c=white:size=${sw}x${sh}:rate=1,format=rgb24`, '-frames:v', '1', '-vf', letterboxFilter(dw, dh), '-f', 'null', '-'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const scaled = /\[scale@letterbox @ \S+\] \[verbose\] w:\d+ h:\d+ \S+ \S+ -> w:(\d+) h:(\d+)/.exec(r.stderr);
      const padded = /\[Parsed_pad_2 @ \S+\] \[verbose\] w:\d+ h:\d+ -> w:(\d+) h:(\d+) x:(\d+) y:(\d+)/.exec(r.stderr);
      // RGB keeps odd sizes (lavfi's default yuv420p would round 723 rows down to 722).
      expect(parseLetterboxInput(parseLogLine(r.stderr.split('\n').find((l) => l.startsWith('[scale@letterbox') && l.includes('->')) ?? ''))).toEqual({ width: sw, height: sh });
      const lb = computeLetterbox(sw, sh, dw, dh);
      expect([sw, sh, dw, dh, ...scaled!.slice(1).map(Number), ...padded!.slice(1).map(Number)]).toEqual([sw, sh, dw, dh, lb.resizedWidth, lb.resizedHeight, dw, dh, lb.padX, lb.padY]);
    }
  });

  it("reads the letterbox's input size from its scale filter's configuration line, and nothing else", () => {
    expect(parseLetterboxInput(parseLogLine('[scale@letterbox @ 0x55d23fb9d180] [verbose] w:480 h:640 fmt:yuv420p sar:0/1 -> w:480 h:640 fmt:rgb24 sar:0/1 flags:0x0'))).toEqual({ width: 480, height: 640 });
    // Its set-up line (no input yet), another scale filter, the graph's input before autorotation.
    expect(parseLetterboxInput(parseLogLine("[scale@letterbox @ 0x55d23fb9d180] [verbose] w:320 h:240 flags:'' interl:0"))).toBeUndefined();
    expect(parseLetterboxInput(parseLogLine('[Parsed_scale_3 @ 0xb9e31c0] [verbose] w:640 h:360 fmt:yuv420p sar:1/1 -> w:320 h:180 fmt:yuvj420p sar:1/1 flags:0x2'))).toBeUndefined();
    expect(parseLetterboxInput(parseLogLine('[graph 0 input from stream 0:0 @ 0xb9e37c0] [verbose] w:640 h:360 pixfmt:yuv420p tb:1/90000 fr:10/1 sar:1/1'))).toBeUndefined();
  });

  it('JPEG quality 1..100 maps onto mjpeg qscale 31..2', () => {
    expect([mjpegQscale(100), mjpegQscale(75), mjpegQscale(1), mjpegQscale(500)]).toEqual([2, 9, 31, 2]);
  });

  it('parses tagged log lines and showinfo', () => {
    expect(parseLogLine('[error] x.mp4: No such file or directory')).toEqual({ level: 'error', context: undefined, text: 'x.mp4: No such file or directory' });
    const line = parseLogLine('[Parsed_showinfo_2 @ 0x6f93b00] [info] n:  12 pts:   1200 pts_time:1.2     pos: 4116 fmt:yuv420p');
    expect(line).toMatchObject({ level: 'info', context: 'Parsed_showinfo_2 @ 0x6f93b00' });
    expect(parseShowinfo(line.text)).toEqual({ n: 12, ptsTime: 1.2 });
    expect(parseShowinfo('n:   3 pts:NOPTS pts_time:NOPTS pos: -1')?.ptsTime).toBeNaN();
  });
});

describe('child ownership', () => {
  const saved = process.env.FFMPEG_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
  });

  it('stop() ends an endless ffmpeg and the live count returns to 0', async () => {
    const child = spawnFfmpeg(['-nostdin', '-f', 'lavfi', '-i', 'testsrc2', '-f', 'null', '-']);
    expect(liveFfmpegChildren()).toBe(1);
    const status = await child.stop(1000);
    expect(status.code !== 0 || status.signal !== null).toBe(true);
    expect(liveFfmpegChildren()).toBe(0);
  });

  it('FFMPEG_PATH overrides the bundled binary; a missing binary is a DecodeError, not a crash', async () => {
    process.env.FFMPEG_PATH = '/nonexistent/ffmpeg';
    expect(ffmpegPath()).toBe('/nonexistent/ffmpeg');
    const info = { url: 'a.mp4', width: 320, height: 240, fps: 10, codec: 'h264', isFile: true };
    const d = new FrameDecoder({ streamId: 's', url: 'a.mp4', info, dstWidth: 64, dstHeight: 64 });
    await expect(d.frames().next()).rejects.toThrow(DecodeError);
    expect(liveFfmpegChildren()).toBe(0);
  });
});

describe('MJPEG splitting', () => {
  // SOI, a DQT segment whose table bytes contain FF D9, SOS, entropy data with stuffing and RST, EOI.
  const jpeg = Buffer.from([
    0xff, 0xd8,
    0xff, 0xdb, 0x00, 0x06, 0x00, 0xff, 0xd9, 0x01,
    0xff, 0xda, 0x00, 0x04, 0x01, 0x02,
    0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56,
    0xff, 0xd9,
  ]);

  it('finds the EOI after the scan, not the FF D9 inside a table', () => {
    expect(jpegEnd(jpeg)).toBe(jpeg.length);
    expect(jpegEnd(jpeg.subarray(0, jpeg.length - 1))).toBe(-1);
    expect(() => jpegEnd(Buffer.from([0x00, 0x01]))).toThrow(/SOI/);
  });

  it('reassembles JPEGs fed one byte at a time', () => {
    const stream = Buffer.concat([jpeg, jpeg, jpeg]);
    const s = new JpegSplitter();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...s.push(stream.subarray(i, i + 1)));
    expect(out.length).toBe(3);
    out.forEach((j) => expect(j.equals(jpeg)).toBe(true));
    expect(s.pendingBytes).toBe(0);
  });
});
