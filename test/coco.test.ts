/** COCO export: the file validates against the format's required fields and the masks round-trip. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CocoWriter, frameFileName } from '../src/output/coco.js';
import { encodeRle } from '../src/infer/adapters/rle.js';
import type { Detection, FrameResult } from '../src/types.js';
import { cocoProblems, maskFromCocoRle, type CocoFile } from './helpers/coco.js';

const W = 64;
const H = 48;

function frame(index: number, detections: Detection[]): FrameResult {
  return { streamId: 'a', seq: index, index, pts: index / 25, width: W, height: H, detections, timing: { captureTs: 0, stages: {} } };
}

/** An ellipse mask inside the box, row-major. */
function ellipseMask(box: [number, number, number, number]): Uint8Array {
  const m = new Uint8Array(W * H);
  const [x1, y1, x2, y2] = box;
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  const rx = (x2 - x1) / 2;
  const ry = (y2 - y1) / 2;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1) m[y * W + x] = 1;
  return m;
}

describe('COCO writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-coco-'));

  it('writes images, annotations with RLE masks and categories that validate, and the masks round-trip', async () => {
    const path = join(dir, 'masks.json');
    const masks: Uint8Array[] = [];
    const frames: FrameResult[] = [];
    for (let i = 0; i < 5; i++) {
      const dets: Detection[] = [];
      const a: [number, number, number, number] = [2 + i, 3, 30 + i, 40];
      const ma = ellipseMask(a);
      masks.push(ma);
      dets.push({ box: a, score: 0.91234, class: 0, label: 'person', trackId: 7, mask: encodeRle(ma, W, H) });
      if (i % 2 === 0) {
        const b: [number, number, number, number] = [40.25, 10.5, 63.75, 47.125];
        const mb = ellipseMask(b);
        masks.push(mb);
        dets.push({ box: b, score: 0.5, class: 2, label: 'car', mask: encodeRle(mb, W, H) });
      }
      frames.push(frame(i, dets));
    }
    frames.push(frame(5, []));
    const w = new CocoWriter(path, { names: { 0: 'person', 1: 'bicycle', 2: 'car' }, classCount: 3, source: 'clip.mp4' });
    for (const f of frames) await w.write(f);
    await w.close();
    expect(existsSync(`${path}.annotations.partial`)).toBe(false);

    const doc = JSON.parse(readFileSync(path, 'utf8')) as CocoFile;
    expect(cocoProblems(doc)).toEqual([]);
    expect(doc.images.map((im) => im.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(doc.images[3]).toMatchObject({ width: W, height: H, file_name: 'frame_000003.jpg', frame_index: 3, pts: 0.12 });
    expect(doc.categories).toEqual([
      { id: 1, name: 'person', supercategory: '' },
      { id: 2, name: 'bicycle', supercategory: '' },
      { id: 3, name: 'car', supercategory: '' },
    ]);
    expect(doc.annotations).toHaveLength(masks.length);
    expect(doc.annotations.map((a) => a.id)).toEqual(masks.map((_, i) => i + 1));
    // Masks round-trip through an independent decoder, in detection order.
    doc.annotations.forEach((a, i) => {
      const s = a.segmentation as { size: [number, number]; counts: number[] };
      expect(maskFromCocoRle(s.size, s.counts)).toEqual(masks[i]);
      expect(a.area).toBe(masks[i].reduce((n, v) => n + v, 0));
    });
    const car = doc.annotations.find((a) => a.category_id === 3)!;
    expect(car).toMatchObject({ image_id: 1, bbox: [40.25, 10.5, 23.5, 36.63], iscrowd: 0, score: 0.5 });
    expect(car.attributes).toBeUndefined();
    const person = doc.annotations.find((a) => a.category_id === 1 && a.image_id === 5)!;
    expect(person).toMatchObject({ bbox: [6, 3, 28, 37], score: 0.9123, attributes: { track_id: 7 } });
    expect(doc.info).toMatchObject({ description: 'streamlens analyze clip.mp4', contributor: 'streamlens' });
  });

  it('boxes without masks get the box area and an empty segmentation; unnamed classes still get a category', async () => {
    const path = join(dir, 'boxes.json');
    const w = new CocoWriter(path);
    await w.write(frame(0, [{ box: [1, 2, 11, 7], score: 0.3, class: 4, label: 'kite' }]));
    await w.close();
    const doc = JSON.parse(readFileSync(path, 'utf8')) as CocoFile;
    expect(cocoProblems(doc)).toEqual([]);
    expect(doc.annotations[0]).toMatchObject({ category_id: 5, bbox: [1, 2, 10, 5], area: 50, segmentation: [] });
    expect(doc.categories).toEqual([{ id: 5, name: 'kite', supercategory: '' }]);
  });

  it('stays valid with no frames at all (a run interrupted at once)', async () => {
    const path = join(dir, 'empty.json');
    const w = new CocoWriter(path, { classCount: 2 });
    await w.close();
    const doc = JSON.parse(readFileSync(path, 'utf8')) as CocoFile;
    expect(cocoProblems(doc)).toEqual([]);
    expect(doc.images).toEqual([]);
    expect(doc.categories.map((c) => c.name)).toEqual(['class0', 'class1']);
  });

  it('streams thousands of frames into one valid file', async () => {
    const path = join(dir, 'long.json');
    const w = new CocoWriter(path);
    const n = 3000;
    for (let i = 0; i < n; i++) await w.write(frame(i, [{ box: [i % 50, 1, (i % 50) + 10, 20], score: 0.8, class: i % 3, label: `c${i % 3}`, trackId: 1 + (i % 4) }]));
    await w.close();
    const doc = JSON.parse(readFileSync(path, 'utf8')) as CocoFile;
    expect(cocoProblems(doc)).toEqual([]);
    expect(doc.images).toHaveLength(n);
    expect(doc.annotations).toHaveLength(n);
    expect(doc.images[n - 1].file_name).toBe(frameFileName(n - 1));
  });

  it('the validator rejects what the format does not allow', () => {
    const good: CocoFile = {
      info: {},
      images: [{ id: 1, width: 4, height: 2, file_name: 'a.jpg' }],
      categories: [{ id: 1, name: 'a' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], area: 2, iscrowd: 0, segmentation: { size: [2, 4], counts: [1, 2, 5] } }],
    };
    expect(cocoProblems(good)).toEqual([]);
    const broken = (patch: (f: CocoFile) => void): string[] => {
      const f = structuredClone(good);
      patch(f);
      return cocoProblems(f);
    };
    expect(broken((f) => (f.annotations[0].segmentation = { size: [4, 2], counts: [1, 2, 5] }))).toHaveLength(1);
    expect(broken((f) => (f.annotations[0].segmentation = { size: [2, 4], counts: [1, 2, 4] }))).not.toEqual([]);
    expect(broken((f) => (f.annotations[0].area = 3))).toHaveLength(1);
    expect(broken((f) => (f.annotations[0].category_id = 2))).toHaveLength(1);
    expect(broken((f) => (f.annotations[0].image_id = 9))).not.toEqual([]);
    expect(broken((f) => (f.categories[0].id = 0))).not.toEqual([]);
    expect(broken((f) => (f.annotations[0].bbox = [0, 0, 1]))).toHaveLength(1);
    expect(broken((f) => delete (f as Partial<CocoFile>).categories)).toHaveLength(1);
  });
});
