/**
 * Reads what onnxruntime-node does not expose from an .onnx file: metadata_props and the declared
 * graph inputs/outputs with symbolic dims. Only the few ModelProto fields we need are decoded;
 * initializer payloads are skipped as sub-views, never copied.
 */
import { readFileSync } from 'node:fs';
import { decodeString, readFields, WIRE_LEN, WIRE_VARINT } from './protoWire.js';
import { parsePyLiteral, type PyDict, type PyValue } from './pyLiteral.js';

/** A fixed size, or the dim_param name ('' when the dim is unknown). */
export type Dim = number | string;

export interface TensorSpec {
  name: string;
  /** TensorProto.DataType (1 = float32, 10 = float16); 0 when not a tensor or unknown. */
  elemType: number;
  /** null when the rank is unknown. */
  dims: Dim[] | null;
}

export interface UltralyticsMeta {
  names?: Record<number, string>;
  /** [height, width] */
  imgsz?: [number, number];
  stride?: number;
  task?: string;
  batch?: number;
  end2end?: boolean;
  args?: PyDict;
}

export interface ModelFile {
  path: string;
  irVersion: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  metadata: Record<string, string>;
  ultralytics: UltralyticsMeta;
}

export const ELEM_FLOAT32 = 1;

// ModelProto / GraphProto / ValueInfoProto / TypeProto field numbers (onnx/onnx.proto)
const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const MODEL_METADATA = 14;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const TENSOR_NAME = 8;

export function readModelFile(path: string): ModelFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`model not found: ${path}`);
    if (code === 'EISDIR') throw new Error(`not an ONNX model: ${path} (is a directory)`);
    throw err;
  }
  return parseModelBytes(bytes, path);
}

export function parseModelBytes(bytes: Uint8Array, path = '<buffer>'): ModelFile {
  let parsed: Omit<ModelFile, 'ultralytics'>;
  try {
    parsed = parseModelProto(bytes, path);
  } catch (err) {
    throw new Error(`not an ONNX model: ${path} (${(err as Error).message})`);
  }
  let ultralytics: UltralyticsMeta;
  try {
    ultralytics = parseUltralyticsMeta(parsed.metadata);
  } catch (err) {
    throw new Error(`model ${path}: bad Ultralytics metadata: ${(err as Error).message}`);
  }
  return { ...parsed, ultralytics };
}

function parseModelProto(bytes: Uint8Array, path: string): Omit<ModelFile, 'ultralytics'> {
  let irVersion = 0;
  let graph: Uint8Array | undefined;
  const metadata: Record<string, string> = {};
  for (const f of readFields(bytes)) {
    if (f.field === MODEL_IR_VERSION && f.wire === WIRE_VARINT) irVersion = f.value;
    else if (f.field === MODEL_GRAPH && f.wire === WIRE_LEN) graph = f.bytes;
    else if (f.field === MODEL_METADATA && f.wire === WIRE_LEN) {
      let key = '';
      let value = '';
      for (const e of readFields(f.bytes)) {
        if (e.wire !== WIRE_LEN) continue;
        if (e.field === 1) key = decodeString(e.bytes);
        else if (e.field === 2) value = decodeString(e.bytes);
      }
      metadata[key] = value;
    }
  }
  if (irVersion <= 0 || irVersion > 100) throw new Error(irVersion ? `implausible ir_version ${irVersion}` : 'no ir_version');
  if (!graph) throw new Error('no graph');

  const initializers = new Set<string>();
  const declaredInputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  for (const f of readFields(graph)) {
    if (f.wire !== WIRE_LEN) continue;
    if (f.field === GRAPH_INPUT) declaredInputs.push(parseValueInfo(f.bytes));
    else if (f.field === GRAPH_OUTPUT) outputs.push(parseValueInfo(f.bytes));
    else if (f.field === GRAPH_INITIALIZER) {
      for (const t of readFields(f.bytes)) {
        if (t.field === TENSOR_NAME && t.wire === WIRE_LEN) initializers.add(decodeString(t.bytes));
      }
    }
  }
  // Before IR 4, initializers were also listed as graph inputs.
  const inputs = declaredInputs.filter((i) => !initializers.has(i.name));
  return { path, irVersion, inputs, outputs, metadata };
}

