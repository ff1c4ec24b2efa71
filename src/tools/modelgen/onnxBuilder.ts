/**
 * A small typed API for declaring ONNX graphs in code: inputs (with symbolic dims), initializers,
 * nodes with attributes, outputs, opset and metadata_props. `toBytes()` serialises a ModelProto.
 *
 *   const g = new OnnxGraphBuilder('tiny');
 *   const x = g.input('x', 'float32', ['batch', 1, 4, 4]);
 *   const w = g.initializer('w', [1, 1, 3, 3], new Float32Array(9).fill(1));
 *   const y = g.op('Relu', [g.op('Conv', [x, w], { pads: ints([1, 1, 1, 1]) })]);
 *   g.output(y, 'float32', ['batch', 1, 4, 4]);
 *   writeFileSync('tiny.onnx', g.toBytes({ metadata: { task: 'detect' } }));
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  encodeModel,
  type AttributeValue,
  type Dim,
  type ElemType,
  type GraphDef,
  type NodeDef,
  type TensorInit,
  type ValueInfo,
} from './onnxProto.js';

export type { AttributeValue, Dim, ElemType, GraphDef, NodeDef, TensorInit, ValueInfo } from './onnxProto.js';

// Attribute constructors: ONNX distinguishes int and float attributes, JS numbers do not.
export const int = (value: number): AttributeValue => ({ kind: 'int', value });
export const float = (value: number): AttributeValue => ({ kind: 'float', value });
export const ints = (value: number[]): AttributeValue => ({ kind: 'ints', value });
export const floats = (value: number[]): AttributeValue => ({ kind: 'floats', value });
export const str = (value: string): AttributeValue => ({ kind: 'string', value });
export const strs = (value: string[]): AttributeValue => ({ kind: 'strings', value });
export const tensor = (value: TensorInit): AttributeValue => ({ kind: 'tensor', value });

export type Attributes = Record<string, AttributeValue>;

export interface NodeOptions {
  /** Number of outputs (default 1) or their explicit names. */
  outputs?: number | string[];
  /** Node name; a unique one is generated from the op type when omitted. */
  name?: string;
  domain?: string;
}

export interface ModelOptions {
  /** Default opset 17 (IR version 8). */
  opset?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** metadata_props: string keys and values (Ultralytics stores Python literals as strings). */
  metadata?: Record<string, string>;
}

/** IR version that introduced each opset range (onnx/docs/Versioning.md). */
function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

export class OnnxGraphBuilder {
  private readonly nodes: NodeDef[] = [];
  private readonly initializers: TensorInit[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();
  private readonly nodeNames = new Set<string>();
  /** Small constants by name and value, so repeated `scalar('one', 1)` calls share one initializer. */
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A name not used so far in this graph, derived from `base`. */
  uniqueName(base: string): string {
    let n = base;
    while (this.used.has(n)) n = `${base}_${++this.counter}`;
    this.used.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`onnx builder: name '${name}' is already used in graph '${this.name}'`);
    this.used.add(name);
    return name;
  }

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push({ name: this.claim(name), type, shape });
    return name;
  }

  /** Marks an existing value as a graph output. */
  output(name: string, type: ElemType, shape?: Dim[]): string {
    if (!this.used.has(name)) throw new Error(`onnx builder: output '${name}' is not produced in graph '${this.name}'`);
    this.outputs.push({ name, type, shape });
    return name;
  }

  /** A float32 initializer (weights). The name is made unique. */
  initializer(name: string, dims: number[], data: Float32Array | number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const n = this.uniqueName(name);
    this.initializers.push({ name: n, dims, type: 'float32', data: values });
    return n;
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64(name: string, dims: number[], data: BigInt64Array | number[]): string {
    const values = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
    const n = this.uniqueName(name);
    this.initializers.push({ name: n, dims, type: 'int64', data: values });
    return n;
  }

  /** A 1-D int64 constant, the common case for shapes and axes (shared when repeated). */
  int64s(name: string, values: number[]): string {
    return this.shared(`i64:${name}:${values.join(',')}`, () => this.int64(name, [values.length], values));
  }

  /** A float32 scalar constant (rank 0), for broadcasting arithmetic (shared when repeated). */
  scalar(name: string, value: number): string {
    return this.shared(`f32:${name}:${value}`, () => this.initializer(name, [], [value]));
  }

  private shared(key: string, make: () => string): string {
    let name = this.constants.get(key);
    if (!name) {
      name = make();
      this.constants.set(key, name);
    }
    return name;
  }

  /** Adds a node and returns its output names. An empty string input means "optional, absent". */
  node(op: string, inputs: string[], attributes: Attributes = {}, opts: NodeOptions = {}): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.used.has(i)) throw new Error(`onnx builder: ${op} input '${i}' is not defined in graph '${this.name}'`);
    }
    const name = opts.name ? this.claimNodeName(opts.name) : this.uniqueNodeName(op);
    const outs = opts.outputs ?? 1;
    const outputs = typeof outs === 'number'
      ? Array.from({ length: outs }, (_, k) => this.uniqueName(outs === 1 ? `${name}_out` : `${name}_out${k}`))
      : outs.map((o) => this.claim(o));
    this.nodes.push({ op, name, inputs, outputs, attributes, domain: opts.domain });
    return outputs;
  }

  /** Adds a single-output node and returns its output name. */
  op(op: string, inputs: string[], attributes: Attributes = {}, opts: Omit<NodeOptions, 'outputs'> & { output?: string } = {}): string {
    return this.node(op, inputs, attributes, { ...opts, outputs: opts.output ? [opts.output] : 1 })[0];
  }

  private claimNodeName(name: string): string {
    if (this.nodeNames.has(name)) throw new Error(`onnx builder: node name '${name}' is already used`);
    this.nodeNames.add(name);
    return name;
  }
  private uniqueNodeName(op: string): string {
    let n = `${op}_${this.nodes.length}`;
    while (this.nodeNames.has(n)) n = `${op}_${this.nodes.length}_${++this.counter}`;
    this.nodeNames.add(n);
    return n;
  }

  /** The graph as plain data (for inspection, parameter and FLOP counting). */
  graph(): GraphDef {
    return {
      name: this.name,
      nodes: [...this.nodes],
      initializers: [...this.initializers],
      inputs: [...this.inputs],
      outputs: [...this.outputs],
    };
  }

  toBytes(opts: ModelOptions = {}): Uint8Array {
    if (this.inputs.length === 0 || this.outputs.length === 0) {
      throw new Error(`onnx builder: graph '${this.name}' needs at least one input and one output`);
    }
    const opset = opts.opset ?? 17;
    return encodeModel({
      graph: this.graph(),
      opset,
      irVersion: irVersionFor(opset),
      producerName: opts.producerName ?? 'streamlens-modelgen',
      producerVersion: opts.producerVersion ?? '1',
      docString: opts.docString,
      metadata: opts.metadata ?? {},
    });
  }

  /** Writes the model atomically: a temp file in the same directory, then rename. */
  write(path: string, opts: ModelOptions = {}): void {
    writeModelFile(path, this.toBytes(opts));
  }
}

export function writeModelFile(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
