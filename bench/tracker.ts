/**
 * Tracker benchmark: runs ByteTracker over the MOT15 public detections in ../shared/data/mot, reports
 * the update time per frame (median, p95) and the tracking quality (HOTA, IDF1, MOTA, combined as
 * TrackEval does). Run: `npx tsc && node dist/bench/tracker.js`.
 * Reference: the Python trackers take about 0.8 ms per frame on this machine class.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TRACKER } from '../src/config/schema.js';
import type { TrackerConfig } from '../src/types.js';
import { percentileSorted } from '../src/percentile.js';
import { evaluateSequences } from '../src/tools/mot/evaluate.js';
import { readMotRows, readSeqInfo } from '../src/tools/mot/formats.js';
import { detectionsByFrame, trackSequence } from '../src/tools/mot/trackSequence.js';

export interface TrackerBenchOptions {
  /** Folder with one MOTChallenge sequence folder per sequence (det/det.txt, gt/gt.txt, seqinfo.ini). */
  dataDir?: string;
  config?: TrackerConfig;
  /** Timed passes over all sequences (after one warm-up pass). */
  repeats?: number;
}

export interface TrackerBenchResult {
  frames: number;
  medianUpdateMs: number;
  p95UpdateMs: number;
  /** Python reference per-frame time divided by our median. */
  speedupVsPython: number;
  hota: number;
  idf1: number;
  mota: number;
  idsw: number;
  sequences: { name: string; hota: number; idf1: number; mota: number }[];
}

const PYTHON_REFERENCE_MS = 0.8;

/** ../shared/data/mot beside the repository (found by walking up to package.json). */
function defaultDataDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, '..', 'shared', 'data', 'mot', 'MOT15-train');
}

export function benchTracker(opts: TrackerBenchOptions = {}): TrackerBenchResult {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const config = opts.config ?? DEFAULT_TRACKER;
  const repeats = opts.repeats ?? 5;
  const names = ['ADL-Rundle-6', 'ETH-Bahnhof', 'PETS09-S2L1'].filter((name) => existsSync(join(dataDir, name, 'det', 'det.txt')));
  if (names.length === 0) throw new Error(`${dataDir}: no MOT15 sequences found`);
  const sequences = names.map((name) => {
    const info = readSeqInfo(join(dataDir, name, 'seqinfo.ini'));
    return { name, info, frames: detectionsByFrame(readMotRows(join(dataDir, name, 'det', 'det.txt')), info.seqLength) };
  });

  // Warm-up pass (JIT), which also gives the results to evaluate: tracking is deterministic.
  const results = sequences.map((s) => trackSequence(s.frames, s.info, { config }));
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    for (const s of sequences) trackSequence(s.frames, s.info, { config, onUpdateTime: (ms) => times.push(ms) });
  }
  times.sort((a, b) => a - b);

  const report = evaluateSequences(
    sequences.map((s, k) => ({ name: s.name, numFrames: s.info.seqLength, gt: readMotRows(join(dataDir, s.name, 'gt', 'gt.txt')), results: results[k]! })),
  );
  const median = percentileSorted(times, 0.5);
  return {
    frames: times.length / repeats,
    medianUpdateMs: median,
    p95UpdateMs: percentileSorted(times, 0.95),
    speedupVsPython: PYTHON_REFERENCE_MS / median,
    hota: report.combined.HOTA,
    idf1: report.combined.IDF1,
    mota: report.combined.MOTA,
    idsw: report.combined.IDSW,
    sequences: report.sequences.map((s) => ({ name: s.name, hota: s.metrics.HOTA, idf1: s.metrics.IDF1, mota: s.metrics.MOTA })),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = benchTracker();
  const pct = (v: number): string => (100 * v).toFixed(2);
  process.stdout.write(
    `tracker: ${r.frames} frames, update median ${(r.medianUpdateMs * 1000).toFixed(1)} us, p95 ${(r.p95UpdateMs * 1000).toFixed(1)} us ` +
      `(${r.speedupVsPython.toFixed(1)}x the Python reference's ${PYTHON_REFERENCE_MS} ms)\n`,
  );
  for (const s of r.sequences) process.stdout.write(`  ${s.name.padEnd(14)} HOTA ${pct(s.hota)}  IDF1 ${pct(s.idf1)}  MOTA ${pct(s.mota)}\n`);
  process.stdout.write(`  ${'COMBINED'.padEnd(14)} HOTA ${pct(r.hota)}  IDF1 ${pct(r.idf1)}  MOTA ${pct(r.mota)}  IDSW ${r.idsw}\n`);
}
