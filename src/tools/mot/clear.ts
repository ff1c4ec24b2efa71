/**
 * CLEAR MOT metrics (Bernardin & Stiefelhagen 2008) as TrackEval computes them: per frame, a Hungarian
 * matching at IoU >= 0.5 that first keeps the previous frame's gt -> tracker pairs (weight 1000) and then
 * maximises IoU. An id switch is a gt matched to a different tracker id than the last one it was
 * matched to (any number of frames before). Frag counts the times a gt trajectory resumes being tracked.
 * MT/ML: tracked for more than 80% / less than 20% of its frames.
 */
import { solveAssignment } from '../../track/assignment.js';
import type { SequenceData } from './sequenceData.js';

const THRESHOLD = 0.5;
const EPS = Number.EPSILON;

export interface ClearCounts {
  tp: number;
  fn: number;
  fp: number;
  idsw: number;
  mt: number;
  pt: number;
  ml: number;
  frag: number;
  /** Sum of the IoUs of the matches (for MOTP). */
  motpSum: number;
  frames: number;
}

export interface ClearScores {
  MOTA: number;
  MOTP: number;
  MODA: number;
  CLR_Re: number;
  CLR_Pr: number;
  MTR: number;
  PTR: number;
  MLR: number;
  sMOTA: number;
}

export function clearSequence(data: SequenceData): ClearCounts {
  const res: ClearCounts = { tp: 0, fn: 0, fp: 0, idsw: 0, mt: 0, pt: 0, ml: 0, frag: 0, motpSum: 0, frames: data.numFrames };
  if (data.numTrackerDets === 0) return { ...res, fn: data.numGtDets, ml: data.numGtIds };
  if (data.numGtDets === 0) return { ...res, fp: data.numTrackerDets };

  const G = data.numGtIds;
  const gtIdCount = new Float64Array(G);
  const gtMatchedCount = new Float64Array(G);
  const gtTrackedStarts = new Float64Array(G);
  // Last tracker id ever matched to each gt (for IDSW), and the one matched in the previous matched frame.
  const lastTrackerId = new Float64Array(G).fill(NaN);
  const previousTrackerId = new Float64Array(G).fill(NaN);

  for (let f = 0; f < data.numFrames; f++) {
    const gIds = data.gtIds[f]!;
    const tIds = data.trackerIds[f]!;
    const ng = gIds.length;
    const nt = tIds.length;
    // As TrackEval: frames without gt or without tracker boxes do not break "previous frame" continuity.
    if (ng === 0) {
      res.fp += nt;
      continue;
    }
    if (nt === 0) {
      res.fn += ng;
      for (const g of gIds) gtIdCount[g]!++;
      continue;
    }
    const sim = data.similarity[f]!;
    const score = new Float64Array(ng * nt);
    for (let i = 0; i < ng; i++) {
      for (let j = 0; j < nt; j++) {
        const s = sim[i * nt + j]!;
        score[i * nt + j] = s < THRESHOLD - EPS ? 0 : (tIds[j] === previousTrackerId[gIds[i]!] ? 1000 : 0) + s;
      }
    }
    const negScore = score.map((v) => -v);
    const rowToCol = solveAssignment(negScore, ng, nt);
    const matchedGt: number[] = [];
    const matchedTracker: number[] = [];
    for (let i = 0; i < ng; i++) {
      const j = rowToCol[i]!;
      if (j < 0 || !(score[i * nt + j]! > EPS)) continue;
      matchedGt.push(gIds[i]!);
      matchedTracker.push(tIds[j]!);
      res.motpSum += sim[i * nt + j]!;
    }
    for (let k = 0; k < matchedGt.length; k++) {
      const last = lastTrackerId[matchedGt[k]!]!;
      if (!Number.isNaN(last) && last !== matchedTracker[k]) res.idsw++;
    }
    for (const g of gIds) gtIdCount[g]!++;
    const wasTracked = previousTrackerId.map((v) => (Number.isNaN(v) ? 0 : 1));
    previousTrackerId.fill(NaN);
    for (let k = 0; k < matchedGt.length; k++) {
      const g = matchedGt[k]!;
      gtMatchedCount[g]!++;
      lastTrackerId[g] = matchedTracker[k]!;
      previousTrackerId[g] = matchedTracker[k]!;
      if (!wasTracked[g]) gtTrackedStarts[g]!++;
    }
    res.tp += matchedGt.length;
    res.fn += ng - matchedGt.length;
    res.fp += nt - matchedGt.length;
  }

  for (let g = 0; g < G; g++) {
    if (gtIdCount[g]! > 0) {
      const ratio = gtMatchedCount[g]! / gtIdCount[g]!;
      if (ratio > 0.8) res.mt++;
      else if (ratio >= 0.2) res.pt++;
    }
    if (gtTrackedStarts[g]! > 0) res.frag += gtTrackedStarts[g]! - 1;
  }
  res.ml = G - res.mt - res.pt;
  return res;
}

export function combineClear(all: ClearCounts[]): ClearCounts {
  const res: ClearCounts = { tp: 0, fn: 0, fp: 0, idsw: 0, mt: 0, pt: 0, ml: 0, frag: 0, motpSum: 0, frames: 0 };
  for (const r of all) for (const key of Object.keys(res) as (keyof ClearCounts)[]) res[key] += r[key];
  return res;
}

export function clearScores(c: ClearCounts): ClearScores {
  const gtDets = Math.max(1, c.tp + c.fn);
  const gtIds = Math.max(1, c.mt + c.pt + c.ml);
  return {
    MOTA: (c.tp - c.fp - c.idsw) / gtDets,
    MOTP: c.motpSum / Math.max(1, c.tp),
    MODA: (c.tp - c.fp) / gtDets,
    CLR_Re: c.tp / gtDets,
    CLR_Pr: c.tp / Math.max(1, c.tp + c.fp),
    MTR: c.mt / gtIds,
    PTR: c.pt / gtIds,
    MLR: c.ml / gtIds,
    sMOTA: (c.motpSum - c.fp - c.idsw) / gtDets,
  };
}
