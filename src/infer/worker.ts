/**
 * Inference worker: owns one ONNX Runtime session (session.run blocks its thread, not the server's),
 * fills a reused NCHW tensor from transferred RGB frames, runs, and decodes with the model's adapter.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { createAdapter, resolveContract, type ModelContract } from './adapters/select.js';
import type { OutputAdapter, OutputTensor } from './adapters/types.js';
import { readModelFile } from './onnx/modelFile.js';
import { fillChw } from './preprocess.js';
import type { DetectRequest, FrameDetections, FromWorker, ModelInfo, ToWorker, WorkerConfig, WorkerFrame } from './protocol.js';
import { openSession } from './session.js';

const port = parentPort;
if (!port) throw new Error('infer/worker.js must run in a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);

interface Loaded {
  session: ort.InferenceSession;
  contract: ModelContract;
  adapter: OutputAdapter;
  info: ModelInfo;
}

let tensorData = new Float32Array(0);

async function load(cfg: WorkerConfig): Promise<Loaded> {
  const file = readModelFile(cfg.path);
  const contract = resolveContract(file, cfg.format);
  const opened = await openSession(cfg.path, cfg);
  const [h, w] = contract.imgsz;
  const info: ModelInfo = {
    path: cfg.path,
    inputName: contract.inputName,
    outputNames: contract.outputNames,
    inputs: file.inputs,
    outputs: file.outputs,
    format: contract.format,
    task: contract.task,
    imgsz: contract.imgsz,
    inputWidth: w,
    inputHeight: h,
    batch: contract.batch,
    maxBatch: contract.batch === 'dynamic' ? cfg.maxBatch : contract.batch,
    names: contract.names,
    nc: contract.nc,
    stride: contract.stride,
    metadata: file.metadata,
  };
  post({ type: 'ready', info, activeProvider: opened.activeProvider, warnings: opened.warnings });
  return { session: opened.session, contract, adapter: createAdapter(contract.format, contract.names), info };
}

async function runGroup(m: Loaded, frames: WorkerFrame[], msg: DetectRequest): Promise<FrameDetections[]> {
  const { contract, info } = m;
  const lb0 = frames[0].letterbox;
  const [w, h] = contract.dynamicSize ? [lb0.dstWidth, lb0.dstHeight] : [info.inputWidth, info.inputHeight];
  const pixels = w * h;
  for (const [i, f] of frames.entries()) {
    if (f.rgb.length !== pixels * 3 || f.letterbox.dstWidth !== w || f.letterbox.dstHeight !== h) {
      throw new Error(
        `frame ${i}: ${f.rgb.length} RGB bytes for a ${f.letterbox.dstWidth}x${f.letterbox.dstHeight} letterbox; model input '${info.inputName}' needs ${w}x${h}x3 = ${pixels * 3}`,
      );
    }
  }
  const runSize = contract.batch === 'dynamic' ? Math.max(frames.length, msg.padTo ?? 0) : contract.batch;
  const size = runSize * 3 * pixels;
  if (tensorData.length < size) tensorData = new Float32Array(size);
  const pre: number[] = [];
  for (const [i, f] of frames.entries()) {
    const t0 = performance.now();
    fillChw(f.rgb, tensorData, i * 3 * pixels, pixels);
    pre.push(performance.now() - t0);
  }
  // Padding slots are blank (their results are discarded).
  tensorData.fill(0, frames.length * 3 * pixels, size);
  const input = new ort.Tensor('float32', tensorData.subarray(0, size), [runSize, 3, h, w]);
  const t0 = performance.now();
  const out = await m.session.run({ [contract.inputName]: input });
  const inferenceMs = performance.now() - t0;
  const outputs: OutputTensor[] = contract.outputNames.map((name) => {
    const t = out[name];
    if (!t || t.type !== 'float32') throw new Error(`model output '${name}' is missing or not float32`);
    return { data: t.data as Float32Array, dims: t.dims };
  });
  return frames.map((f, i) => {
    const t1 = performance.now();
    const detections = m.adapter.decode(outputs, i, f.letterbox, {
      ...msg.opts,
      conf: f.conf ?? msg.opts.conf,
      classes: f.classes ?? msg.opts.classes,
    });
    return { detections, preprocessMs: pre[i], inferenceMs, postprocessMs: performance.now() - t1, batchSize: frames.length };
  });
}

async function detect(m: Loaded, msg: DetectRequest): Promise<FrameDetections[]> {
  const results: FrameDetections[] = [];
  const step = m.info.maxBatch;
  for (let i = 0; i < msg.frames.length; i += step) {
    results.push(...(await runGroup(m, msg.frames.slice(i, i + step), msg)));
  }
  return results;
}

let loadError = '';
const ready = load(workerData as WorkerConfig).catch((err: Error) => {
  loadError = err.message;
  post({ type: 'failed', message: err.message });
  return undefined;
});

// Runs are serialised: one session run at a time per worker.
let queue: Promise<void> = Promise.resolve();
let closing = false;
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'close') {
    // Terminating the thread while session.run is in flight makes onnxruntime's completion
    // callback throw into a dead environment (Napi::Error -> std::terminate: the whole process
    // aborts). So the run in progress finishes, queued runs are refused, the session is released,
    // and only then may the main thread terminate us.
    closing = true;
    queue = queue.then(async () => {
      const m = await ready;
      if (m) await m.session.release().catch(() => undefined);
      post({ type: 'closed' });
      port.close();
    });
    return;
  }
  queue = queue.then(async () => {
    if (closing) return post({ type: 'error', id: msg.id, message: 'detector is closed' });
    const m = await ready;
    if (!m) return post({ type: 'error', id: msg.id, message: `model failed to load: ${loadError}` });
    try {
      post({ type: 'result', id: msg.id, results: await detect(m, msg) });
    } catch (err) {
      post({ type: 'error', id: msg.id, message: (err as Error).message });
    }
  });
});
