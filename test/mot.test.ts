import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { command } from '../src/cli/mot.js';
import { clearScores } from '../src/tools/mot/clear.js';
import { combineCounts, countSequence, evaluateFolders, evaluateSequences, formatReport, type MotMetrics } from '../src/tools/mot/evaluate.js';
import { formatMotResults, parseMotRows, parseSeqInfo, readMotRows, readSeqInfo } from '../src/tools/mot/formats.js';
import { hotaScores, hotaSequence } from '../src/tools/mot/hota.js';
import { prepareSequence } from '../src/tools/mot/sequenceData.js';
import { BYTETRACK_MOT_FILTER, detectionsByFrame, trackSequence } from '../src/tools/mot/trackSequence.js';
import { DEFAULT_TRACKER } from '../src/config/schema.js';

// ../shared beside the repository (CI clones the repo with shared/ next to it).
const MOT = fileURLToPath(new URL('../../shared/data/mot/', import.meta.url));
const GT_ROOT = join(MOT, 'MOT15-train');
const SEQUENCES = ['ADL-Rundle-6', 'ETH-Bahnhof', 'PETS09-S2L1'];
const REFERENCES = ['SORT', 'ByteTrack_demo_t0.5_m0.8', 'ByteTrack_trackpy_t0.6_m0.9'];

/** TrackEval's per-sequence and COMBINED rows (fractions) from trackeval_detailed.csv. */
function readTrackEvalCsv(path: string): Map<string, Record<string, number>> {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
  const rows = new Map<string, Record<string, number>>();
  for (const cells of lines) rows.set(cells[0]!, Object.fromEntries(header!.slice(1).map((name, k) => [name, Number(cells[k + 1])])));
  return rows;
}

const RATIOS: [keyof MotMetrics, string][] = [
  ['HOTA', 'HOTA___AUC'], ['DetA', 'DetA___AUC'], ['AssA', 'AssA___AUC'], ['LocA', 'LocA___AUC'],
  ['DetRe', 'DetRe___AUC'], ['DetPr', 'DetPr___AUC'], ['AssRe', 'AssRe___AUC'], ['AssPr', 'AssPr___AUC'],
  ['MOTA', 'MOTA'], ['MOTP', 'MOTP'], ['MODA', 'MODA'], ['IDF1', 'IDF1'], ['IDP', 'IDP'], ['IDR', 'IDR'],
];
const COUNTS: [keyof MotMetrics, string][] = [
  ['IDSW', 'IDSW'], ['CLR_FP', 'CLR_FP'], ['CLR_FN', 'CLR_FN'], ['CLR_TP', 'CLR_TP'], ['Frag', 'Frag'],
  ['MT', 'MT'], ['PT', 'PT'], ['ML', 'ML'], ['IDTP', 'IDTP'], ['IDFN', 'IDFN'], ['IDFP', 'IDFP'],
];

/** Scores one sequence given as MOT rows 'frame,id,x,y,w,h' (ground truth and results). */
function score(gt: string[], results: string[], numFrames: number): MotMetrics {
  const rows = (lines: string[]) => parseMotRows(lines.map((l) => `${l},1`).join('\n'));
  return evaluateSequences([{ name: 'hand', gt: rows(gt), results: rows(results), numFrames }]).combined;
}

