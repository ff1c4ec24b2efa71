/**
 * Identity metrics (Ristani et al. 2016) as TrackEval computes them: gt and tracker ids are paired
 * one-to-one for the whole sequence so as to maximise the number of frames where the pair overlaps at
 * IoU >= 0.5 (IDTP); everything else is IDFN (gt) or IDFP (tracker).
 */
import { solveAssignment } from '../../track/assignment.js';
import type { SequenceData } from './sequenceData.js';

const THRESHOLD = 0.5;

export interface IdentityCounts {
  idtp: number;
  idfn: number;
  idfp: number;
}

export interface IdentityScores {
  IDF1: number;
  IDR: number;
  IDP: number;
}

export function identitySequence(data: SequenceData): IdentityCounts {
  if (data.numTrackerDets === 0) return { idtp: 0, idfn: data.numGtDets, idfp: 0 };
  if (data.numGtDets === 0) return { idtp: 0, idfn: 0, idfp: data.numTrackerDets };
  const G = data.numGtIds;
  const T = data.numTrackerIds;
  const overlapFrames = new Float64Array(G * T);
  for (let f = 0; f < data.numFrames; f++) {
    const gIds = data.gtIds[f]!;
    const tIds = data.trackerIds[f]!;
    const sim = data.similarity[f]!;
    const nt = tIds.length;
    for (let i = 0; i < gIds.length; i++) {
      for (let j = 0; j < nt; j++) if (sim[i * nt + j]! >= THRESHOLD) overlapFrames[gIds[i]! * T + tIds[j]!]!++;
    }
  }
  // TrackEval minimises IDFN + IDFP over an extended matrix; that equals maximising the matched overlap.
  const negOverlap = overlapFrames.map((v) => -v);
  const rowToCol = solveAssignment(negOverlap, G, T);
  let idtp = 0;
  for (let g = 0; g < G; g++) if (rowToCol[g]! >= 0) idtp += overlapFrames[g * T + rowToCol[g]!]!;
  return { idtp, idfn: data.numGtDets - idtp, idfp: data.numTrackerDets - idtp };
}

export function combineIdentity(all: IdentityCounts[]): IdentityCounts {
  return all.reduce((s, r) => ({ idtp: s.idtp + r.idtp, idfn: s.idfn + r.idfn, idfp: s.idfp + r.idfp }), { idtp: 0, idfn: 0, idfp: 0 });
}

export function identityScores(c: IdentityCounts): IdentityScores {
  return {
    IDF1: c.idtp / Math.max(1, c.idtp + 0.5 * c.idfp + 0.5 * c.idfn),
    IDR: c.idtp / Math.max(1, c.idtp + c.idfn),
    IDP: c.idtp / Math.max(1, c.idtp + c.idfp),
  };
}
