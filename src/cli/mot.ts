/**
 * `streamlens mot track|eval`: run the tracker over MOTChallenge public detections, and evaluate
 * MOTChallenge results against ground truth (HOTA, CLEAR, Identity as TrackEval computes them).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TRACKER } from '../config/schema.js';
import type { TrackerConfig } from '../types.js';
import { evaluateFolders, formatReport } from '../tools/mot/evaluate.js';
import { formatMotResults, readMotRows, readSeqInfo } from '../tools/mot/formats.js';
import { BYTETRACK_MOT_FILTER, detectionsByFrame, trackSequence } from '../tools/mot/trackSequence.js';
import type { Command } from './command.js';

const d = DEFAULT_TRACKER;
const help = `Usage:
  streamlens mot track --det <det.txt> --seqinfo <seqinfo.ini> --out <SEQ.txt> [tracker options]
  streamlens mot eval --gt <folder> --results <folder> [--json <out.json>]

track: runs the tracker over MOTChallenge detections (frame rate from seqinfo.ini) and writes results.
  --track-thresh <n>      first-association score threshold (default ${d.trackThresh})
  --low-thresh <n>        lowest score used, in the second association (default ${d.lowThresh})
  --new-track-thresh <n>  score needed to start a track (default ${d.newTrackThresh})
  --match-thresh <n>      first-association cost limit, 1 - IoU x score (default ${d.matchThresh})
  --lost-seconds <n>      seconds a lost track is kept (default ${d.lostTrackSeconds})
  --mot-filter            drop output boxes wider than 1.6 x their height or under 10 px^2
                          (official ByteTrack's MOTChallenge output filter; off by default)

eval: --gt holds one folder per sequence (SEQ/gt/gt.txt, SEQ/seqinfo.ini); --results holds SEQ.txt.
  Prints HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1, IDP, IDR (percent) and IDSW, FP, FN, Frag, MT, ML
  per sequence and combined (TrackEval MOT15 conventions). --json writes every metric as JSON.
`;

function numberOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${String(raw)}'`);
  return value;
}

class UsageError extends Error {}

function requireOption(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing --${name}`);
  return value;
}

async function runTrack(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      det: { type: 'string' },
      seqinfo: { type: 'string' },
      out: { type: 'string' },
      'track-thresh': { type: 'string' },
      'low-thresh': { type: 'string' },
      'new-track-thresh': { type: 'string' },
      'match-thresh': { type: 'string' },
      'lost-seconds': { type: 'string' },
      'mot-filter': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const detPath = requireOption(values, 'det');
  const seqinfoPath = requireOption(values, 'seqinfo');
  const outPath = requireOption(values, 'out');
  const config: TrackerConfig = {
    ...DEFAULT_TRACKER,
    trackThresh: numberOption(values, 'track-thresh', d.trackThresh, 0, 1),
    lowThresh: numberOption(values, 'low-thresh', d.lowThresh, 0, 1),
    newTrackThresh: numberOption(values, 'new-track-thresh', d.newTrackThresh, 0, 1),
    matchThresh: numberOption(values, 'match-thresh', d.matchThresh, 0, 1),
    lostTrackSeconds: numberOption(values, 'lost-seconds', d.lostTrackSeconds, 0, 3600),
  };
  if (config.lowThresh > config.trackThresh) throw new UsageError('--low-thresh must not exceed --track-thresh');
  const info = readSeqInfo(seqinfoPath);
  const frames = detectionsByFrame(readMotRows(detPath), info.seqLength);
  const rows = trackSequence(frames, info, { config, filter: values['mot-filter'] ? BYTETRACK_MOT_FILTER : undefined });
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, formatMotResults(rows));
  const ids = new Set(rows.map((r) => r.id)).size;
  process.stdout.write(`${outPath}: ${rows.length} boxes, ${ids} tracks over ${info.seqLength} frames\n`);
  return 0;
}

async function runEval(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { gt: { type: 'string' }, results: { type: 'string' }, json: { type: 'string' } },
    strict: true,
  });
  const report = evaluateFolders(requireOption(values, 'gt'), requireOption(values, 'results'));
  process.stdout.write(formatReport(report));
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
  }
  return 0;
}

export const command: Command = {
  summary: 'MOTChallenge tools: track public detections, evaluate results (HOTA, CLEAR, IDF1)',
  help,
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    try {
      if (sub === 'track') return await runTrack(rest);
      if (sub === 'eval') return await runEval(rest);
      process.stderr.write(`streamlens mot: expected 'track' or 'eval', got ${sub ? `'${sub}'` : 'nothing'}. See --help.\n`);
      return 2;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`streamlens mot ${sub}: ${message}\n`);
      // Bad arguments are usage errors (2); unreadable or malformed input is a failure (1).
      const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
      return usage ? 2 : 1;
    }
  },
};