// Hand-worked cases at the metrics' thresholds. They come first: they are quick, and mutation
// testing stops at the first failing test.
describe('MOT metrics at their exact thresholds', () => {
  it('IoU exactly 0.5 is a CLEAR and an Identity match, and a HOTA match for alpha <= 0.5', () => {
    // gt [0,0,10,10], result [0,0,10,5]: IoU 50 / 100.
    const m = score(['1,1,0,0,10,10'], ['1,7,0,0,10,5'], 1);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.IDTP, m.IDFN, m.IDFP]).toEqual([1, 0, 0, 1, 0, 0]);
    expect(m.MOTP).toBeCloseTo(0.5, 12);
    // Matched at the 10 alphas 0.05 ... 0.50 of 19: DetA = AssA = HOTA = 10/19.
    expect(m.DetA).toBeCloseTo(10 / 19, 12);
    expect(m.AssA).toBeCloseTo(10 / 19, 12);
    expect(m.HOTA).toBeCloseTo(10 / 19, 12);
    expect(m.LocA).toBeCloseTo((10 * 0.5 + 9) / 19, 12);
  });

  it('IoU 0.49 is no CLEAR or Identity match, and a HOTA match up to alpha 0.45', () => {
    const m = score(['1,1,0,0,100,100'], ['1,7,0,0,100,49'], 1);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.IDTP, m.IDFN, m.IDFP]).toEqual([0, 1, 1, 0, 1, 1]);
    expect(m.HOTA).toBeCloseTo(9 / 19, 12);
  });

  it('HOTA counts an IoU equal to alpha even where numpy\'s arange rounds alpha up (0.7 is 0.70000000000000007)', () => {
    // gt [0,0,10,10], result [0,0,10,7]: IoU 0.7, matched at the 14 alphas 0.05 ... 0.70.
    const m = score(['1,1,0,0,10,10'], ['1,7,0,0,10,7'], 1);
    expect(m.HOTA).toBeCloseTo(14 / 19, 12);
    expect(m.DetRe).toBeCloseTo(14 / 19, 12);
    expect(m.DetPr).toBeCloseTo(14 / 19, 12);
    expect(m.LocA).toBeCloseTo((14 * 0.7 + 5) / 19, 12);
  });

  it('mostly tracked means more than 80 % of a track\'s frames, partly tracked at least 20 %', () => {
    // Four targets over 5 frames, far apart; the results follow them in 5, 4, 1 and 0 frames.
    const gt: string[] = [];
    const res: string[] = [];
    [5, 4, 1, 0].forEach((tracked, k) => {
      for (let f = 1; f <= 5; f++) {
        gt.push(`${f},${k + 1},${100 * k},0,10,10`);
        if (f <= tracked) res.push(`${f},${k + 11},${100 * k},0,10,10`);
      }
    });
    const m = score(gt, res, 5);
    expect([m.MT, m.PT, m.ML]).toEqual([1, 2, 1]);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.IDSW, m.Frag]).toEqual([10, 10, 0, 0, 0]);
    // Four gt ids and three result ids: the fourth target pairs with no id and adds nothing to IDTP.
    expect([m.IDTP, m.IDFN, m.IDFP]).toEqual([5 + 4 + 1, 10, 0]);
  });

  // TrackEval compares with a tolerance of one machine epsilon (2^-52): a CLEAR match needs
  // IoU >= 0.5 - eps, a HOTA match IoU >= alpha - eps, while Identity compares with 0.5 itself.
  // Boxes one pixel tall and 2^51 pixels wide give such IoUs exactly.
  it('IoU one epsilon under 0.5 is a CLEAR match and a HOTA match at alpha 0.5, but no Identity match', () => {
    // gt width 2^51 + 1, result width 2^50 inside it: IoU = 2^50 / (2^51 + 1), which rounds to 0.5 - 2^-52.
    const m = score(['1,1,0,0,2251799813685249,1'], ['1,7,0,0,1125899906842624,1'], 1);
    expect(m.MOTP).toBe(0.5 - Number.EPSILON);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.IDTP, m.IDFN, m.IDFP]).toEqual([1, 0, 0, 0, 1, 1]);
    // Matched at the 10 alphas 0.05 ... 0.50.
    expect(m.HOTA).toBeCloseTo(10 / 19, 12);
  });

  it('HOTA leaves a pair out of the global alignment when its IoU denominator is not above epsilon', () => {
    // Frame 1: result 7 is a 1 x 1 box inside a 2^52 x 1 gt box, IoU 2^-52, and nothing else overlaps
    // either box, so the pair's denominator (row sum + column sum - IoU) is exactly epsilon and
    // adds nothing to the alignment of 1 and 7. Frame 2: results 7 and 8 each cover 0.6 of the gt box.
    // Alignment with 7: 0.5 / (2 + 2 - 0.5); with 8: 0.5 / (2 + 1 - 0.5), so frame 2 pairs 1 with 8.
    // (Had frame 1 counted, 7 would have aligned 1.5 / (4 - 1.5) and won.)
    const m = score(['1,1,0,0,4503599627370496,1', '2,1,0,0,10,10'], ['1,7,0,0,1,1', '2,7,0,0,10,6', '2,8,0,4,10,6'], 2);
    // At the 12 alphas up to 0.6: TP 1, FN 1, FP 2 (DetA 1/4) and the pair 1-8 matched once of
    // 2 + 1 - 1 frames (AssA 1/2); above 0.6 nothing matches.
    expect(m.DetA).toBeCloseTo((12 * (1 / 4)) / 19, 12);
    expect(m.AssA).toBeCloseTo((12 * (1 / 2)) / 19, 12);
  });

  it('a frame without ground truth or without results does not end a track for Frag, as in TrackEval', () => {
    // Frame 2 has result 7 but no gt: gt 1 is tracked in frames 1 and 3 without a break.
    const noGt = score(['1,1,0,0,10,10', '3,1,0,0,10,10'], ['1,7,0,0,10,10', '2,7,0,0,10,10', '3,7,0,0,10,10'], 3);
    expect([noGt.CLR_TP, noGt.CLR_FN, noGt.CLR_FP, noGt.IDSW, noGt.Frag]).toEqual([2, 0, 1, 0, 0]);
    // Frame 2 has gt 1 but no results at all: TrackEval skips the frame, so the track is not broken either.
    const noResults = score(['1,1,0,0,10,10', '2,1,0,0,10,10', '3,1,0,0,10,10'], ['1,7,0,0,10,10', '3,7,0,0,10,10'], 3);
    expect([noResults.CLR_TP, noResults.CLR_FN, noResults.CLR_FP, noResults.IDSW, noResults.Frag]).toEqual([2, 1, 0, 0, 0]);
    // With another result in frame 2 (far away), the frame is matched and gt 1's track breaks: Frag 1.
    const broken = score(['1,1,0,0,10,10', '2,1,0,0,10,10', '3,1,0,0,10,10'], ['1,7,0,0,10,10', '2,9,500,0,10,10', '3,7,0,0,10,10'], 3);
    expect([broken.CLR_TP, broken.CLR_FN, broken.CLR_FP, broken.IDSW, broken.Frag]).toEqual([2, 1, 1, 0, 1]);
  });
});

