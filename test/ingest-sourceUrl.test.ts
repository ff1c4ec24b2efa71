import { describe, expect, it } from 'vitest';
import { isFileSource, redactUrl, sourceKind, urlScheme } from '../src/ingest/sourceUrl.js';
import { inputArgs, inputName, protocolWhitelist } from '../src/ingest/ffmpeg.js';

describe('source kind', () => {
  it('names every kind by its scheme; paths, drive letters and file: URLs are files', () => {
    const cases: [string, string][] = [
      ['rtsp://10.0.0.5/s1', 'rtsp'],
      ['RTSPS://cam:322/live', 'rtsp'],
      ['http://h/a.m3u8', 'http'],
      ['https://h/v.mp4', 'http'],
      ['media/clip.mp4', 'file'],
      ['/abs/clip.mp4', 'file'],
      ['./a:b.mp4', 'file'],
      ['C:\\clips\\a.mp4', 'file'],
      ['file:///etc/passwd', 'file'],
      ['udp://0.0.0.0:1234', 'other'],
      ['concat:/etc/passwd|/etc/hosts', 'other'],
      ['data:text/plain,x', 'other'],
      ['pipe:0', 'other'],
    ];
    expect(cases.map(([u]) => [u, sourceKind(u)])).toEqual(cases);
    expect([urlScheme('C:\\x'), urlScheme('RTSP://h'), urlScheme('a/b:c')]).toEqual([undefined, 'rtsp', undefined]);
    expect([isFileSource('x.mp4'), isFileSource('rtsp://h/s')]).toEqual([true, false]);
  });

  it('gives each kind its ffmpeg protocols, and only a file is read through file:', () => {
    expect(protocolWhitelist('clip.mp4')).toBe('file,pipe');
    expect(protocolWhitelist('rtsps://h/s')).toBe('rtsp,rtsps,rtp,srtp,udp,tcp,tls');
    expect(protocolWhitelist('https://h/a.m3u8')).toBe('http,https,tcp,tls,crypto');
    // Refused by the config; should one get here it may use only itself and plain sockets (no file).
    expect(protocolWhitelist('concat:/etc/passwd|/etc/hosts')).toBe('concat,tcp,udp');
    expect(inputName('dir/a:b.mp4')).toBe('file:dir/a:b.mp4');
    expect(inputName('rtsp://h/s')).toBe('rtsp://h/s');
    expect(inputArgs('clip.mp4', 'ffmpeg', { realtime: true, loop: true })).toEqual(['-protocol_whitelist', 'file,pipe', '-re', '-stream_loop', '-1', '-i', 'file:clip.mp4']);
    expect(inputArgs('rtsp://h/s', 'ffmpeg', { realtime: true, loop: true })).not.toContain('-re');
  });
});

describe('redactUrl', () => {
  it('hides the password of a URL, and in text that quotes URLs', () => {
    expect(redactUrl('rtsp://admin:hunter2@10.0.0.5:554/s1')).toBe('rtsp://admin:***@10.0.0.5:554/s1');
    expect(redactUrl('rtsp://10.0.0.5/s1')).toBe('rtsp://10.0.0.5/s1');
    expect(redactUrl('[tcp @ 0x1] Connection to rtsp://u:p@h:554/x failed')).toBe('[tcp @ 0x1] Connection to rtsp://u:***@h:554/x failed');
    expect(redactUrl('from rtsp://a:1@h/x to http://b:2@g/y')).toBe('from rtsp://a:***@h/x to http://b:***@g/y');
  });

  it('hides all of a password that contains @ or :, and keeps a user name without one', () => {
    expect(redactUrl('rtsp://admin:p@ss:w@rd@cam/s')).toBe('rtsp://admin:***@cam/s');
    expect(redactUrl('rtsp://admin:p%40ss@cam')).toBe('rtsp://admin:***@cam');
    expect(redactUrl('rtsp://admin@cam/s')).toBe('rtsp://admin@cam/s');
    // An @ after the host is not userinfo.
    expect(redactUrl('http://h/path/a@b?x=1')).toBe('http://h/path/a@b?x=1');
  });

  it('hides credentials passed as query parameters and keeps the rest of the URL as it was', () => {
    expect(redactUrl('rtsp://cam/cam/realmonitor?channel=1&user=admin&password=secret&subtype=0')).toBe('rtsp://cam/cam/realmonitor?channel=1&user=admin&password=***&subtype=0');
    expect(redactUrl('https://h/live.m3u8?token=abc.def&v=2')).toBe('https://h/live.m3u8?token=***&v=2');
    expect(redactUrl('https://h/a.m3u8?Signature=xyz#t=1')).toBe('https://h/a.m3u8?Signature=***#t=1');
    expect(redactUrl('https://h/a.m3u8?page=2')).toBe('https://h/a.m3u8?page=2');
    expect(redactUrl('HTTP://H/A?pwd=1')).toBe('HTTP://H/A?pwd=***');
  });
});
