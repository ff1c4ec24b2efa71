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
import { numberOption, runCommand, UsageError, type Command } from './command.js';

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
    trackThresh: numberOption('track-thresh', values['track-thresh'], d.trackThresh, { min: 0, max: 1 }),
    lowThresh: numberOption('low-thresh', values['low-thresh'], d.lowThresh, { min: 0, max: 1 }),
    newTrackThresh: numberOption('new-track-thresh', values['new-track-thresh'], d.newTrackThresh, { min: 0, max: 1 }),
    matchThresh: numberOption('match-thresh', values['match-thresh'], d.matchThresh, { min: 0, max: 1 }),
    lostTrackSeconds: numberOption('lost-seconds', values['lost-seconds'], d.lostTrackSeconds, { min: 0, max: 3600 }),
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
  run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    // Bad arguments are usage errors (2); unreadable or malformed input is a failure (1).
    return runCommand(sub === 'track' || sub === 'eval' ? `mot ${sub}` : 'mot', async () => {
      if (sub === 'track') return runTrack(rest);
      if (sub === 'eval') return runEval(rest);
      throw new UsageError(`expected 'track' or 'eval', got ${sub ? `'${sub}'` : 'nothing'}. See --help.`);
    });
  },
};
