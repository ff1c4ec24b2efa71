/**
 * Parameter and FLOP counts of a built graph, counted the way Ultralytics reports them:
 * parameters are the weights and biases of Conv/MatMul/Gemm nodes (the tensors a PyTorch module
 * would own), GFLOPs = 2 x multiply-accumulates of convolutions and matrix products (thop counts
 * MACs; Ultralytics doubles them). Shapes come from a small static shape inference over the ops the
 * builders emit; anything it cannot infer is reported rather than guessed.
 */
import type { AttributeValue, GraphDef, NodeDef, TensorInit } from './onnxProto.js';

export interface GraphStats {
  params: number;
  macs: number;
  gflops: number;
}

type Shape = number[];

function attrInts(n: NodeDef, name: string): number[] | undefined {
  const a: AttributeValue | undefined = n.attributes[name];
  return a && a.kind === 'ints' ? a.value : undefined;
}
function attrInt(n: NodeDef, name: string, dflt: number): number {
  const a = n.attributes[name];
  return a && a.kind === 'int' ? a.value : dflt;
}

function intValues(t: TensorInit): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

function broadcast(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** Output shapes of one node, or undefined when the op is not modelled (post-processing). */
function infer(n: NodeDef, ins: (Shape | undefined)[], consts: Map<string, TensorInit>): Shape[] | undefined {
  const [a, b] = ins;
  switch (n.op) {
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      if (!a) return undefined;
      const k = attrInts(n, 'kernel_shape') ?? (b ? b.slice(2) : undefined);
      if (!k) return undefined;
      const s = attrInts(n, 'strides') ?? [1, 1];
      const p = attrInts(n, 'pads') ?? [0, 0, 0, 0];
      const c = n.op === 'Conv' ? b![0] : a[1];
      return [[a[0], c, ...k.map((kk, i) => Math.floor((a[2 + i] + p[i] + p[i + k.length] - kk) / s[i]) + 1)]];
    }
    case 'Relu': case 'Sigmoid': case 'Neg': case 'Sign': case 'Floor': case 'Softmax': case 'Identity': case 'Cast': case 'LeakyRelu':
      return a ? [a] : undefined;
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Min': case 'Max': case 'Equal':
      return a && b ? [broadcast(a, b)] : undefined;
    case 'Concat': {
      if (ins.some((x) => !x)) return undefined;
      const r = a!.length;
      const axis = (attrInt(n, 'axis', 0) + r) % r;
      const out = [...a!];
      out[axis] = ins.reduce((s, x) => s + x![axis], 0);
      return [out];
    }
    case 'Split': {
      const sizes = consts.get(n.inputs[1]);
      if (!a || !sizes) return undefined;
      const axis = (attrInt(n, 'axis', 0) + a.length) % a.length;
      return intValues(sizes).map((v) => a.map((d, i) => (i === axis ? v : d)));
    }
    case 'Reshape': {
      const target = consts.get(n.inputs[1]);
      if (!a || !target) return undefined;
      const dims = intValues(target).map((d, i) => (d === 0 ? a[i] : d));
      const known = dims.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
      return [dims.map((d) => (d === -1 ? size(a) / known : d))];
    }
    case 'Transpose': {
      const perm = attrInts(n, 'perm');
      return a && perm ? [perm.map((p) => a[p])] : undefined;
    }
    case 'MatMul':
      return a && b ? [[...broadcast(a.slice(0, -2), b.slice(0, -2)), a[a.length - 2], b[b.length - 1]]] : undefined;
    case 'Resize': {
      const scales = consts.get(n.inputs[2]);
      return a && scales ? [a.map((d, i) => Math.floor(d * (scales.data[i] as number)))] : undefined;
    }
    default:
      return undefined;
  }
}

/** Counts parameters and MACs of a graph for one input shape (batch 1 by convention). */
export function graphStats(graph: GraphDef, inputShape: Shape): GraphStats {
  const consts = new Map(graph.initializers.map((t) => [t.name, t]));
  const shapes = new Map<string, Shape>();
  for (const t of graph.initializers) shapes.set(t.name, t.dims);
  shapes.set(graph.inputs[0].name, inputShape);
  const paramNames = new Set<string>();
  let macs = 0;
  for (const n of graph.nodes) {
    const ins = n.inputs.map((i) => shapes.get(i));
    const outs = infer(n, ins, consts);
    if (n.op === 'Conv' || n.op === 'MatMul' || n.op === 'Gemm') {
      if (!outs) throw new Error(`graphStats: cannot infer the shape of ${n.op} '${n.name}'`);
      for (const i of n.inputs.slice(1)) if (consts.has(i)) paramNames.add(i);
      if (n.op === 'Conv') {
        const w = ins[1]!;
        macs += size(outs[0]) * w[1] * w[2] * w[3];
      } else {
        const a = ins[0]!;
        macs += size(outs[0]) * a[a.length - 1];
      }
    }
    if (outs) n.outputs.forEach((o, i) => outs[i] && shapes.set(o, outs[i]));
  }
  let params = 0;
  for (const name of paramNames) params += size(consts.get(name)!.dims);
  return { params, macs, gflops: (2 * macs) / 1e9 };
}