describe('MOT evaluator reproduces TrackEval', () => {
  for (const tracker of REFERENCES) {
    it(`${tracker}: every sequence and combined within 0.05 points`, () => {
      const report = evaluateFolders(GT_ROOT, join(MOT, 'reference', tracker));
      const expected = readTrackEvalCsv(join(MOT, 'reference', tracker, 'trackeval_detailed.csv'));
      expect(report.sequences.map((s) => s.name)).toEqual(SEQUENCES);
      for (const [name, metrics] of [...report.sequences.map((s) => [s.name, s.metrics] as const), ['COMBINED', report.combined] as const]) {
        const ref = expected.get(name)!;
        for (const [ours, theirs] of RATIOS) {
          expect(Math.abs(metrics[ours] - ref[theirs]!), `${name} ${ours}`).toBeLessThanOrEqual(0.0005);
        }
        for (const [ours, theirs] of COUNTS) expect(metrics[ours], `${name} ${ours}`).toBe(ref[theirs]);
      }
      // The CLEAR ratios TrackEval prints beside MOTA, from the combined counts.
      const clear = clearScores(combineCounts(SEQUENCES.map((name) =>
        countSequence(readMotRows(join(GT_ROOT, name, 'gt', 'gt.txt')), readMotRows(join(MOT, 'reference', tracker, `${name}.txt`)), readSeqInfo(join(GT_ROOT, name, 'seqinfo.ini')).seqLength, name),
      )).clear);
      const combined = expected.get('COMBINED')!;
      for (const key of ['CLR_Re', 'CLR_Pr', 'MTR', 'PTR', 'MLR', 'sMOTA'] as const) expect(Math.abs(clear[key] - combined[key]!), key).toBeLessThanOrEqual(0.0005);
      // The summary file (percent, 3 decimals) agrees too.
      const [names, values] = readFileSync(join(MOT, 'reference', tracker, 'trackeval_summary.txt'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/));
      const summary = (key: string): number => Number(values![names!.indexOf(key)]);
      expect(Math.abs(100 * report.combined.HOTA - summary('HOTA'))).toBeLessThanOrEqual(0.05);
      expect(Math.abs(100 * report.combined.IDF1 - summary('IDF1'))).toBeLessThanOrEqual(0.05);
      expect(Math.abs(100 * report.combined.MOTA - summary('MOTA'))).toBeLessThanOrEqual(0.05);
    });
  }

  it('scores a tiny hand-made sequence as computed by hand', () => {
    // Two gt objects over 3 frames; the tracker follows A (id 7) throughout, B only in frame 1 (id 8)
    // and then swaps B to a new id 9 in frame 3 (frame 2: B missed), plus one false positive.
    const gt = parseMotRows(['1,1,0,0,10,10,1', '2,1,0,0,10,10,1', '3,1,0,0,10,10,1', '1,2,50,0,10,10,1', '2,2,50,0,10,10,1', '3,2,50,0,10,10,1'].join('\n'));
    const res = parseMotRows(['1,7,0,0,10,10,1', '2,7,0,0,10,10,1', '3,7,0,0,10,10,1', '1,8,50,0,10,10,1', '3,9,50,0,10,10,1', '2,5,100,100,10,10,1'].join('\n'));
    const { combined: m } = evaluateSequences([{ name: 'tiny', gt, results: res, numFrames: 3 }]);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.IDSW, m.Frag, m.MT, m.PT, m.ML]).toEqual([5, 1, 1, 1, 1, 1, 1, 0]);
    expect(m.MOTA).toBeCloseTo((5 - 1 - 1) / 6, 12);
    // IDs: 1<->7 (3 frames), 2<->8 or 2<->9 (1 frame): IDTP 4 of 6 gt and 6 tracker boxes.
    expect([m.IDTP, m.IDFN, m.IDFP]).toEqual([4, 2, 2]);
    expect(m.IDF1).toBeCloseTo(4 / 6, 12);
    // All IoUs are exactly 1 or 0, so every alpha sees TP 5, FN 1, FP 1: DetA = 5/7.
    // AssA = (3 * 3/3 + 1 * 1/3 + 1 * 1/3) / 5 (A: 7 matches 3 of 3; B: 8 and 9 each 1 of (3 + 1 - 1)).
    expect(m.DetA).toBeCloseTo(5 / 7, 12);
    expect(m.AssA).toBeCloseTo((3 + 2 / 3) / 5, 12);
    expect(m.HOTA).toBeCloseTo(Math.sqrt((5 / 7) * ((3 + 2 / 3) / 5)), 12);
    expect(m.LocA).toBeCloseTo(1, 12);
  });
});

