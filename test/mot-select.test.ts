/**
 * The leave-one-sequence-out selection of the tracker's defaults on the three MOT15 sequences
 * (issue 18): it chooses the defaults, and its held-out scores clear the bar. Tens of seconds.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CANDIDATES, compareCandidates, DEFAULT_SETTINGS, loadSequences } from '../src/tools/mot/select.js';

// ../shared beside the repository (CI clones the repo with shared/ next to it).
const GT_ROOT = fileURLToPath(new URL('../../shared/data/mot/MOT15-train/', import.meta.url));
const SEQUENCES = ['ADL-Rundle-6', 'ETH-Bahnhof', 'PETS09-S2L1'];
// Official ByteTrack's best + 1.0 HOTA and + 1.5 IDF1 (test/mot-acceptance.test.ts).
const BAR = { HOTA: 0.3951, IDF1: 0.5217 };

describe('tracker defaults selection (acceptance)', () => {
  it('leave-one-sequence-out selection: the defaults are what it chooses, and its held-out scores clear the bar too', () => {
    const sequences = loadSequences(GT_ROOT, SEQUENCES);
    const [report] = compareCandidates(sequences, CANDIDATES.slice(0, 1));
    const chosen = { ...DEFAULT_SETTINGS.config, ...DEFAULT_SETTINGS.tuning };
    for (const [knob, value] of Object.entries(report!.inSample.values)) expect({ knob, value }).toEqual({ knob, value: chosen[knob as keyof typeof chosen] });
    expect(report!.folds.map((f) => f.heldOut)).toEqual(SEQUENCES);
    expect(report!.heldOut.HOTA).toBeGreaterThanOrEqual(BAR.HOTA);
    expect(report!.heldOut.IDF1).toBeGreaterThanOrEqual(BAR.IDF1);
  }, 300_000);
});
