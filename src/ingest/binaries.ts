/**
 * Which ffmpeg and ffprobe run, decided in one place, once per process:
 *  1. `FFMPEG_PATH` (and `FFPROBE_PATH`) when set: the user's choice, whatever its version;
 *  2. else the newest suitable ffmpeg found: one on PATH (a distribution's, e.g. Debian's 5.1) or
 *     the static build bundled by @ffmpeg-installer/ffmpeg (a 2018 build that fails some MJPEG
 *     cameras and predates years of decoder fixes). "Suitable" means it runs and has the filters
 *     and encoders the decode graph uses; "newest" compares libavformat versions.
 * ffprobe is the one beside the chosen ffmpeg when there is one, else the bundled build.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Where the chosen ffmpeg came from. */
export type FfmpegOrigin = 'FFMPEG_PATH' | 'system' | 'bundled';

export interface FfmpegChoice {
  ffmpeg: string;
  ffprobe: string;
  /** As ffmpeg prints it ("5.1.9-0+deb12u1", "N-47683-g0e8eb07980-static"); "unknown" when it would not say. */
  version: string;
  /** libavformat major.minor.micro (58 = ffmpeg 4.x, 59 = 5.x, 60 = 6.x, 61 = 7.x). */
  libavformat: [number, number, number];
  origin: FfmpegOrigin;
}

/** What `ffmpeg -version` says about a binary; undefined when it does not run. */
export interface FfmpegVersion {
  version: string;
  libavformat: [number, number, number];
}

/** The filters and encoders decodeArgs uses; a build without one of them cannot decode for us. */
const REQUIRED_FILTERS = ['split', 'crop', 'showinfo', 'nullsink', 'scale', 'pad', 'format', 'fps'];
const REQUIRED_ENCODERS = ['rawvideo', 'mjpeg'];

/** libavformat assumed for a binary that will not tell (the oldest we support: ffmpeg 4.x). */
const UNKNOWN_LAVF: [number, number, number] = [58, 0, 0];

export function bundledFfmpegPath(): string {
  return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

export function bundledFfprobePath(): string {
  return (require('@ffprobe-installer/ffprobe') as { path: string }).path;
}

const versions = new Map<string, FfmpegVersion | undefined>();

/** Version of an ffmpeg/ffprobe binary from `-version` (cached per path). */
export function ffmpegVersion(binary: string): FfmpegVersion | undefined {
  if (versions.has(binary)) return versions.get(binary);
  let v: FfmpegVersion | undefined;
  try {
    v = parseVersion(execFileSync(binary, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    v = undefined;
  }
  versions.set(binary, v);
  return v;
}

/** Parses `ffmpeg -version` output; undefined when it is not ffmpeg's. */
export function parseVersion(out: string): FfmpegVersion | undefined {
  const lavf = /^libavformat\s+(\d+)\.\s*(\d+)\.\s*(\d+)/m.exec(out);
  if (!lavf) return undefined;
  const version = /^ff(?:mpeg|probe) version (\S+)/m.exec(out)?.[1] ?? 'unknown';
  return { version, libavformat: [Number(lavf[1]), Number(lavf[2]), Number(lavf[3])] };
}

/** libavformat major version of a binary; 58 (ffmpeg 4.x, the oldest supported) when it will not say. */
export function libavformatMajor(binary: string): number {
  return (ffmpegVersion(binary)?.libavformat ?? UNKNOWN_LAVF)[0];
}

/** -1, 0, 1 as libavformat version a is older, the same, newer than b. */
export function compareLavf(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** Whether `binary` has every filter and encoder the decode graph needs. */
export function hasDecodeFeatures(binary: string): boolean {
  try {
    const run = (what: string): string => execFileSync(binary, ['-hide_banner', what], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const filters = new Set(run('-filters').split('\n').map((l) => l.trim().split(/\s+/)[1]));
    const encoders = new Set(run('-encoders').split('\n').map((l) => l.trim().split(/\s+/)[1]));
    return REQUIRED_FILTERS.every((f) => filters.has(f)) && REQUIRED_ENCODERS.every((e) => encoders.has(e));
  } catch {
    return false;
  }
}

/** The first executable called `name` on a PATH string. */
export function findOnPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ChooseOptions {
  /** The environment to read FFMPEG_PATH, FFPROBE_PATH and PATH from. */
  env: NodeJS.ProcessEnv;
  bundledFfmpeg: string;
  bundledFfprobe: string;
}

/** The ffmpeg/ffprobe pair for an environment (see the file comment for the rules). */
export function chooseFfmpeg(o: ChooseOptions): FfmpegChoice {
  const beside = (ffmpeg: string): string | undefined => {
    const probe = join(dirname(ffmpeg), 'ffprobe');
    return isExecutable(probe) ? probe : undefined;
  };
  const pick = (ffmpeg: string, origin: FfmpegOrigin, v: FfmpegVersion | undefined): FfmpegChoice => ({
    ffmpeg,
    ffprobe: o.env.FFPROBE_PATH || beside(ffmpeg) || o.bundledFfprobe,
    version: v?.version ?? 'unknown',
    libavformat: v?.libavformat ?? UNKNOWN_LAVF,
    origin,
  });
  if (o.env.FFMPEG_PATH) return pick(o.env.FFMPEG_PATH, 'FFMPEG_PATH', ffmpegVersion(o.env.FFMPEG_PATH));
  const bundled = ffmpegVersion(o.bundledFfmpeg);
  const system = findOnPath('ffmpeg', o.env.PATH);
  const systemVersion = system ? ffmpegVersion(system) : undefined;
  if (system && systemVersion && (!bundled || compareLavf(systemVersion.libavformat, bundled.libavformat) > 0) && hasDecodeFeatures(system)) {
    return pick(system, 'system', systemVersion);
  }
  return pick(o.bundledFfmpeg, 'bundled', bundled);
}

let chosen: { key: string; choice: FfmpegChoice } | undefined;

/** The ffmpeg/ffprobe this process runs (decided on first use; decided anew if the variables change). */
export function ffmpegChoice(): FfmpegChoice {
  const env = process.env;
  const key = `${env.FFMPEG_PATH ?? ''}\0${env.FFPROBE_PATH ?? ''}\0${env.PATH ?? ''}`;
  if (chosen?.key !== key) {
    chosen = { key, choice: chooseFfmpeg({ env, bundledFfmpeg: bundledFfmpegPath(), bundledFfprobe: bundledFfprobePath() }) };
  }
  return chosen.choice;
}