describe('MOT metrics of sequences with nothing to match', () => {
  it('no results at all: every gt box missed, every target mostly lost', () => {
    const m = score(['1,1,0,0,10,10', '2,1,0,0,10,10', '2,2,50,0,10,10'], [], 2);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.IDSW, m.MT, m.PT, m.ML, m.IDTP, m.IDFN, m.IDFP]).toEqual([0, 3, 0, 0, 0, 0, 2, 0, 3, 0]);
    expect([m.HOTA, m.DetA, m.DetRe, m.MOTA, m.MODA, m.IDF1]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(m.LocA).toBe(1);
  });

  it('no ground truth at all: every result is a false positive', () => {
    const m = score([], ['1,7,0,0,10,10', '2,7,0,0,10,10'], 2);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.MT, m.PT, m.ML, m.IDTP, m.IDFN, m.IDFP]).toEqual([0, 0, 2, 0, 0, 0, 0, 0, 2]);
    expect([m.HOTA, m.DetA, m.DetPr, m.IDF1]).toEqual([0, 0, 0, 0]);
    expect(m.MOTA).toBe(-2);
  });

  it('frames with only ground truth or only results count as misses and false positives', () => {
    // Frame 1 matched exactly, frame 2 gt only, frame 3 result only.
    const m = score(['1,1,0,0,10,10', '2,1,0,0,10,10'], ['1,7,0,0,10,10', '3,7,0,0,10,10'], 3);
    expect([m.CLR_TP, m.CLR_FN, m.CLR_FP, m.MT, m.PT, m.ML, m.IDTP, m.IDFN, m.IDFP]).toEqual([1, 1, 1, 0, 1, 0, 1, 1, 1]);
    // Every alpha: TP 1, FN 1, FP 1 -> DetA 1/3; the one match pairs ids seen twice each: AssA 1 / (2 + 2 - 1).
    expect(m.DetA).toBeCloseTo(1 / 3, 12);
    expect(m.AssA).toBeCloseTo(1 / 3, 12);
    expect(m.MOTA).toBeCloseTo(0, 12);
    expect(m.MODA).toBeCloseTo(0, 12);
  });

  it('a sequence without results or without ground truth still counts its misses or false positives in COMBINED', () => {
    const rows = (lines: string[]) => parseMotRows(lines.map((l) => `${l},1`).join('\n'));
    const exact = { name: 'exact', gt: rows(['1,1,0,0,10,10']), results: rows(['1,7,0,0,10,10']), numFrames: 1 };
    const missed = { name: 'missed', gt: rows(['1,1,0,0,10,10', '2,1,0,0,10,10']), results: [], numFrames: 2 };
    const spurious = { name: 'spurious', gt: [], results: rows(['1,4,0,0,10,10', '2,4,0,0,10,10']), numFrames: 2 };
    // exact + missed: at every alpha TP 1, FN 2, FP 0; the one match is a perfect association.
    const a = evaluateSequences([exact, missed]).combined;
    [1 / 3, 1 / 3, 1, 1].forEach((v, k) => expect([a.DetA, a.DetRe, a.DetPr, a.AssA][k]).toBeCloseTo(v, 12));
    expect(a.HOTA).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(a.MOTA).toBeCloseTo(1 / 3, 12);
    // exact + spurious: TP 1, FN 0, FP 2.
    const b = evaluateSequences([exact, spurious]).combined;
    [1 / 3, 1, 1 / 3, 1].forEach((v, k) => expect([b.DetA, b.DetRe, b.DetPr, b.AssA][k]).toBeCloseTo(v, 12));
    expect(b.MOTA).toBeCloseTo(-1, 12);
  });

  it('per-alpha HOTA: a match at IoU 0.5 counts for the first ten alphas', () => {
    const data = prepareSequence(parseMotRows('1,1,0,0,10,10,1'), parseMotRows('1,7,0,0,10,5,1'), 1);
    expect(hotaScores(hotaSequence(data)).hotaPerAlpha).toEqual([...new Array(10).fill(1), ...new Array(9).fill(0)]);
  });

  it('refuses rows past the sequence and an id twice in a frame, naming the sequence, frame and side', () => {
    const rows = (lines: string[]) => parseMotRows(lines.map((l) => `${l},1`).join('\n'));
    expect(() => prepareSequence(rows(['3,1,0,0,10,10']), [], 2, 'S')).toThrow('S ground truth: frame 3 is beyond the sequence length 2');
    expect(() => prepareSequence([], rows(['3,1,0,0,10,10']), 2, 'S')).toThrow('S results: frame 3 is beyond the sequence length 2');
    expect(() => prepareSequence(rows(['2,1,0,0,10,10', '2,1,50,0,10,10']), [], 2, 'S')).toThrow('S ground truth: frame 2 has the same id more than once');
    expect(() => prepareSequence([], rows(['1,4,0,0,10,10', '1,4,50,0,10,10']), 2)).toThrow('sequence results: frame 1 has the same id more than once');
  });
});

