/**
 * Issue 13: which ffmpeg runs. FFMPEG_PATH wins; else the newest suitable ffmpeg on PATH or the
 * bundled static build. Checked with the real binaries (the bundled 2018 build and Debian's, which
 * scripts/install-test-deps.sh installs) and small stand-in executables for the unsuitable ones.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledFfmpegPath, bundledFfprobePath, chooseFfmpeg, compareLavf, ffmpegChoice, ffmpegVersion, findOnPath, parseVersion } from '../src/ingest/binaries.js';

const bundled = { bundledFfmpeg: bundledFfmpegPath(), bundledFfprobe: bundledFfprobePath() };
/** Debian's ffmpeg (scripts/install-test-deps.sh installs it). */
const SYSTEM = '/usr/bin/ffmpeg';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-bin-'));
  for (const [name, target] of Object.entries(files)) {
    if (target.startsWith('#!')) {
      writeFileSync(join(dir, name), target);
      chmodSync(join(dir, name), 0o755);
    } else symlinkSync(target, join(dir, name));
  }
  return dir;
}

describe('ffmpeg versions', () => {
  it('reads the version and libavformat of the real binaries', () => {
    expect(ffmpegVersion(bundled.bundledFfmpeg)).toEqual({ version: 'N-47683-g0e8eb07980-static', libavformat: [58, 24, 100] });
    const sys = ffmpegVersion(SYSTEM)!;
    expect(sys.version).toMatch(/^\d+\.\d+/);
    expect(sys.libavformat[0]).toBeGreaterThanOrEqual(59);
    expect(ffmpegVersion('/nonexistent/ffmpeg')).toBeUndefined();
  });

  it('parses -version text; other text is not ffmpeg', () => {
    const out = 'ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023 the FFmpeg developers\nlibavutil      58. 29.100 / 58. 29.100\nlibavformat    60. 16.100 / 60. 16.100\n';
    expect(parseVersion(out)).toEqual({ version: '6.1.1-3ubuntu5', libavformat: [60, 16, 100] });
    expect(parseVersion('Usage: true [ignored command line arguments]')).toBeUndefined();
    expect([compareLavf([59, 27, 100], [58, 24, 100]), compareLavf([58, 24, 100], [58, 24, 100]), compareLavf([58, 9, 0], [58, 24, 0])]).toEqual([1, 0, -1]);
  });
});

describe('choosing ffmpeg', () => {
  it('FFMPEG_PATH wins, even when older than what PATH has; FFPROBE_PATH likewise', () => {
    const c = chooseFfmpeg({ env: { FFMPEG_PATH: bundled.bundledFfmpeg, PATH: '/usr/bin' }, ...bundled });
    expect(c).toMatchObject({ ffmpeg: bundled.bundledFfmpeg, ffprobe: bundled.bundledFfprobe, origin: 'FFMPEG_PATH', version: 'N-47683-g0e8eb07980-static' });
    const p = chooseFfmpeg({ env: { FFMPEG_PATH: SYSTEM, FFPROBE_PATH: '/opt/ffprobe', PATH: '' }, ...bundled });
    expect(p).toMatchObject({ ffmpeg: SYSTEM, ffprobe: '/opt/ffprobe', origin: 'FFMPEG_PATH' });
  });

  it('a newer suitable ffmpeg on PATH is chosen over the bundled one, with the ffprobe beside it', () => {
    const c = chooseFfmpeg({ env: { PATH: `/nonexistent:/usr/bin` }, ...bundled });
    expect(c).toMatchObject({ ffmpeg: SYSTEM, ffprobe: '/usr/bin/ffprobe', origin: 'system' });
    expect(c.libavformat[0]).toBeGreaterThanOrEqual(59);
  });

  it('the bundled build when PATH has none, the same version, or one that is not ffmpeg or cannot decode for us', () => {
    const none = chooseFfmpeg({ env: { PATH: dirWith({}) }, ...bundled });
    expect(none).toMatchObject({ ffmpeg: bundled.bundledFfmpeg, ffprobe: bundled.bundledFfprobe, origin: 'bundled' });
    expect(chooseFfmpeg({ env: { PATH: dirWith({ ffmpeg: bundled.bundledFfmpeg }) }, ...bundled }).origin).toBe('bundled');
    expect(chooseFfmpeg({ env: { PATH: dirWith({ ffmpeg: '/bin/true' }) }, ...bundled }).origin).toBe('bundled');
    // Claims a newer libavformat but lists no filters or encoders (a stripped-down build).
    const stripped = dirWith({ ffmpeg: '#!/bin/sh\ncase "$*" in *-version*) printf "ffmpeg version 9.9\\nlibavformat    99. 1.100 / 99. 1.100\\n";; esac\n' });
    expect(ffmpegVersion(join(stripped, 'ffmpeg'))?.libavformat).toEqual([99, 1, 100]);
    expect(chooseFfmpeg({ env: { PATH: stripped }, ...bundled }).origin).toBe('bundled');
  });

  it('finds executables on PATH only', () => {
    const dir = dirWith({ ffmpeg: '#!/bin/sh\n' });
    writeFileSync(join(dir, 'ffprobe'), 'not executable');
    expect(findOnPath('ffmpeg', `/nonexistent::${dir}`)).toBe(join(dir, 'ffmpeg'));
    expect(findOnPath('ffprobe', dir)).toBeUndefined();
  });

  it('this process runs the newest suitable ffmpeg, and it decodes', () => {
    const c = ffmpegChoice();
    expect(c).toEqual(chooseFfmpeg({ env: process.env, ...bundled }));
    // scripts/install-test-deps.sh installs Debian's ffmpeg, newer than the bundled build.
    if (!process.env.FFMPEG_PATH) expect(c.origin).toBe('system');
    const out = execFileSync(c.ffmpeg, ['-hide_banner', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=5', '-frames:v', '2', '-f', 'null', '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });
});
