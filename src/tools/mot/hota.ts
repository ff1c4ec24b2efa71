/**
 * HOTA (Luiten et al. 2020) as TrackEval computes it, at alpha = 0.05, 0.10, ..., 0.95.
 *
 * Per frame, ground-truth and tracker detections are matched by the Hungarian method maximising
 * IoU x the pair's global alignment score (how much the two ids overlap over the whole sequence), then
 * a match counts at alpha when its IoU >= alpha. Association accuracy weighs every true positive by
 * the Jaccard overlap of its two ids' whole trajectories.
 */
import { solveAssignment } from '../../track/assignment.js';
import type { SequenceData } from './sequenceData.js';

/** Alphas exactly as numpy's arange(0.05, 0.99, 0.05). */
export const HOTA_ALPHAS: readonly number[] = Array.from({ length: 19 }, (_, i) => 0.05 + i * 0.05);
const EPS = Number.EPSILON;

/** Per-alpha counts and association scores; everything needed to combine sequences. */
export interface HotaCounts {
  tp: Float64Array;
  fn: Float64Array;
  fp: Float64Array;
  assA: Float64Array;
  assRe: Float64Array;
  assPr: Float64Array;
  /** Localisation accuracy (mean IoU of the matches). */
  locA: Float64Array;
}

export interface HotaScores {
  HOTA: number;
  DetA: number;
  AssA: number;
  DetRe: number;
  DetPr: number;
  AssRe: number;
  AssPr: number;
  LocA: number;
  /** Per-alpha HOTA, for inspection. */
  hotaPerAlpha: number[];
}

function emptyCounts(): HotaCounts {
  const a = (): Float64Array => new Float64Array(HOTA_ALPHAS.length);
  return { tp: a(), fn: a(), fp: a(), assA: a(), assRe: a(), assPr: a(), locA: a() };
}

export function hotaSequence(data: SequenceData): HotaCounts {
  const res = emptyCounts();
  const alphas = HOTA_ALPHAS.length;
  if (data.numTrackerDets === 0 || data.numGtDets === 0) {
    res.fn.fill(data.numTrackerDets === 0 ? data.numGtDets : 0);
    res.fp.fill(data.numTrackerDets === 0 ? 0 : data.numTrackerDets);
    res.locA.fill(1);
    return res;
  }
  const G = data.numGtIds;
  const T = data.numTrackerIds;
  const potentialMatches = new Float64Array(G * T);
  const gtIdCount = new Float64Array(G);
  const trackerIdCount = new Float64Array(T);

  // Global association: soft (IoU-weighted) co-occurrence of every gt id with every tracker id.
  for (let f = 0; f < data.numFrames; f++) {
    const gIds = data.gtIds[f]!;
    const tIds = data.trackerIds[f]!;
    const sim = data.similarity[f]!;
    const ng = gIds.length;
    const nt = tIds.length;
    const rowSum = new Float64Array(ng);
    const colSum = new Float64Array(nt);
    for (let i = 0; i < ng; i++) {
      for (let j = 0; j < nt; j++) {
        rowSum[i]! += sim[i * nt + j]!;
        colSum[j]! += sim[i * nt + j]!;
      }
    }
    for (let i = 0; i < ng; i++) {
      for (let j = 0; j < nt; j++) {
        const s = sim[i * nt + j]!;
        const denom = colSum[j]! + rowSum[i]! - s;
        if (denom > EPS) potentialMatches[gIds[i]! * T + tIds[j]!]! += s / denom;
      }
    }
    for (const g of gIds) gtIdCount[g]!++;
    for (const t of tIds) trackerIdCount[t]!++;
  }
  const globalAlignment = new Float64Array(G * T);
  for (let g = 0; g < G; g++) {
    for (let t = 0; t < T; t++) {
      const m = potentialMatches[g * T + t]!;
      globalAlignment[g * T + t] = m / (gtIdCount[g]! + trackerIdCount[t]! - m);
    }
  }

  // Per-frame matching, counted at every alpha.
  const matchesCount = Array.from({ length: alphas }, () => new Float64Array(G * T));
  for (let f = 0; f < data.numFrames; f++) {
    const gIds = data.gtIds[f]!;
    const tIds = data.trackerIds[f]!;
    const ng = gIds.length;
    const nt = tIds.length;
    if (ng === 0 || nt === 0) {
      for (let a = 0; a < alphas; a++) {
        res.fp[a]! += nt;
        res.fn[a]! += ng;
      }
      continue;
    }
    const sim = data.similarity[f]!;
    const negScore = new Float64Array(ng * nt);
    for (let i = 0; i < ng; i++) {
      for (let j = 0; j < nt; j++) negScore[i * nt + j] = -globalAlignment[gIds[i]! * T + tIds[j]!]! * sim[i * nt + j]!;
    }
    const rowToCol = solveAssignment(negScore, ng, nt);
    for (let a = 0; a < alphas; a++) {
      const alpha = HOTA_ALPHAS[a]!;
      let matches = 0;
      for (let i = 0; i < ng; i++) {
        const j = rowToCol[i]!;
        if (j < 0) continue;
        const s = sim[i * nt + j]!;
        if (s < alpha - EPS) continue;
        matches++;
        res.locA[a]! += s;
        matchesCount[a]![gIds[i]! * T + tIds[j]!]!++;
      }
      res.tp[a]! += matches;
      res.fn[a]! += ng - matches;
      res.fp[a]! += nt - matches;
    }
  }

  for (let a = 0; a < alphas; a++) {
    const counts = matchesCount[a]!;
    let assA = 0, assRe = 0, assPr = 0;
    for (let g = 0; g < G; g++) {
      for (let t = 0; t < T; t++) {
        const m = counts[g * T + t]!;
        if (m === 0) continue;
        assA += (m * m) / Math.max(1, gtIdCount[g]! + trackerIdCount[t]! - m);
        assRe += (m * m) / Math.max(1, gtIdCount[g]!);
        assPr += (m * m) / Math.max(1, trackerIdCount[t]!);
      }
    }
    const tp = Math.max(1, res.tp[a]!);
    res.assA[a] = assA / tp;
    res.assRe[a] = assRe / tp;
    res.assPr[a] = assPr / tp;
    res.locA[a] = Math.max(1e-10, res.locA[a]!) / Math.max(1e-10, res.tp[a]!);
  }
  return res;
}