describe('MOT formats', () => {
  it('reads rows separated by commas or blanks, trimmed, and names a missing or empty value', () => {
    expect(parseMotRows('  1 2 3 4 5 6 0.5 \n\n2,3, 4 ,5,6,7,1,-1,-1,-1\n3  4\t 5 6 7 8 0.25\n')).toEqual([
      { frame: 1, id: 2, x: 3, y: 4, w: 5, h: 6, score: 0.5 },
      { frame: 2, id: 3, x: 4, y: 5, w: 6, h: 7, score: 1 },
      { frame: 3, id: 4, x: 5, y: 6, w: 7, h: 8, score: 0.25 },
    ]);
    expect(() => parseMotRows('1,2,3,,5,6,7')).toThrow("input:1: column 4 is not a number: ''");
    let err: Error | undefined;
    try {
      parseMotRows('x');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('MotFormatError');
  });

  it('writes results sorted by frame, then id', () => {
    const row = (frame: number, id: number) => ({ frame, id, x: 1, y: 2, w: 3, h: 4, score: 0.5 });
    const lines = formatMotResults([row(2, 1), row(1, 9), row(1, 3)]).trim().split('\n');
    expect(lines.map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['1,3', '1,9', '2,1']);
  });

  it('reads seqinfo.ini: comments, blanks and spaces ignored; sizes optional; every required value positive', () => {
    expect(parseSeqInfo('[Sequence]\n; a comment = 1\n# another = 2\n  name = cam 1  \n=odd\nframeRate = 25\nseqLength=100\n')).toEqual({ name: 'cam 1', frameRate: 25, seqLength: 100, imWidth: 0, imHeight: 0 });
    expect(parseSeqInfo('frameRate=7\nseqLength=10').name).toBe('');
    expect(() => parseSeqInfo('frameRate=0\nseqLength=10', 'x.ini')).toThrow("x.ini: 'frameRate' must be a positive number");
    expect(() => parseSeqInfo('frameRate=7\nseqLength=10.5')).toThrow("seqinfo.ini: 'seqLength' must be an integer");
    expect(() => parseSeqInfo('frameRate=7\nseqLength=10\nimWidth=-5')).toThrow("'imWidth' must be a positive number");
    expect(() => parseSeqInfo('frameRate=fast\nseqLength=10')).toThrow("'frameRate' must be a positive number");
    // A line without '=' is no setting, even when it starts with a key.
    expect(parseSeqInfo('name x\nimWidth 640\nframeRate=7\nseqLength=10')).toEqual({ name: '', frameRate: 7, seqLength: 10, imWidth: 0, imHeight: 0 });
    // Only a line that starts with ';' or '#' is a comment (as in Python's configparser): a value may end with either.
    expect(parseSeqInfo('name=cam;\nframeRate=7\nseqLength=10').name).toBe('cam;');
    expect(parseSeqInfo('name=cam#\nframeRate=7\nseqLength=10').name).toBe('cam#');
    // configparser's other delimiter, and keys in any case; the first delimiter splits.
    expect(parseSeqInfo('[Sequence]\nName: cam:2\nframerate : 30\nSEQLENGTH=5\nimWidth: 640\nimheight = 480')).toEqual({ name: 'cam:2', frameRate: 30, seqLength: 5, imWidth: 640, imHeight: 480 });
  });

  it('names a file that cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mot-'));
    expect(() => readMotRows(join(dir, 'nope.txt'))).toThrow(`${join(dir, 'nope.txt')}: file not found`);
    expect(() => readMotRows(dir)).toThrow(new RegExp(`^${dir}: EISDIR`));
  });
});