function parseValueInfo(bytes: Uint8Array): TensorSpec {
  const spec: TensorSpec = { name: '', elemType: 0, dims: null };
  for (const f of readFields(bytes)) {
    if (f.wire !== WIRE_LEN) continue;
    if (f.field === 1) spec.name = decodeString(f.bytes);
    else if (f.field === 2) {
      for (const t of readFields(f.bytes)) {
        if (t.field !== 1 || t.wire !== WIRE_LEN) continue; // TypeProto.tensor_type
        for (const tt of readFields(t.bytes)) {
          if (tt.field === 1 && tt.wire === WIRE_VARINT) spec.elemType = tt.value;
          else if (tt.field === 2 && tt.wire === WIRE_LEN) spec.dims = parseShape(tt.bytes);
        }
      }
    }
  }
  return spec;
}

function parseShape(bytes: Uint8Array): Dim[] {
  const dims: Dim[] = [];
  for (const f of readFields(bytes)) {
    if (f.field !== 1 || f.wire !== WIRE_LEN) continue;
    let dim: Dim = '';
    for (const d of readFields(f.bytes)) {
      if (d.field === 1 && d.wire === WIRE_VARINT) dim = d.value;
      else if (d.field === 2 && d.wire === WIRE_LEN) dim = decodeString(d.bytes);
    }
    dims.push(dim);
  }
  return dims;
}

/** Interprets the metadata keys Ultralytics' exporter writes (each value is `str(python_value)`). */
export function parseUltralyticsMeta(meta: Record<string, string>): UltralyticsMeta {
  const out: UltralyticsMeta = {};
  const lit = (key: string): PyValue | undefined => {
    const raw = meta[key];
    if (raw === undefined || raw === '') return undefined;
    try {
      return parsePyLiteral(raw);
    } catch (err) {
      throw new Error(`'${key}': ${(err as Error).message}`);
    }
  };
  const names = lit('names');
  if (names !== undefined) {
    const table: Record<number, string> = {};
    if (Array.isArray(names)) names.forEach((n, i) => (table[i] = String(n)));
    else if (names && typeof names === 'object') {
      for (const [k, v] of Object.entries(names)) {
        const id = Number(k);
        if (!Number.isInteger(id)) throw new Error(`'names': class id ${JSON.stringify(k)} is not an integer`);
        table[id] = String(v);
      }
    } else throw new Error(`'names': expected a dict or list, got ${meta.names}`);
    out.names = table;
  }
  const imgsz = lit('imgsz');
  if (typeof imgsz === 'number') out.imgsz = [imgsz, imgsz];
  else if (Array.isArray(imgsz) && imgsz.length === 2 && imgsz.every((v) => typeof v === 'number')) {
    out.imgsz = [imgsz[0] as number, imgsz[1] as number];
  } else if (imgsz !== undefined) throw new Error(`'imgsz': expected [h, w], got ${meta.imgsz}`);
  const stride = lit('stride');
  if (typeof stride === 'number') out.stride = stride;
  const batch = lit('batch');
  if (typeof batch === 'number') out.batch = batch;
  const end2end = lit('end2end');
  if (typeof end2end === 'boolean') out.end2end = end2end;
  if (meta.task) out.task = meta.task;
  const args = lit('args');
  if (args && typeof args === 'object' && !Array.isArray(args)) out.args = args;
  return out;
}

/** "[1,84,8400]" with symbolic dims by name ("[batch,3,640,640]"). */
export function formatDims(dims: Dim[] | null): string {
  return dims ? `[${dims.map((d) => (d === '' ? '?' : d)).join(',')}]` : '[unknown rank]';
}
