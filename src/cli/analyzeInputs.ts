/**
 * The inputs of `analyze IN...`: files, folders (their video files, not recursing) and glob
 * patterns (for shells that do not expand them, or too many files for one command line), in the
 * order given; and the output name of each, unique within the run.
 */
import { stat, readdir } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { sourceKind } from '../ingest/sourceUrl.js';

/** File name extensions taken from a folder (a glob or a named file may be anything ffmpeg reads). */
export const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.ts', '.mts', '.m2ts', '.mpg', '.mpeg', '.wmv', '.flv', '.3gp', '.h264', '.264', '.hevc', '.h265']);

export interface ExpandedInputs {
  /** Inputs to analyse, in the order given (a folder's and a glob's files sorted by name), each once. */
  inputs: string[];
  /** Arguments that named nothing: reported as failed inputs. */
  missing: Array<{ arg: string; reason: string }>;
}

/** A network source (rtsp:, http: ...): taken as it is, named after its last path segment. */
const isUrl = (s: string): boolean => sourceKind(s) !== 'file';

export async function expandInputs(args: readonly string[]): Promise<ExpandedInputs> {
  const inputs: string[] = [];
  const seen = new Set<string>();
  const missing: ExpandedInputs['missing'] = [];
  const add = (p: string): void => {
    const key = isUrl(p) ? p : resolve(p);
    if (seen.has(key)) return;
    seen.add(key);
    inputs.push(p);
  };
  for (const arg of args) {
    if (isUrl(arg)) {
      add(arg);
      continue;
    }
    const kind = await stat(arg).then(
      (s) => (s.isDirectory() ? 'dir' : 'file'),
      () => undefined,
    );
    if (kind === 'file') add(arg);
    else if (kind === 'dir') {
      const names = (await readdir(arg, { withFileTypes: true }))
        .filter((e) => e.isFile() && VIDEO_EXTENSIONS.has(extname(e.name).toLowerCase()))
        .map((e) => e.name)
        .sort();
      if (names.length === 0) missing.push({ arg, reason: 'folder has no video files' });
      names.forEach((n) => add(join(arg, n)));
    } else if (isDynamicPattern(arg)) {
      // Paths come back the way the pattern was written: absolute or relative to here.
      const files = (await glob(arg, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(arg) })).sort();
      if (files.length === 0) missing.push({ arg, reason: 'pattern matches no file' });
      files.forEach(add);
    } else missing.push({ arg, reason: 'not found' });
  }
  return { inputs, missing };
}

/**
 * Output base names: the input's file name without its extension (a URL's last path segment, or
 * its host), made unique with -2, -3, ... in input order (two folders can hold a cam1.mp4 each).
 */
export function outputBaseNames(inputs: readonly string[]): string[] {
  const taken = new Set<string>();
  return inputs.map((input) => {
    let name = input;
    if (isUrl(input)) {
      const u = new URL(input);
      name = u.pathname.split('/').filter(Boolean).pop() || u.hostname;
    }
    const stem = basename(name, extname(name)).replace(/[^\w.-]+/g, '_') || 'input';
    let unique = stem;
    for (let n = 2; taken.has(unique); n++) unique = `${stem}-${n}`;
    taken.add(unique);
    return unique;
  });
}