describe('MOT report and folders', () => {
  it('prints a table: sequences then COMBINED, ratios in percent with 3 decimals, counts as they are', () => {
    const metrics = score(['1,1,0,0,10,10'], ['1,7,0,0,10,5'], 1);
    const text = formatReport({ sequences: [{ name: 'a-long-sequence', metrics }], combined: metrics });
    const [header, first, last, end] = text.split('\n');
    expect(header).toBe(['Sequence'.padEnd(15), ...['HOTA', 'DetA', 'AssA', 'LocA', 'MOTA', 'MOTP', 'IDF1', 'IDP', 'IDR', 'IDSW', 'FP', 'FN', 'Frag', 'MT', 'ML'].map((c) => c.padStart(8))].join(' '));
    const cells = (name: string) => [name.padEnd(15), '52.632', '52.632', '52.632', '73.684', '100.000', '50.000', '100.000', '100.000', '100.000', '0', '0', '0', '0', '1', '0'].map((c, i) => (i === 0 ? c : c.padStart(8))).join(' ');
    expect(first).toBe(cells('a-long-sequence'));
    expect(last).toBe(cells('COMBINED'));
    expect(end).toBe('');
    // With short names the name column is 8 wide ('Sequence', 'COMBINED').
    expect(formatReport({ sequences: [], combined: metrics }).split('\n')[1]!.startsWith('COMBINED   52.632 ')).toBe(true);
  });

  it('evaluates the sequence folders that have ground truth, and names a folder that is missing or empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mot-'));
    const gt = join(dir, 'gt');
    const res = join(dir, 'res');
    mkdirSync(join(gt, 'S1', 'gt'), { recursive: true });
    mkdirSync(join(gt, 'notes'), { recursive: true });
    // A gt folder without gt.txt is no sequence either.
    mkdirSync(join(gt, 'S0', 'gt'), { recursive: true });
    writeFileSync(join(gt, 'S0', 'gt', 'README'), 'annotations pending\n');
    mkdirSync(res);
    writeFileSync(join(gt, 'S1', 'gt', 'gt.txt'), '1,1,0,0,10,10,1\n');
    writeFileSync(join(gt, 'S1', 'seqinfo.ini'), 'frameRate=10\nseqLength=1\n');
    writeFileSync(join(res, 'S1.txt'), '1,7,0,0,10,10,1,-1,-1,-1\n');
    const report = evaluateFolders(gt, res);
    expect(report.sequences.map((s) => [s.name, s.metrics.HOTA])).toEqual([['S1', 1]]);
    expect(() => evaluateFolders(join(dir, 'none'), res)).toThrow(`${join(dir, 'none')}: ground-truth folder not found`);
    expect(() => evaluateFolders(join(gt, 'S1', 'seqinfo.ini'), res)).toThrow('ground-truth folder not found');
    expect(() => evaluateFolders(gt, join(dir, 'none'))).toThrow(`${join(dir, 'none')}: results folder not found`);
    expect(() => evaluateFolders(join(gt, 'notes'), res)).toThrow(`${join(gt, 'notes')}: no sequence folders with gt/gt.txt`);
  });
});

