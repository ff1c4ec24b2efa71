/**
 * The models the project builds itself, cached under <repo>/models/. Building a graph takes
 * milliseconds, so the cache check builds it and compares bytes with the file: a file from an older
 * builder (or a damaged one) is replaced, an identical one is left untouched.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeString, readFields } from '../../infer/onnx/protoWire.js';
import { writeModelFile, type ModelOptions, type OnnxGraphBuilder } from './onnxBuilder.js';
import { buildSynthetic, checkImgsz, type SyntheticKind } from './syntheticModels.js';
import { buildYolov10nBench } from './yolov10n.js';
import { repoRoot } from '../repoRoot.js';

export const BUILTIN_MODELS = ['synthetic-det', 'synthetic-seg', 'synthetic-det-v8', 'synthetic-seg-v8', 'yolov10n-bench'] as const;
export type BuiltinModel = (typeof BUILTIN_MODELS)[number];

export function isBuiltinModel(name: string): name is BuiltinModel {
  return (BUILTIN_MODELS as readonly string[]).includes(name);
}

/** Builder generation, written to the `modelgen` metadata key (informational). */
export const MODELGEN_VERSION = '3';

export interface EnsureOptions {
  /** Square input size, multiple of 32. Default 640. */
  imgsz?: number;
  /** Default 'dynamic' (symbolic batch axis). */
  batch?: 'dynamic' | number;
  /** Directory for the cache; default <repo>/models. */
  dir?: string;
}

export const MODEL_DESCRIPTIONS: Record<BuiltinModel, string> = {
  'synthetic-det': 'synthetic-scene detector, YOLOv10 end-to-end output0 [B,300,6]',
  'synthetic-seg': 'synthetic-scene segmenter, output0 [B,300,38] + protos output1 [B,32,S/4,S/4]',
  'synthetic-det-v8': 'synthetic-scene detector, YOLOv8/YOLO11 layout output0 [B,8,6400] (one column per cell; needs NMS)',
  'synthetic-seg-v8': 'synthetic-scene segmenter, YOLOv8-seg layout output0 [B,40,6400] + protos output1 [B,32,S/4,S/4] (needs NMS)',
  'yolov10n-bench': 'YOLOv10n architecture with seeded random weights (benchmarking only), output0 [B,300,6]',
};

export { repoRoot };

export function modelsDir(): string {
  return join(repoRoot(), 'models');
}

export function modelFileName(name: BuiltinModel, imgsz: number, batch: 'dynamic' | number): string {
  return `${name}-${imgsz}${batch === 'dynamic' ? '' : `-b${batch}`}.onnx`;
}

/** Builds the graph of a built-in model without writing it. */
export function buildModel(name: BuiltinModel, imgsz: number, batch: 'dynamic' | number): { builder: OnnxGraphBuilder; options: ModelOptions } {
  checkImgsz(imgsz);
  if (typeof batch === 'number' && (!Number.isInteger(batch) || batch < 1)) throw new Error(`modelgen: batch must be 'dynamic' or a positive integer, got ${batch}`);
  const built = name === 'yolov10n-bench' ? buildYolov10nBench({ imgsz, batch }) : buildSynthetic(name as SyntheticKind, { imgsz, batch });
  built.options.metadata = { ...built.options.metadata, modelgen: MODELGEN_VERSION };
  return built;
}

/** metadata_props of an ONNX file (top-level ModelProto field 14). */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const f of readFields(bytes)) {
    if (f.field !== 14) continue;
    let key = '';
    let value = '';
    for (const e of readFields(f.bytes)) {
      if (e.field === 1) key = decodeString(e.bytes);
      else if (e.field === 2) value = decodeString(e.bytes);
    }
    meta[key] = value;
  }
  return meta;
}

function sameBytes(path: string, bytes: Uint8Array): boolean {
  if (!existsSync(path) || statSync(path).size !== bytes.length) return false;
  return Buffer.compare(readFileSync(path), bytes) === 0;
}

/** Path of the built model, building it first when it is not cached. */
export async function ensureModel(name: BuiltinModel, opts: EnsureOptions = {}): Promise<string> {
  if (!(BUILTIN_MODELS as readonly string[]).includes(name)) {
    throw new Error(`modelgen: unknown model '${name}' (built-in: ${BUILTIN_MODELS.join(', ')})`);
  }
  const imgsz = opts.imgsz ?? 640;
  const batch = opts.batch ?? 'dynamic';
  const path = join(opts.dir ?? modelsDir(), modelFileName(name, imgsz, batch));
  const { builder, options } = buildModel(name, imgsz, batch);
  const bytes = builder.toBytes(options);
  if (!sameBytes(path, bytes)) writeModelFile(path, bytes);
  return path;
}
