/**
 * Issue 13, the pure parts of ingest with exact expectations: source kinds from URLs, HLS playlist
 * parsing and "has it moved on", ffmpeg's input dump (rotation, interlacing), hardware-decoding
 * arguments (no GPU here: the arguments are what can be checked), rising live timestamps.
 */
import { describe, expect, it } from 'vitest';
import { parsePlaylist, playlistAdvanced } from '../src/ingest/hls.js';
import { hwaccelArgs } from '../src/ingest/hwaccel.js';
import { clockwiseRotation, displayedSize, InputHeaderParser, parseVideoStream } from '../src/ingest/inputHeader.js';
import { RisingPts } from '../src/ingest/risingPts.js';
import { isFiniteType, typeFromUrl } from '../src/ingest/sourceType.js';
import { redactUrl } from '../src/ingest/sourceUrl.js';

describe('source types from the URL alone', () => {
  it('files, RTSP, and HTTP by path (classify.ts asks the server when it matters)', () => {
    expect(typeFromUrl('/media/a.mp4')).toBe('file');
    expect(typeFromUrl('file:/media/a.mp4')).toBe('file');
    expect(typeFromUrl('rtsp://cam/1')).toBe('rtsp');
    expect(typeFromUrl('rtsps://cam/1')).toBe('rtsp');
    expect(typeFromUrl('https://cdn/x/index.m3u8?token=1')).toBe('hls-live');
    expect(typeFromUrl('http://h/clip.WEBM')).toBe('http-file');
    expect(typeFromUrl('http://cam/axis-cgi/mjpg/video.cgi')).toBe('mjpeg');
    expect(typeFromUrl('http://encoder:8080/stream')).toBe('http-live');
    expect(['file', 'http-file', 'hls-vod'].every((k) => isFiniteType(k as never))).toBe(true);
    expect(['hls-live', 'mjpeg', 'http-live', 'rtsp'].some((k) => isFiniteType(k as never))).toBe(false);
  });

  it('redacts passwords in URLs and in text quoting them', () => {
    expect(redactUrl('rtsp://admin:hunter2@10.0.0.5:554/s1')).toBe('rtsp://admin:***@10.0.0.5:554/s1');
    expect(redactUrl('[tcp @ 0x1] Connection to http://u:p@h/x failed')).toBe('[tcp @ 0x1] Connection to http://u:***@h/x failed');
  });
});

