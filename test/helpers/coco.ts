/**
 * An independent check of COCO object-detection files: the fields cocodataset.org's format page
 * lists for `images`, `annotations` and `categories`, the types pycocotools and Datumaro (CVAT's
 * importer) parse them as, and the cross-references between them. Written from the format, not from
 * our writer, so it can disagree with it.
 */

export interface CocoFile {
  info: Record<string, unknown>;
  licenses?: unknown[];
  images: Array<{ id: number; width: number; height: number; file_name: string; [k: string]: unknown }>;
  annotations: Array<{
    id: number;
    image_id: number;
    category_id: number;
    bbox: number[];
    area: number;
    iscrowd: number;
    segmentation: { size: [number, number]; counts: number[] | string } | number[][];
    score?: number;
    attributes?: Record<string, unknown>;
  }>;
  categories: Array<{ id: number; name: string; supercategory?: string }>;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Problems found, one line each; empty when the file is valid. */
export function cocoProblems(doc: unknown): string[] {
  const errs: string[] = [];
  if (typeof doc !== 'object' || doc === null) return ['not an object'];
  const d = doc as Record<string, unknown>;
  for (const k of ['images', 'annotations', 'categories']) if (!Array.isArray(d[k])) errs.push(`${k} is not an array`);
  if (typeof d.info !== 'object' || d.info === null) errs.push('info is not an object');
  if (errs.length) return errs;
  const f = doc as CocoFile;

  const images = new Map<number, CocoFile['images'][number]>();
  const names = new Set<string>();
  for (const im of f.images) {
    if (!isInt(im.id)) errs.push(`image id ${String(im.id)} is not an integer`);
    if (images.has(im.id)) errs.push(`image id ${im.id} repeated`);
    images.set(im.id, im);
    if (!isInt(im.width) || im.width <= 0 || !isInt(im.height) || im.height <= 0) errs.push(`image ${im.id}: bad size ${im.width}x${im.height}`);
    if (typeof im.file_name !== 'string' || im.file_name === '') errs.push(`image ${im.id}: no file_name`);
    if (names.has(im.file_name)) errs.push(`image ${im.id}: file_name ${im.file_name} repeated`);
    names.add(im.file_name);
  }

  const categories = new Set<number>();
  const categoryNames = new Set<string>();
  for (const c of f.categories) {
    if (!isInt(c.id) || c.id < 1) errs.push(`category id ${String(c.id)} is not a positive integer (0 is "no class")`);
    if (categories.has(c.id)) errs.push(`category id ${c.id} repeated`);
    categories.add(c.id);
    if (typeof c.name !== 'string' || c.name === '') errs.push(`category ${c.id}: no name`);
    if (categoryNames.has(c.name)) errs.push(`category name ${c.name} repeated`);
    categoryNames.add(c.name);
    if (c.supercategory !== undefined && typeof c.supercategory !== 'string') errs.push(`category ${c.id}: supercategory is not a string`);
  }

  const annIds = new Set<number>();
  for (const a of f.annotations) {
    const where = `annotation ${a.id}`;
    if (!isInt(a.id)) errs.push(`annotation id ${String(a.id)} is not an integer`);
    if (annIds.has(a.id)) errs.push(`${where}: id repeated`);
    annIds.add(a.id);
    const im = images.get(a.image_id);
    if (!im) errs.push(`${where}: image_id ${a.image_id} has no image`);
    if (!categories.has(a.category_id)) errs.push(`${where}: category_id ${a.category_id} has no category`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every(isNum)) errs.push(`${where}: bbox is not 4 numbers`);
    else if (a.bbox[2] < 0 || a.bbox[3] < 0) errs.push(`${where}: negative bbox size`);
    if (!isNum(a.area) || a.area < 0) errs.push(`${where}: bad area`);
    if (a.iscrowd !== 0 && a.iscrowd !== 1) errs.push(`${where}: iscrowd is not 0 or 1`);
    if (a.score !== undefined && (!isNum(a.score) || a.score < 0 || a.score > 1)) errs.push(`${where}: score out of [0, 1]`);
    const s = a.segmentation;
    if (Array.isArray(s)) {
      for (const poly of s) if (!Array.isArray(poly) || poly.length < 6 || poly.length % 2 !== 0 || !poly.every(isNum)) errs.push(`${where}: bad polygon`);
    } else if (typeof s === 'object' && s !== null) {
      if (!Array.isArray(s.size) || s.size.length !== 2) errs.push(`${where}: RLE size is not [h, w]`);
      else if (im && (s.size[0] !== im.height || s.size[1] !== im.width)) errs.push(`${where}: RLE size ${s.size} is not the image's [${im.height}, ${im.width}]`);
      if (Array.isArray(s.counts)) {
        if (!s.counts.every((n) => isInt(n) && n >= 0)) errs.push(`${where}: RLE counts are not non-negative integers`);
        const total = s.counts.reduce((x, y) => x + y, 0);
        if (Array.isArray(s.size) && total !== s.size[0] * s.size[1]) errs.push(`${where}: RLE counts cover ${total} pixels, not ${s.size[0] * s.size[1]}`);
        const pixels = s.counts.reduce((x, y, i) => (i % 2 ? x + y : x), 0);
        if (isNum(a.area) && pixels !== a.area) errs.push(`${where}: area ${a.area} is not the mask's ${pixels} pixels`);
      } else if (typeof s.counts !== 'string') errs.push(`${where}: RLE counts are neither a list nor a string`);
    } else errs.push(`${where}: segmentation is neither polygons nor RLE`);
  }
  return errs;
}

/** pycocotools' uncompressed RLE decoded to a row-major 0/1 mask: runs alternate from 0, column by column. */
export function maskFromCocoRle(size: [number, number], counts: number[]): Uint8Array {
  const [h, w] = size;
  const columnMajor = new Uint8Array(h * w);
  let p = 0;
  counts.forEach((n, i) => {
    if (i % 2 === 1) columnMajor.fill(1, p, p + n);
    p += n;
  });
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[y * w + x] = columnMajor[x * h + y];
  return out;
}
