/**
 * `streamlens mot track|eval`: run the tracker over MOTChallenge public detections, and evaluate
 * MOTChallenge results against ground truth (HOTA, CLEAR, Identity as TrackEval computes them).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TRACKER } from '../config/schema.js';
import type { TrackerConfig } from '../types.js';
import { evaluateFolders, formatReport } from '../tools/mot/evaluate.js';
import { formatMotResults, readMotRows, readSeqInfo } from '../tools/mot/formats.js';
import { CANDIDATES, compareCandidates, DEFAULT_KNOBS, loadSequences, type CandidateReport } from '../tools/mot/select.js';
import { BYTETRACK_MOT_FILTER, detectionsByFrame, trackSequence } from '../tools/mot/trackSequence.js';
import { numberOption, runCommand, UsageError, type Command } from './command.js';

const d = DEFAULT_TRACKER;
const help = `Usage:
  streamlens mot track --det <det.txt> --seqinfo <seqinfo.ini> --out <SEQ.txt> [tracker options]
  streamlens mot eval --gt <folder> --results <folder> [--json <out.json>]
  streamlens mot select --data <folder> [--sequences <a,b,..>] [--only default] [--json <out.json>]

track: runs the tracker over MOTChallenge detections (frame rate from seqinfo.ini) and writes results.
  --track-thresh <n>      first-association score threshold (default ${d.trackThresh})
  --low-thresh <n>        lowest score used, in the second association (default ${d.lowThresh})
  --new-track-thresh <n>  score needed to start a track (default ${d.newTrackThresh})
  --match-thresh <n>      first-association cost limit, 1 - IoU x score (default ${d.matchThresh})
  --lost-seconds <n>      seconds a lost track is kept at most (default ${d.lostTrackSeconds})
  --boxes <which>         'detection' (default): the detector's boxes; 'filtered': the tracks'
                          Kalman-filtered boxes (as official ByteTrack); the config's tracker.boxes
  --mot-filter            drop output boxes wider than 1.6 x their height or under 10 px^2
                          (official ByteTrack's MOTChallenge output filter; off by default)

eval: --gt holds one folder per sequence (SEQ/gt/gt.txt, SEQ/seqinfo.ini); --results holds SEQ.txt.
  Prints HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1, IDP, IDR (percent) and IDSW, FP, FN, Frag, MT, ML
  per sequence and combined (TrackEval MOT15 conventions). --json writes every metric as JSON.

select: leave-one-sequence-out selection of the tracker's defaults (docs/tracker.md). --data holds one
  folder per sequence (det/det.txt, gt/gt.txt, seqinfo.ini); every such folder is used unless
  --sequences names them. For the defaults and each measured alternative, the knobs
  (${DEFAULT_KNOBS.map((k) => k.name).join(', ')}) are chosen on all sequences but one and scored on
  that one, in turn; prints in-sample and held-out HOTA, IDF1, MOTA (combined). --only default runs
  the defaults alone. Every evaluation is bounded (each knob's values, at most 3 passes per fold):
  about 5 s of CPU per alternative for the three MOT15 sequences, ${CANDIDATES.length} alternatives.
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
      boxes: { type: 'string' },
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
  const boxes = values.boxes ?? 'detection';
  if (boxes !== 'detection' && boxes !== 'filtered') throw new UsageError(`--boxes must be 'detection' or 'filtered', got '${boxes}'`);
  const info = readSeqInfo(seqinfoPath);
  const frames = detectionsByFrame(readMotRows(detPath), info.seqLength);
  const rows = trackSequence(frames, info, { config: { ...config, boxes }, filter: values['mot-filter'] ? BYTETRACK_MOT_FILTER : undefined });
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

function sequenceNames(dataDir: string): string[] {
  const isSequence = (name: string): boolean => ['seqinfo.ini', 'det/det.txt', 'gt/gt.txt'].every((f) => existsSync(join(dataDir, name, f)));
  const names = readdirSync(dataDir).filter(isSequence).sort();
  if (names.length < 2) throw new Error(`${dataDir}: leave-one-out needs at least 2 sequence folders (seqinfo.ini, det/det.txt, gt/gt.txt), found ${names.length}`);
  return names;
}

function formatCandidate(r: CandidateReport): string {
  const pct = (v: number): string => (100 * v).toFixed(2).padStart(6);
  const m = (x: { HOTA: number; IDF1: number; MOTA: number }): string => `HOTA ${pct(x.HOTA)} IDF1 ${pct(x.IDF1)} MOTA ${pct(x.MOTA)}`;
  const lines = [
    `${r.name}`,
    `  on defaults  ${m(r.unselected)}`,
    `  in-sample    ${m(r.inSample.metrics)}  ${JSON.stringify(r.inSample.values)}`,
    `  held-out     ${m(r.heldOut)}`,
    ...r.folds.map((f) => `    ${f.heldOut.padEnd(16)} ${m(f.heldOutMetrics)}  chosen on the others: ${JSON.stringify(f.values)}`),
  ];
  return lines.join('\n') + '\n';
}

async function runSelect(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { data: { type: 'string' }, sequences: { type: 'string' }, only: { type: 'string' }, json: { type: 'string' } },
    strict: true,
  });
  const dataDir = requireOption(values, 'data');
  const names = values.sequences ? values.sequences.split(',').map((n) => n.trim()).filter(Boolean) : sequenceNames(dataDir);
  if (names.length < 2) throw new UsageError('--sequences must name at least 2 sequences');
  if (values.only !== undefined && values.only !== 'default') throw new UsageError(`--only must be 'default', got '${values.only}'`);
  const candidates = values.only ? CANDIDATES.slice(0, 1) : CANDIDATES;
  const sequences = loadSequences(dataDir, names);
  process.stdout.write(`leave-one-out over ${names.join(', ')}; knobs ${DEFAULT_KNOBS.map((k) => `${k.name} [${k.values.join(', ')}]`).join(', ')}\n\n`);
  const reports = compareCandidates(sequences, candidates, DEFAULT_KNOBS, (r) => process.stdout.write(formatCandidate(r)));
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify(reports, null, 2) + '\n');
  }
  return 0;
}

export const command: Command = {
  summary: 'MOTChallenge tools: track public detections, evaluate results (HOTA, CLEAR, IDF1), select tracker defaults',
  help,
  run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    // Bad arguments are usage errors (2); unreadable or malformed input is a failure (1).
    return runCommand(sub === 'track' || sub === 'eval' || sub === 'select' ? `mot ${sub}` : 'mot', async () => {
      if (sub === 'track') return runTrack(rest);
      if (sub === 'eval') return runEval(rest);
      if (sub === 'select') return runSelect(rest);
      throw new UsageError(`expected 'track', 'eval' or 'select', got ${sub ? `'${sub}'` : 'nothing'}. See --help.`);
    });
  },
};
