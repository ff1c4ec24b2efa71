/** A `--model` argument is a path to an .onnx file or the name of a model the project builds. */
import { existsSync } from 'node:fs';
import { ensureModel, isBuiltinModel, BUILTIN_MODELS } from '../tools/modelgen/index.js';

export async function resolveModelArg(arg: string): Promise<string> {
  if (existsSync(arg)) return arg;
  if (isBuiltinModel(arg)) return ensureModel(arg);
  throw new Error(`model not found: ${arg} (give an .onnx file or one of the built-in models: ${BUILTIN_MODELS.join(', ')})`);
}