describe('tracking MOT detections', () => {
  const info = { name: 's', frameRate: 10, seqLength: 3, imWidth: 640, imHeight: 480 };
  const rows = (lines: string[]) => parseMotRows(lines.join('\n'));

  it('groups detections by frame as pedestrians and refuses one past the sequence', () => {
    const frames = detectionsByFrame(rows(['2,-1,10,20,30,40,0.9', '1,-1,1,2,3,4,0.5']), 3);
    expect(frames).toEqual([[{ box: [1, 2, 4, 6], score: 0.5, class: 0, label: 'pedestrian' }], [{ box: [10, 20, 40, 60], score: 0.9, class: 0, label: 'pedestrian' }], []]);
    expect(() => detectionsByFrame(rows(['4,-1,1,2,3,4,0.5']), 3)).toThrow('detection frame 4 is beyond seqLength 3');
  });

  it('writes tracked boxes, with the default tracker, through the optional output filter, timing each frame', () => {
    // A tall box and a wide one (aspect 2 > 1.6), both tracked from the first frame, and a tiny one (9 px^2).
    const frames = detectionsByFrame(rows([1, 2, 3].flatMap((f) => [`${f},-1,0,0,20,50,0.9`, `${f},-1,100,0,40,20,0.9`, `${f},-1,300,0,3,3,0.9`])), 3);
    const all = trackSequence(frames, info);
    expect(all.map((r) => [r.frame, r.id])).toEqual([[1, 1], [1, 2], [1, 3], [2, 1], [2, 2], [2, 3], [3, 1], [3, 2], [3, 3]]);
    const times: number[] = [];
    const before = performance.now();
    const filtered = trackSequence(frames, info, { filter: BYTETRACK_MOT_FILTER, onUpdateTime: (ms) => times.push(ms) });
    const elapsed = performance.now() - before;
    expect(filtered.map((r) => [r.frame, r.id, r.w, r.h])).toEqual([[1, 1, 20, 50], [2, 1, 20, 50], [3, 1, 20, 50]]);
    expect(times).toHaveLength(3);
    // Durations of parts of the call: none negative, together no longer than the call.
    expect(times.every((ms) => ms >= 0)).toBe(true);
    expect(times.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(elapsed);
    // An area exactly at the limit is filtered out too; an aspect exactly at the limit is kept.
    const edge = detectionsByFrame(rows(['1,-1,0,0,2,5,0.9', '1,-1,100,0,32,20,0.9']), 1);
    expect(trackSequence(edge, { ...info, seqLength: 1 }, { filter: BYTETRACK_MOT_FILTER }).map((r) => [r.w, r.h])).toEqual([[32, 20]]);
    // A config of its own is used when given.
    expect(trackSequence(frames, info, { config: { ...DEFAULT_TRACKER, newTrackThresh: 0.95, trackThresh: 0.95 } })).toEqual([]);
  });
});

describe('MOT format errors', () => {
  it('names the file and line of a malformed row', () => {
    expect(() => parseMotRows('1,-1,1,2,3,4,0.9\n2,-1,1,x,3,4,0.9\n', 'det.txt')).toThrow('det.txt:2: column 4 is not a number');
    expect(() => parseMotRows('1,-1,1,2,3,4,0.9\n\n3,-1,1,2\n', 'det.txt')).toThrow('det.txt:3: expected at least 7');
    expect(() => parseMotRows('0,-1,1,2,3,4,0.9\n', 'det.txt')).toThrow('det.txt:1: frame must be an integer >= 1');
  });

  it('reads seqinfo.ini', () => {
    expect(readSeqInfo(join(GT_ROOT, 'PETS09-S2L1', 'seqinfo.ini'))).toEqual({ name: 'PETS09-S2L1', frameRate: 7, seqLength: 795, imWidth: 768, imHeight: 576 });
    expect(() => parseSeqInfo('[Sequence]\nseqLength=10\n', 'x.ini')).toThrow("x.ini: 'frameRate' must be a positive number");
  });
});

describe('streamlens mot CLI', () => {
  async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const write = { out: process.stdout.write, err: process.stderr.write };
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
    try {
      const code = await command.run(argv);
      return { code, stdout: out.join(''), stderr: err.join('') };
    } finally {
      process.stdout.write = write.out;
      process.stderr.write = write.err;
    }
  }

  it('tracks a sequence and evaluates the results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mot-'));
    const seq = join(GT_ROOT, 'PETS09-S2L1');
    const tracked = await run(['track', '--det', join(seq, 'det', 'det.txt'), '--seqinfo', join(seq, 'seqinfo.ini'), '--out', join(dir, 'res', 'PETS09-S2L1.txt')]);
    expect(tracked.code).toBe(0);
    const rows = readMotRows(join(dir, 'res', 'PETS09-S2L1.txt'));
    expect(rows.length).toBeGreaterThan(3000);
    expect(rows.every((r) => r.frame >= 1 && r.frame <= 795 && r.id > 0)).toBe(true);
    // Evaluate against a gt folder holding only this sequence.
    const gtDir = join(dir, 'gt');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(gtDir, 'PETS09-S2L1', 'gt'), { recursive: true });
    writeFileSync(join(gtDir, 'PETS09-S2L1', 'gt', 'gt.txt'), readFileSync(join(seq, 'gt', 'gt.txt')));
    writeFileSync(join(gtDir, 'PETS09-S2L1', 'seqinfo.ini'), readFileSync(join(seq, 'seqinfo.ini')));
    const evaluated = await run(['eval', '--gt', gtDir, '--results', join(dir, 'res'), '--json', join(dir, 'out.json')]);
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toMatch(/^Sequence +HOTA/);
    expect(evaluated.stdout).toMatch(/\nPETS09-S2L1 +\d+\.\d{3}/);
    const json = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { combined: MotMetrics };
    expect(json.combined.HOTA).toBeGreaterThan(0.3);
  });

  it('fails with a one-line error on bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mot-'));
    const missing = await run(['track', '--det', join(dir, 'nope.txt'), '--seqinfo', join(GT_ROOT, 'PETS09-S2L1', 'seqinfo.ini'), '--out', join(dir, 'o.txt')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`streamlens mot track: ${join(dir, 'nope.txt')}: file not found\n`);
    writeFileSync(join(dir, 'det.txt'), '1,-1,1,2,3,4,0.9\n1,-1,1,2,3\n');
    const malformed = await run(['track', '--det', join(dir, 'det.txt'), '--seqinfo', join(GT_ROOT, 'PETS09-S2L1', 'seqinfo.ini'), '--out', join(dir, 'o.txt')]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('det.txt:2: expected at least 7');
    expect((await run(['track', '--det', 'x'])).code).toBe(2);
    expect((await run(['track', '--det', 'x', '--seqinfo', 'y', '--out', 'z', '--match-thresh', '2'])).stderr).toContain('--match-thresh must be a number in [0, 1]');
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['track', '--det', 'x', '--seqinfo', 'y', '--out', 'z', '--boxes', 'kalman'])).stderr).toContain("--boxes must be 'detection' or 'filtered'");
    expect((await run(['select'])).stderr).toBe('streamlens mot select: missing --data\n');
    expect((await run(['select', '--data', GT_ROOT, '--only', 'all'])).code).toBe(2);
    const lonely = await run(['select', '--data', dir]);
    expect(lonely.code).toBe(1);
    expect(lonely.stderr).toContain('leave-one-out needs at least 2 sequence folders');
  });
});
