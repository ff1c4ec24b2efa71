/**
 * One sequence prepared for evaluation the way TrackEval prepares MOT15: ground-truth rows with
 * consider = 0 dropped, no tracker rows removed, ids relabelled to 0..n-1 (in ascending id order), and
 * per frame the IoU of every ground-truth box against every tracker box.
 */
import { iouMatrix } from '../../geometry/iou.js';
import type { MotRow } from './formats.js';

export interface SequenceData {
  numFrames: number;
  numGtIds: number;
  numTrackerIds: number;
  numGtDets: number;
  numTrackerDets: number;
  /** Per frame (0-based), the relabelled ids present, in file order. */
  gtIds: Int32Array[];
  trackerIds: Int32Array[];
  /** Per frame, IoU row-major [gt][tracker]. */
  similarity: Float64Array[];
}

function relabel(rows: MotRow[]): Map<number, number> {
  const ids = [...new Set(rows.map((r) => r.id))].sort((a, b) => a - b);
  return new Map(ids.map((id, index) => [id, index]));
}

function boxesOf(rows: MotRow[]): Float64Array {
  const boxes = new Float64Array(4 * rows.length);
  rows.forEach((r, k) => boxes.set([r.x, r.y, r.x + r.w, r.y + r.h], 4 * k));
  return boxes;
}

function framesOf(rows: MotRow[], numFrames: number, what: string): MotRow[][] {
  const frames: MotRow[][] = Array.from({ length: numFrames }, () => []);
  for (const row of rows) {
    if (row.frame > numFrames) throw new Error(`${what}: frame ${row.frame} is beyond the sequence length ${numFrames}`);
    frames[row.frame - 1]!.push(row);
  }
  return frames;
}

export function prepareSequence(gtRows: MotRow[], trackerRows: MotRow[], numFrames: number, name = 'sequence'): SequenceData {
  const gt = gtRows.filter((r) => r.score !== 0);
  const gtLabel = relabel(gt);
  const trackerLabel = relabel(trackerRows);
  const gtFrames = framesOf(gt, numFrames, `${name} ground truth`);
  const trackerFrames = framesOf(trackerRows, numFrames, `${name} results`);
  const data: SequenceData = {
    numFrames,
    numGtIds: gtLabel.size,
    numTrackerIds: trackerLabel.size,
    numGtDets: gt.length,
    numTrackerDets: trackerRows.length,
    gtIds: [],
    trackerIds: [],
    similarity: [],
  };
  for (let f = 0; f < numFrames; f++) {
    const g = gtFrames[f]!;
    const t = trackerFrames[f]!;
    const trackerIds = Int32Array.from(t, (r) => trackerLabel.get(r.id)!);
    if (new Set(trackerIds).size !== trackerIds.length) throw new Error(`${name} results: frame ${f + 1} has the same id more than once`);
    const gtIds = Int32Array.from(g, (r) => gtLabel.get(r.id)!);
    if (new Set(gtIds).size !== gtIds.length) throw new Error(`${name} ground truth: frame ${f + 1} has the same id more than once`);
    data.gtIds.push(gtIds);
    data.trackerIds.push(trackerIds);
    data.similarity.push(iouMatrix(boxesOf(g), g.length, boxesOf(t), t.length));
  }
  return data;
}