/** TrackEval's combination: counts summed, association and localisation weighted by true positives. */
export function combineHota(all: HotaCounts[]): HotaCounts {
  const res = emptyCounts();
  for (let a = 0; a < HOTA_ALPHAS.length; a++) {
    let assA = 0, assRe = 0, assPr = 0, loc = 0;
    for (const r of all) {
      res.tp[a]! += r.tp[a]!;
      res.fn[a]! += r.fn[a]!;
      res.fp[a]! += r.fp[a]!;
      assA += r.assA[a]! * r.tp[a]!;
      assRe += r.assRe[a]! * r.tp[a]!;
      assPr += r.assPr[a]! * r.tp[a]!;
      loc += r.locA[a]! * r.tp[a]!;
    }
    const tp = res.tp[a]!;
    res.assA[a] = assA / Math.max(1, tp);
    res.assRe[a] = assRe / Math.max(1, tp);
    res.assPr[a] = assPr / Math.max(1, tp);
    res.locA[a] = Math.max(1e-10, loc) / Math.max(1e-10, tp);
  }
  return res;
}

/** Scores averaged over alpha (what TrackEval reports as HOTA, DetA, ...). */
export function hotaScores(c: HotaCounts): HotaScores {
  const n = HOTA_ALPHAS.length;
  const mean = (f: (a: number) => number): number => {
    let sum = 0;
    for (let a = 0; a < n; a++) sum += f(a);
    return sum / n;
  };
  const detA = (a: number): number => c.tp[a]! / Math.max(1, c.tp[a]! + c.fn[a]! + c.fp[a]!);
  const hota = (a: number): number => Math.sqrt(detA(a) * c.assA[a]!);
  return {
    HOTA: mean(hota),
    DetA: mean(detA),
    AssA: mean((a) => c.assA[a]!),
    DetRe: mean((a) => c.tp[a]! / Math.max(1, c.tp[a]! + c.fn[a]!)),
    DetPr: mean((a) => c.tp[a]! / Math.max(1, c.tp[a]! + c.fp[a]!)),
    AssRe: mean((a) => c.assRe[a]!),
    AssPr: mean((a) => c.assPr[a]!),
    LocA: mean((a) => c.locA[a]!),
    hotaPerAlpha: Array.from({ length: n }, (_, a) => hota(a)),
  };
}