describe('HLS playlists', () => {
  const live = (seq: number, segs: string[], end = false): string =>
    ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${seq}`, ...segs.flatMap((s) => ['#EXTINF:2.000,', s]), ...(end ? ['#EXT-X-ENDLIST'] : [])].join('\n');

  it('reads a media playlist: sequence, target duration, segments, duration, end marker', () => {
    expect(parsePlaylist(live(7, ['a.ts', 'b.ts']))).toEqual({ variants: [], ended: false, mediaSequence: 7, targetDuration: 2, segments: ['a.ts', 'b.ts'], duration: 4 });
    expect(parsePlaylist(live(0, ['a.ts'], true)).ended).toBe(true);
  });

  it('reads a master playlist: variants resolved against its URL', () => {
    const master = '#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=800000\r\nlow/index.m3u8\r\n#EXT-X-STREAM-INF:BANDWIDTH=3000000\r\nhttps://cdn/high.m3u8\r\n';
    expect(parsePlaylist(master, 'http://h/live/master.m3u8').variants).toEqual(['http://h/live/low/index.m3u8', 'https://cdn/high.m3u8']);
    expect(() => parsePlaylist('<html>nope</html>')).toThrow(/not an HLS playlist/);
  });

  it('has moved on when a segment was added (sliding window or growing list), not when it was only reloaded', () => {
    const a = parsePlaylist(live(10, ['s10.ts', 's11.ts', 's12.ts']));
    expect(playlistAdvanced(a, parsePlaylist(live(10, ['s10.ts', 's11.ts', 's12.ts'])))).toBe(false);
    expect(playlistAdvanced(a, parsePlaylist(live(11, ['s11.ts', 's12.ts', 's13.ts'])))).toBe(true);
    expect(playlistAdvanced(a, parsePlaylist(live(10, ['s10.ts', 's11.ts', 's12.ts', 's13.ts'])))).toBe(true);
    // An encoder restarted with a new numbering: another last segment is news too.
    expect(playlistAdvanced(a, parsePlaylist(live(10, ['n0.ts', 'n1.ts', 'n2.ts'])))).toBe(true);
  });
});

describe("ffmpeg's input dump", () => {
  it('display rotation: the display matrix (counter-clockwise) as the clockwise turn a player applies', () => {
    expect([clockwiseRotation(90), clockwiseRotation(-90), clockwiseRotation(180), clockwiseRotation(-180), clockwiseRotation(0), clockwiseRotation(-0), clockwiseRotation(89.99)]).toEqual([270, 90, 180, 180, 0, 0, 270]);
    expect(displayedSize(480, 640, 90)).toEqual({ width: 640, height: 480 });
    expect(displayedSize(480, 640, 180)).toEqual({ width: 480, height: 640 });
  });

  it('the first video stream of input 0: codec, size, rate, field order; side data of that stream only', () => {
    const p = new InputHeaderParser();
    for (const l of [
      "Input #0, mpegts, from 'http://enc/live.ts':",
      '  Duration: N/A, start: 1.400000, bitrate: N/A',
      '  Program 1 ',
      '    Stream #0:0[0x100]: Video: mpeg2video (Main) ([2][0][0][0] / 0x0002), yuv420p(tv, top first), 720x576 [SAR 16:15 DAR 4:3], 25 fps, 25 tbr, 90k tbn',
      '    Stream #0:1[0x101](eng): Audio: mp2 ([3][0][0][0] / 0x0003), 48000 Hz, stereo, fltp, 192 kb/s',
      '    Stream #0:2[0x102]: Video: h264, yuv420p, 1920x1080, 50 fps',
      '      displaymatrix: rotation of 90.00 degrees',
      'Stream mapping:',
    ]) p.push(l);
    expect(p.done).toBe(true);
    expect(p.header).toEqual({ format: 'mpegts', codec: 'mpeg2video', width: 720, height: 576, fps: 25, interlaced: true, rotation: 0, audioCodec: 'mp2' });
  });

  it('stream descriptions of several ffmpeg versions', () => {
    expect(parseVideoStream('h264 (High), 1 reference frame (avc1 / 0x31637661), yuv420p(progressive, left), 640x480, 4308 kb/s, 15 fps, 15 tbr, 15360 tbn (default)')).toEqual({ codec: 'h264', width: 640, height: 480, fps: 15, interlaced: false });
    expect(parseVideoStream('h264 (Main), yuv420p(tv, bt709, bottom coded first (swapped)), 1920x1080 [SAR 1:1 DAR 16:9], 29.97 fps, 29.97 tbr, 90k tbn, 59.94 tbc')).toMatchObject({ fps: 29.97, interlaced: true });
    expect(parseVideoStream('h264, none, 90k tbr, 90k tbn')).toEqual({ codec: 'h264', width: undefined, height: undefined, fps: 0, interlaced: false });
    expect(parseVideoStream('mjpeg (Baseline), yuvj422p(pc, bt470bg/unknown/unknown), 320x240, 25 tbr, 1200k tbn')).toMatchObject({ codec: 'mjpeg', width: 320, height: 240, fps: 25 });
  });

  it("ffmpeg 4.x's rotate tag (clockwise) when there is no matrix line", () => {
    const p = new InputHeaderParser();
    for (const l of ["Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':", '    Stream #0:0(und): Video: h264 (High), yuv420p, 640x480, 15 fps', '    Metadata:', '      rotate          : 90']) p.push(l);
    expect(p.header.rotation).toBe(90);
  });
});

describe('hardware decoding arguments', () => {
  it('cuda, vaapi, qsv (with the codec it decodes), none', () => {
    expect(hwaccelArgs(undefined)).toEqual([]);
    expect(hwaccelArgs({ kind: 'cuda' })).toEqual(['-hwaccel', 'cuda']);
    expect(hwaccelArgs({ kind: 'cuda', device: '1' })).toEqual(['-hwaccel', 'cuda', '-hwaccel_device', '1']);
    expect(hwaccelArgs({ kind: 'vaapi' })).toEqual(['-hwaccel', 'vaapi', '-hwaccel_device', '/dev/dri/renderD128']);
    expect(hwaccelArgs({ kind: 'vaapi', device: '/dev/dri/renderD129' })).toEqual(['-hwaccel', 'vaapi', '-hwaccel_device', '/dev/dri/renderD129']);
    expect(hwaccelArgs({ kind: 'qsv' }, 'hevc')).toEqual(['-hwaccel', 'qsv', '-qsv_device', '/dev/dri/renderD128', '-c:v', 'hevc_qsv']);
    // QSV decodes only through its own decoders: an unknown or unsupported codec decodes in software.
    expect(hwaccelArgs({ kind: 'qsv' })).toEqual([]);
    expect(hwaccelArgs({ kind: 'qsv' }, 'msmpeg4v3')).toEqual([]);
    // Never an output format: frames come back to memory for the letterbox and JPEG filters.
    for (const kind of ['cuda', 'vaapi', 'qsv'] as const) expect(hwaccelArgs({ kind }, 'h264')).not.toContain('-hwaccel_output_format');
  });
});

describe('live timestamps keep rising', () => {
  it("RTSP's first frames (0, then back to -0.2) and a repeat: the step is closed, the spacing kept", () => {
    const r = new RisingPts();
    const out = [
      [0, 1000],
      [-0.2, 1001],
      [-0.16, 1041],
      [-0.12, 1081],
      [-0.12, 1121],
      [-0.04, 1161],
    ].map(([pts, at]) => Math.round(r.next(pts, at) * 1000) / 1000);
    expect(out).toEqual([0, 0.001, 0.041, 0.081, 0.121, 0.201]);
  });

  it('rising timestamps pass unchanged', () => {
    const r = new RisingPts();
    expect([0.5, 0.54, 0.58].map((p, i) => r.next(p, i * 40))).toEqual([0.5, 0.54, 0.58]);
  });
});
