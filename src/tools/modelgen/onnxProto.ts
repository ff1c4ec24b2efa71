/**
 * Encoding of the ONNX protobuf messages the model builder emits (field numbers from onnx/onnx.proto).
 * Plain data in, bytes out: no validation beyond what the encoding itself needs.
 */
import { ProtoWriter } from '../../infer/onnx/protoWire.js';

/** TensorProto.DataType values used by the builder. */
export const DataType = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
} as const;
export type ElemType = keyof typeof DataType;

/** A dimension: a fixed size or a symbolic name such as 'batch'. */
export type Dim = number | string;

export interface TensorInit {
  name: string;
  dims: number[];
  type: ElemType;
  /** Float32Array for float32, BigInt64Array for int64, Int32Array for int32, Uint8Array for uint8/bool. */
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export interface ValueInfo {
  name: string;
  type: ElemType;
  /** Omit for an unknown rank. */
  shape?: Dim[];
}

export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorInit }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] };

export interface NodeDef {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
  domain?: string;
}

export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  initializers: TensorInit[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface ModelDef {
  graph: GraphDef;
  opset: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata: Record<string, string>;
}

/** AttributeProto.AttributeType */
const AttrType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function rawBytes(data: TensorInit['data']): Uint8Array {
  // ONNX raw_data is little-endian; typed arrays use host order.
  if (!littleEndian) throw new Error('onnx: big-endian hosts are not supported by the model builder');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function encodeTensor(t: TensorInit): ProtoWriter {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) {
    throw new Error(`onnx: tensor '${t.name}' has ${t.data.length} values but dims [${t.dims.join(', ')}] need ${expected}`);
  }
  const w = new ProtoWriter();
  if (t.dims.length > 0) w.packedVarints(1, t.dims);
  w.varint(2, DataType[t.type]);
  w.string(8, t.name);
  w.bytes(9, rawBytes(t.data));
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const tensorType = new ProtoWriter().varint(1, DataType[v.type]);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.varint(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const typeProto = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, typeProto);
}

function encodeAttribute(name: string, a: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.varint(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, encodeTensor(a.value));
      break;
    case 'floats':
      for (const f of a.value) w.float(7, f);
      break;
    case 'ints':
      for (const i of a.value) w.varint(8, i);
      break;
    case 'strings':
      for (const s of a.value) w.string(9, s);
      break;
  }
  w.varint(20, AttrType[a.kind]);
  return w;
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attributes)) w.message(5, encodeAttribute(k, v));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeGraph(g: GraphDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const v of g.inputs) w.message(11, encodeValueInfo(v));
  for (const v of g.outputs) w.message(12, encodeValueInfo(v));
  return w;
}

export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, encodeGraph(m.graph));
  w.message(8, new ProtoWriter().string(1, '').varint(2, m.opset));
  for (const [key, value] of Object.entries(m.metadata)) {
    w.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return w.finish();
}
