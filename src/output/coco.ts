/**
 * COCO-style export of a video's detections (the object-detection format of cocodataset.org):
 * one `images` entry per decoded frame, one `annotations` entry per detection (with its mask as
 * uncompressed RLE when the model segments), and the model's classes as `categories`.
 *
 * Conventions (docs/analysis.md):
 *  - image id = frame index + 1; file_name `frame_000000.jpg` (0-based, six digits), as
 *    `ffmpeg -i in.mp4 -fps_mode passthrough -start_number 0 frame_%06d.jpg` names extracted frames;
 *    extra fields `frame_index` and `pts` (seconds).
 *  - category id = class index + 1 (0 means "no class" in several tools).
 *  - bbox [x, y, width, height] in source pixels; area = mask pixels, or the box area without a mask;
 *    iscrowd 0; segmentation {size: [h, w], counts: [...]} (column-major, pycocotools' uncompressed
 *    RLE) or [] without a mask; score; attributes.track_id for tracked detections.
 *
 * Memory stays flat for long videos: images stream into the output file as frames arrive, and
 * annotations into a side file that is appended when the run ends.
 */
import { rm } from 'node:fs/promises';
import type { Detection, FrameResult } from '../types.js';
import { rleArea } from '../infer/adapters/rle.js';
import type { ResultSink } from './sink.js';
import { TextFile } from './textFile.js';

export interface CocoWriterOptions {
  /** The model's class names by class index (ModelInfo.names); every class becomes a category. */
  names?: Record<number, string>;
  /** Number of classes when known (ModelInfo.nc): classes without a name are `class<N>`. */
  classCount?: number;
  /** Describes the input in `info.description`. */
  source?: string;
}

export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name: string;
  frame_index: number;
  pts: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0;
  segmentation: { size: [number, number]; counts: number[] } | [];
  score: number;
  attributes?: { track_id: number };
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

export function frameFileName(index: number): string {
  return `frame_${String(index).padStart(6, '0')}.jpg`;
}

export function cocoImage(r: FrameResult): CocoImage {
  return { id: r.index + 1, width: r.width, height: r.height, file_name: frameFileName(r.index), frame_index: r.index, pts: Math.round(r.pts * 1e6) / 1e6 };
}

export function cocoAnnotation(d: Detection, id: number, imageId: number): CocoAnnotation {
  const [x1, y1, x2, y2] = d.box;
  const bbox: [number, number, number, number] = [round2(x1), round2(y1), round2(x2 - x1), round2(y2 - y1)];
  const ann: CocoAnnotation = {
    id,
    image_id: imageId,
    category_id: d.class + 1,
    bbox,
    area: d.mask ? rleArea(d.mask) : round2(bbox[2] * bbox[3]),
    iscrowd: 0,
    segmentation: d.mask ? { size: d.mask.size, counts: d.mask.counts } : [],
    score: Math.round(d.score * 10000) / 10000,
  };
  if (d.trackId !== undefined) ann.attributes = { track_id: d.trackId };
  return ann;
}

/** Every class of the model (when known) and every class seen, by id. */
export function cocoCategories(seen: Map<number, string>, opts: CocoWriterOptions): CocoCategory[] {
  const byClass = new Map<number, string>();
  for (let c = 0; c < (opts.classCount ?? 0); c++) byClass.set(c, `class${c}`);
  for (const [c, name] of Object.entries(opts.names ?? {})) byClass.set(Number(c), name);
  for (const [c, name] of seen) if (!byClass.has(c)) byClass.set(c, name);
  return [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([c, name]) => ({ id: c + 1, name, supercategory: '' }));
}

/** The COCO file as a 'wait' sink: a write waits while the files' buffers are full. */
export class CocoWriter implements ResultSink {
  readonly name = 'coco';
  readonly backpressure = 'wait';
  private readonly main: TextFile;
  private readonly annotations: TextFile;
  private readonly seen = new Map<number, string>();
  private images = 0;
  private annotationCount = 0;
  private started = false;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly opts: CocoWriterOptions = {},
  ) {
    this.main = new TextFile(path);
    this.annotations = new TextFile(`${path}.annotations.partial`);
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const info = {
      description: `streamlens analyze${this.opts.source ? ` ${this.opts.source}` : ''}`,
      version: '1.0',
      year: new Date().getFullYear(),
      contributor: 'streamlens',
      url: '',
      date_created: new Date().toISOString(),
    };
    await this.main.write(`{"info":${JSON.stringify(info)},"licenses":[],"images":[\n`);
  }

  async write(r: FrameResult): Promise<void> {
    await this.start();
    const image = cocoImage(r);
    await this.main.write(`${this.images++ > 0 ? ',\n' : ''}${JSON.stringify(image)}`);
    let text = '';
    for (const d of r.detections) {
      if (!this.seen.has(d.class)) this.seen.set(d.class, d.label);
      text += `${this.annotationCount > 0 ? ',\n' : ''}${JSON.stringify(cocoAnnotation(d, ++this.annotationCount, image.id))}`;
    }
    await this.annotations.write(text);
  }

  /** Finishes the file (also after an interrupted run: what was written stays a valid COCO file). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const side = this.annotations.path;
    try {
      await this.annotations.close();
      await this.start();
      await this.main.write('\n],"annotations":[\n');
      await this.main.append(side);
      await this.main.write(`\n],"categories":${JSON.stringify(cocoCategories(this.seen, this.opts))}}\n`);
    } finally {
      await rm(side, { force: true });
      await this.main.close();
    }
  }
}
