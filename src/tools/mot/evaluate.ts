/**
 * MOTChallenge evaluation of result files against ground truth: HOTA, CLEAR and Identity per sequence
 * and combined, following TrackEval's MOT15 conventions (see sequenceData.ts, hota.ts, clear.ts,
 * identity.ts). Scores are fractions (0..1); tables print them as percentages like TrackEval.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { clearScores, clearSequence, combineClear, type ClearCounts, type ClearScores } from './clear.js';
import { readMotRows, readSeqInfo, type MotRow } from './formats.js';
import { combineHota, hotaScores, hotaSequence, type HotaCounts, type HotaScores } from './hota.js';
import { combineIdentity, identityScores, identitySequence, type IdentityCounts, type IdentityScores } from './identity.js';
import { prepareSequence } from './sequenceData.js';

export interface SequenceCounts {
  hota: HotaCounts;
  clear: ClearCounts;
  identity: IdentityCounts;
}

/** The metrics TrackEval summarises, under its names. Ratios are fractions; counts are counts. */
export type MotMetrics = Omit<HotaScores, 'hotaPerAlpha'> &
  Pick<ClearScores, 'MOTA' | 'MOTP' | 'MODA'> &
  IdentityScores & {
    IDSW: number;
    CLR_FP: number;
    CLR_FN: number;
    CLR_TP: number;
    Frag: number;
    MT: number;
    PT: number;
    ML: number;
    IDTP: number;
    IDFN: number;
    IDFP: number;
  };

export interface EvaluationReport {
  sequences: { name: string; metrics: MotMetrics }[];
  combined: MotMetrics;
}

export function countSequence(gtRows: MotRow[], trackerRows: MotRow[], numFrames: number, name?: string): SequenceCounts {
  const data = prepareSequence(gtRows, trackerRows, numFrames, name);
  return { hota: hotaSequence(data), clear: clearSequence(data), identity: identitySequence(data) };
}

export function combineCounts(all: SequenceCounts[]): SequenceCounts {
  return {
    hota: combineHota(all.map((s) => s.hota)),
    clear: combineClear(all.map((s) => s.clear)),
    identity: combineIdentity(all.map((s) => s.identity)),
  };
}

export function metricsOf(counts: SequenceCounts): MotMetrics {
  const h = hotaScores(counts.hota);
  const c = clearScores(counts.clear);
  const i = identityScores(counts.identity);
  const { clear, identity } = counts;
  return {
    HOTA: h.HOTA, DetA: h.DetA, AssA: h.AssA, DetRe: h.DetRe, DetPr: h.DetPr, AssRe: h.AssRe, AssPr: h.AssPr, LocA: h.LocA,
    MOTA: c.MOTA, MOTP: c.MOTP, MODA: c.MODA,
    IDF1: i.IDF1, IDR: i.IDR, IDP: i.IDP,
    IDSW: clear.idsw, CLR_FP: clear.fp, CLR_FN: clear.fn, CLR_TP: clear.tp, Frag: clear.frag, MT: clear.mt, PT: clear.pt, ML: clear.ml,
    IDTP: identity.idtp, IDFN: identity.idfn, IDFP: identity.idfp,
  };
}

/** Evaluates already-loaded sequences; `results` are keyed by sequence name like `gt`. */
export function evaluateSequences(
  sequences: { name: string; gt: MotRow[]; results: MotRow[]; numFrames: number }[],
): EvaluationReport {
  const counts = sequences.map((s) => countSequence(s.gt, s.results, s.numFrames, s.name));
  return {
    sequences: sequences.map((s, k) => ({ name: s.name, metrics: metricsOf(counts[k]!) })),
    combined: metricsOf(combineCounts(counts)),
  };
}

/**
 * Evaluates every sequence folder `gtRoot/SEQ` (with gt/gt.txt and seqinfo.ini) against `resultsDir/SEQ.txt`.
 * A sequence without a results file is an error, as in TrackEval.
 */
export function evaluateFolders(gtRoot: string, resultsDir: string): EvaluationReport {
  if (!existsSync(gtRoot) || !statSync(gtRoot).isDirectory()) throw new Error(`${gtRoot}: ground-truth folder not found`);
  if (!existsSync(resultsDir) || !statSync(resultsDir).isDirectory()) throw new Error(`${resultsDir}: results folder not found`);
  const names = readdirSync(gtRoot)
    .filter((name) => existsSync(join(gtRoot, name, 'gt', 'gt.txt')))
    .sort();
  if (names.length === 0) throw new Error(`${gtRoot}: no sequence folders with gt/gt.txt`);
  return evaluateSequences(
    names.map((name) => {
      const info = readSeqInfo(join(gtRoot, name, 'seqinfo.ini'));
      return {
        name,
        numFrames: info.seqLength,
        gt: readMotRows(join(gtRoot, name, 'gt', 'gt.txt')),
        results: readMotRows(join(resultsDir, `${name}.txt`)),
      };
    }),
  );
}

const TABLE_COLUMNS: { key: keyof MotMetrics; percent: boolean }[] = [
  { key: 'HOTA', percent: true },
  { key: 'DetA', percent: true },
  { key: 'AssA', percent: true },
  { key: 'LocA', percent: true },
  { key: 'MOTA', percent: true },
  { key: 'MOTP', percent: true },
  { key: 'IDF1', percent: true },
  { key: 'IDP', percent: true },
  { key: 'IDR', percent: true },
  { key: 'IDSW', percent: false },
  { key: 'CLR_FP', percent: false },
  { key: 'CLR_FN', percent: false },
  { key: 'Frag', percent: false },
  { key: 'MT', percent: false },
  { key: 'ML', percent: false },
];

/** Fixed-width table, one row per sequence and a COMBINED row; ratios as percentages with 3 decimals. */
export function formatReport(report: EvaluationReport): string {
  const rows = [...report.sequences, { name: 'COMBINED', metrics: report.combined }];
  const nameWidth = Math.max(8, ...rows.map((r) => r.name.length));
  const header = ['Sequence'.padEnd(nameWidth), ...TABLE_COLUMNS.map((c) => c.key.replace('CLR_', '').padStart(8))].join(' ');
  const lines = rows.map((r) =>
    [
      r.name.padEnd(nameWidth),
      ...TABLE_COLUMNS.map((c) => (c.percent ? (100 * r.metrics[c.key]).toFixed(3) : String(r.metrics[c.key])).padStart(8)),
    ].join(' '),
  );
  return [header, ...lines].join('\n') + '\n';
}
