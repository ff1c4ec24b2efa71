/**
 * MOTChallenge text formats: seqinfo.ini, det.txt, gt.txt and tracker results, all comma-separated with
 * 1-based frame numbers and boxes as top-left x, y, width, height in pixels.
 */
import { readFileSync } from 'node:fs';

export interface SeqInfo {
  name: string;
  frameRate: number;
  seqLength: number;
  imWidth: number;
  imHeight: number;
}

/** One row of det.txt, gt.txt or a results file. */
export interface MotRow {
  frame: number;
  id: number;
  x: number;
  y: number;
  w: number;
  h: number;
  /** Detection/result score, or gt's "consider" flag (0 = ignored by evaluation). */
  score: number;
}

/** A parse error that names the file and the line. */
export class MotFormatError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'MotFormatError';
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: file not found` : `${path}: ${(err as Error).message}`);
  }
}

export function parseSeqInfo(text: string, file = 'seqinfo.ini'): SeqInfo {
  // Read as TrackEval reads it (Python's configparser): `key = value` or `key: value`, split at the
  // first of the two; keys match whatever their case.
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const at = line.search(/[=:]/);
    if (at > 0 && !line.startsWith(';') && !line.startsWith('#')) values.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  const has = (key: string): boolean => values.has(key.toLowerCase());
  const get = (key: string): string | undefined => values.get(key.toLowerCase());
  const positive = (key: string): number => {
    const value = Number(get(key));
    if (!has(key) || !Number.isFinite(value) || value <= 0) throw new Error(`${file}: '${key}' must be a positive number`);
    return value;
  };
  const seqLength = positive('seqLength');
  if (!Number.isInteger(seqLength)) throw new Error(`${file}: 'seqLength' must be an integer`);
  return {
    name: get('name') ?? '',
    frameRate: positive('frameRate'),
    seqLength,
    imWidth: has('imWidth') ? positive('imWidth') : 0,
    imHeight: has('imHeight') ? positive('imHeight') : 0,
  };
}

export function readSeqInfo(path: string): SeqInfo {
  return parseSeqInfo(readText(path), path);
}

/**
 * Parses MOTChallenge rows (at least 7 numeric columns: frame, id, x, y, w, h, score/consider).
 * Blank lines are skipped; anything else malformed is an error naming its line.
 */
export function parseMotRows(text: string, file = 'input'): MotRow[] {
  const rows: MotRow[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const fields = line.split(/\s*,\s*|\s+/);
    if (fields.length < 7) throw new MotFormatError(file, i + 1, `expected at least 7 comma-separated values, got ${fields.length}`);
    const numbers = new Array<number>(7);
    for (let k = 0; k < 7; k++) {
      const value = Number(fields[k]);
      if (fields[k] === '' || !Number.isFinite(value)) throw new MotFormatError(file, i + 1, `column ${k + 1} is not a number: '${fields[k]}'`);
      numbers[k] = value;
    }
    const [frame, id, x, y, w, h, score] = numbers as [number, number, number, number, number, number, number];
    if (!Number.isInteger(frame) || frame < 1) throw new MotFormatError(file, i + 1, `frame must be an integer >= 1, got ${fields[0]}`);
    rows.push({ frame, id, x, y, w, h, score });
  }
  return rows;
}

export function readMotRows(path: string): MotRow[] {
  return parseMotRows(readText(path), path);
}

/**
 * One results line, `frame,id,x,y,w,h,score,-1,-1,-1`: pixels to 0.01, score to 0.0001. The only
 * MOT writer: `mot track` and `analyze --format mot` both write through it.
 */
export function motResultLine(r: MotRow): string {
  return `${r.frame},${r.id},${r.x.toFixed(2)},${r.y.toFixed(2)},${r.w.toFixed(2)},${r.h.toFixed(2)},${r.score.toFixed(4)},-1,-1,-1\n`;
}

/** Results lines sorted by frame then id. */
export function formatMotResults(rows: MotRow[]): string {
  return [...rows].sort((a, b) => a.frame - b.frame || a.id - b.id).map(motResultLine).join('');
}
