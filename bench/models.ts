/**
 * The models a run measures: `--model PATH|name` (repeatable) with `--imgsz`, or the benchmark
 * model at 640 and 320 by default. A built-in name is built at each requested input size; a file
 * has the input size it was exported with, checked here against --imgsz (the pipeline letterboxes
 * to the model's own size, so the flag cannot resize a file).
 */
import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import { resolveContract } from '../src/infer/adapters/select.js';
import { readModelFile } from '../src/infer/onnx/modelFile.js';
import { BUILTIN_MODELS, ensureModel, isBuiltinModel } from '../src/tools/modelgen/index.js';
import { BENCH_MODEL } from './inputs.js';

export interface ModelUnderTest {
  /** Unique short name in the results: the file name (a number is added when two files share it). */
  label: string;
  path: string;
  /** Input size: the side of a square input, else the longer side. */
  imgsz: number;
  input: [number, number];
  /** Fixed batch size, or 'dynamic'. */
  batch: number | 'dynamic';
  format: string;
}

export const DEFAULT_SIZES = [640, 320];

/** Models from the command line, in the given order (the first is the baseline of model ratios). */
export async function resolveModels(args: readonly string[], sizes?: readonly number[]): Promise<ModelUnderTest[]> {
  const wanted = args.length ? args : [BENCH_MODEL];
  const paths: string[] = [];
  for (const arg of wanted) {
    if (existsSync(arg)) {
      paths.push(arg);
    } else if (isBuiltinModel(arg)) {
      for (const imgsz of sizes ?? (args.length ? [640] : DEFAULT_SIZES)) paths.push(await ensureModel(arg, { imgsz, batch: 'dynamic' }));
    } else {
      throw new Error(`model not found: ${arg} (give an .onnx file or one of the built-in models: ${BUILTIN_MODELS.join(', ')})`);
    }
  }
  const models = paths.map((path) => describeModel(path));
  for (const m of models) {
    const fromFile = wanted.find((a) => a === m.path);
    if (fromFile && sizes && !sizes.includes(m.imgsz)) {
      throw new Error(`--imgsz ${sizes.join(',')}: model ${m.path} has input ${m.input[0]}x${m.input[1]} (a file keeps the size it was exported with; export it at the size you want, or drop --imgsz)`);
    }
  }
  const seen = new Map<string, number>();
  for (const m of models) {
    const n = (seen.get(m.label) ?? 0) + 1;
    seen.set(m.label, n);
    if (n > 1) m.label = `${m.label} (${n})`;
  }
  return models;
}

function describeModel(path: string): ModelUnderTest {
  let contract;
  try {
    contract = resolveContract(readModelFile(path));
  } catch (err) {
    throw new Error(`model ${path}: ${(err as Error).message}`);
  }
  const [h, w] = contract.imgsz;
  return { label: basename(path), path, imgsz: Math.max(h, w), input: [h, w], batch: contract.batch, format: contract.format };
}

/** Batch sizes the model can run: all with a dynamic batch axis, else only its fixed one. */
export function runnableBatches(m: ModelUnderTest, batches: readonly number[]): { run: number[]; skipped: number[] } {
  if (m.batch === 'dynamic') return { run: [...batches], skipped: [] };
  return { run: batches.filter((b) => b === m.batch), skipped: batches.filter((b) => b !== m.batch) };
}
