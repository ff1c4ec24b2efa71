/**
 * The model contract: validated once at load from the declared graph inputs/outputs and the
 * Ultralytics metadata (Triton-style), choosing the output adapter. Every rejection names the
 * tensor, its shape and what was expected.
 */
import { ELEM_FLOAT32, formatDims, type Dim, type ModelFile, type TensorSpec } from '../onnx/modelFile.js';
import { createYolo26SegAdapter, createYolov8SegAdapter } from './segment.js';
import { MODEL_FORMATS, type ModelFormat } from '../../config/schema.js';
import type { OutputAdapter } from './types.js';
import { createYolov10Adapter } from './yolov10.js';
import { createYolov8Adapter } from './yolov8.js';

export interface ModelContract {
  format: ModelFormat;
  inputName: string;
  outputNames: string[];
  /** Fixed batch size, or 'dynamic' when the batch axis is symbolic. */
  batch: number | 'dynamic';
  /** Model input [height, width]. */
  imgsz: [number, number];
  /** Whether height/width are symbolic (the input size then comes from metadata `imgsz`). */
  dynamicSize: boolean;
  task: 'detect' | 'segment';
  /** Number of classes: implied by the output shape, else the metadata names (0 when neither tells). */
  nc: number;
  names: Record<number, string>;
  stride?: number;
}

const EXPECTED: Record<ModelFormat, string> = {
  yolov10: '[B,N,6] (yolov10)',
  yolov8: '[B,4+nc,N] (yolov8)',
  'yolov8-seg': '[B,4+nc+nm,N] with protos [B,nm,mh,mw] (yolov8-seg)',
  'yolo26-seg': '[B,N,6+nm] with protos [B,nm,mh,mw] (yolo26-seg)',
};

const num = (d: Dim | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

function mismatch(t: TensorSpec, expected: string): Error {
  return new Error(`model output '${t.name}' has shape ${formatDims(t.dims)}; expected ${expected}`);
}

export function resolveContract(model: ModelFile, format?: ModelFormat): ModelContract {
  if (format !== undefined && !MODEL_FORMATS.includes(format)) {
    throw new Error(`format '${format}' is not one of ${MODEL_FORMATS.join(', ')}`);
  }
  const meta = model.ultralytics;
  if (meta.task && !['detect', 'segment'].includes(meta.task)) {
    throw new Error(`model task '${meta.task}' is not supported (detect and segment are)`);
  }
  if (model.inputs.length !== 1) {
    throw new Error(`model has ${model.inputs.length} inputs (${model.inputs.map((i) => `'${i.name}'`).join(', ')}); expected one image input [B,3,H,W] float32`);
  }
  const input = model.inputs[0];
  const d = input.dims;
  if (!d || d.length !== 4 || d[1] !== 3 || input.elemType !== ELEM_FLOAT32) {
    const type = input.elemType === ELEM_FLOAT32 ? 'float32' : `element type ${input.elemType}`;
    throw new Error(`model input '${input.name}' has shape ${formatDims(d)} ${type}; expected [B,3,H,W] float32`);
  }
  let imgsz: [number, number];
  const h = num(d[2]);
  const w = num(d[3]);
  if (h && w) imgsz = [h, w];
  else if (meta.imgsz) imgsz = meta.imgsz;
  else throw new Error(`model input '${input.name}' has dynamic size ${formatDims(d)} and no 'imgsz' metadata`);
  const batch = num(d[0]) ?? 'dynamic';

  if (model.outputs.length === 0) throw new Error('model has no outputs');
  const chosen = format ?? detectFormat(model);
  const nc = checkOutputs(model, chosen);
  const names: Record<number, string> = { ...(meta.names ?? {}) };
  return {
    format: chosen,
    inputName: input.name,
    outputNames: model.outputs.map((o) => o.name),
    batch,
    imgsz,
    dynamicSize: !(h && w),
    task: chosen.endsWith('-seg') ? 'segment' : 'detect',
    nc,
    names,
    stride: meta.stride,
  };
}

function detectFormat(model: ModelFile): ModelFormat {
  const [out0, out1] = model.outputs;
  const d0 = out0.dims;
  if (out1 && out1.dims?.length === 4) {
    const nm = num(out1.dims[1]);
    if (d0?.length === 3 && nm !== undefined) {
      if (num(d0[2]) === 6 + nm) return 'yolo26-seg';
      if ((num(d0[1]) ?? 0) > 4 + nm) return 'yolov8-seg';
    }
    throw mismatch(out0, `${EXPECTED['yolo26-seg']} or ${EXPECTED['yolov8-seg']}`);
  }
  if (d0?.length === 3) {
    const nc = Object.keys(model.ultralytics.names ?? {}).length;
    const channels = num(d0[1]);
    // A v8 head with exactly 2 classes could end in 6 anchors only in toy models; metadata decides.
    if (num(d0[2]) === 6 && !(model.ultralytics.end2end === false && channels === 4 + nc)) return 'yolov10';
    if (channels !== undefined && channels > 4) return 'yolov8';
  }
  throw mismatch(out0, `${EXPECTED.yolov10} or ${EXPECTED.yolov8}`);
}

/** Validates the outputs against `format`; returns the class count (shape, else metadata, else 0). */
function checkOutputs(model: ModelFile, format: ModelFormat): number {
  const [out0, out1] = model.outputs;
  const d0 = out0.dims;
  const expected = EXPECTED[format];
  if (out0.elemType !== ELEM_FLOAT32) throw new Error(`model output '${out0.name}' is element type ${out0.elemType}; expected float32`);
  if (!d0 || d0.length !== 3) throw mismatch(out0, expected);
  const names = model.ultralytics.names;
  const ncMeta = names ? Object.keys(names).length : undefined;
  const checkNc = (nc: number): number => {
    if (nc < 1) throw mismatch(out0, expected);
    if (ncMeta !== undefined && ncMeta !== nc) {
      throw new Error(`model output '${out0.name}' has shape ${formatDims(d0)}, which implies ${nc} classes, but metadata 'names' lists ${ncMeta}`);
    }
    return nc;
  };
  let nm = 0;
  if (format.endsWith('-seg')) {
    if (!out1) throw new Error(`model has no prototype-mask output; expected ${expected}`);
    if (!out1.dims || out1.dims.length !== 4 || num(out1.dims[1]) === undefined) throw mismatch(out1, '[B,nm,mh,mw] prototype masks');
    nm = out1.dims[1] as number;
  }
  switch (format) {
    case 'yolov10':
      if (num(d0[2]) !== 6) throw mismatch(out0, expected);
      return ncMeta ?? 0;
    case 'yolo26-seg':
      if (num(d0[2]) !== 6 + nm) throw mismatch(out0, expected);
      return ncMeta ?? 0;
    case 'yolov8':
    case 'yolov8-seg': {
      const channels = num(d0[1]);
      if (channels === undefined) throw mismatch(out0, expected);
      return checkNc(channels - 4 - nm);
    }
  }
}

export function createAdapter(format: ModelFormat, names: Readonly<Record<number, string>>): OutputAdapter {
  switch (format) {
    case 'yolov10':
      return createYolov10Adapter(names);
    case 'yolov8':
      return createYolov8Adapter(names);
    case 'yolov8-seg':
      return createYolov8SegAdapter(names);
    case 'yolo26-seg':
      return createYolo26SegAdapter(names);
  }
}
