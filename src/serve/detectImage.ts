/**
 * POST /api/detect: one JPEG or PNG image through a model's backend (the same one the streams of
 * that model use, so posted images batch with camera frames and with each other).
 *
 * The image is decoded with sharp to raw RGB (EXIF orientation applied), then letterboxed with the
 * geometry of `computeLetterbox` (Ultralytics rounding, the numbers ffmpeg's scale+pad filters
 * get in the stream path): resized to exactly `resizedWidth x resizedHeight`, padded with grey 114.
 */
import type { IncomingMessage } from 'node:http';
import { resolve, basename } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { DEFAULT_STREAM } from '../config/schema.js';
import { computeLetterbox } from '../ingest/letterbox.js';
import type { ModelBackend } from '../infer/backend.js';
import type { FrameTiming, Letterbox } from '../types.js';
import { nowMs } from '../clock.js';
import { HttpError } from './body.js';
import { wireLatency, wireObject, type WireLatency, type WireObject } from './protocol.js';

/** Largest decoded image, pixels (about 8K x 5K): bigger PNG/JPEG "bombs" are refused with 413. */
export const MAX_IMAGE_PIXELS = 40_000_000;

const PAD = 114;

export type ImageFormat = 'jpeg' | 'png';

/** The format from the first bytes (not from the Content-Type, which clients get wrong). */
export function sniffImage(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  return undefined;
}

const ACCEPTED_TYPES = /^(image\/(jpeg|jpg|png|pjpeg)|application\/octet-stream)\b/i;

/** Reads the raw request body up to `maxBytes` (413 beyond, checked on Content-Length first). */
export async function readImageBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const type = req.headers['content-type'];
  if (type !== undefined && !ACCEPTED_TYPES.test(type)) {
    throw new HttpError(415, `expected a JPEG or PNG image (Content-Type image/jpeg or image/png), got Content-Type ${type}`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new HttpError(413, `image larger than ${maxBytes} bytes (server.maxUploadBytes)`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new HttpError(413, `image larger than ${maxBytes} bytes (server.maxUploadBytes)`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client went away or the request timeout cut it off mid-body (as readJsonBody).
    throw new HttpError(408, 'request body incomplete (aborted or timed out)');
  }
  const body = Buffer.concat(chunks);
  if (body.length === 0) throw new HttpError(400, 'empty body: POST a JPEG or PNG image');
  return body;
}

export interface LetterboxedImage {
  rgb: Uint8Array;
  letterbox: Letterbox;
}

/** Decodes a JPEG/PNG and letterboxes it to dstWidth x dstHeight RGB (HWC, pad 114). */
export async function letterboxImage(bytes: Uint8Array, dstWidth: number, dstHeight: number): Promise<LetterboxedImage> {
  const format = sniffImage(bytes);
  if (!format) throw new HttpError(415, 'not a JPEG or PNG image (unrecognised file signature)');
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(message)) throw new HttpError(413, `image has more than ${MAX_IMAGE_PIXELS} pixels`);
    throw new HttpError(415, `cannot decode the ${format.toUpperCase()} image: ${message.split('\n')[0]}`);
  }
  const { width, height, channels } = decoded.info;
  if (channels !== 3) throw new HttpError(415, `unsupported image: ${channels} channels after conversion to RGB`);
  const lb = computeLetterbox(width, height, dstWidth, dstHeight);
  const right = dstWidth - lb.resizedWidth - lb.padX;
  const bottom = dstHeight - lb.resizedHeight - lb.padY;
  let img = sharp(decoded.data, { raw: { width, height, channels: 3 } });
  if (lb.resizedWidth !== width || lb.resizedHeight !== height) {
    img = img.resize(lb.resizedWidth, lb.resizedHeight, { fit: 'fill', kernel: 'linear' });
  }
  if (lb.padX || lb.padY || right || bottom) {
    img = img.extend({ top: lb.padY, bottom, left: lb.padX, right, background: { r: PAD, g: PAD, b: PAD } });
  }
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== dstWidth || info.height !== dstHeight || info.channels !== 3) {
    throw new Error(`letterbox produced ${info.width}x${info.height}x${info.channels}, expected ${dstWidth}x${dstHeight}x3`);
  }
  // A Uint8Array with its own ArrayBuffer: the Detector transfers it to the worker without a copy.
  const rgb = new Uint8Array(data.length);
  rgb.set(data);
  return { rgb, letterbox: lb };
}

/**
 * The model a request names: `?model=` as an absolute path, a path relative to the config's folder,
 * or a file name, matched against the configured models and the models of running streams. Without
 * `?model=`, the only such model.
 */
export function pickModel(requested: string | null, known: string[], baseDir: string): string {
  const list = [...new Set(known)].sort();
  const names = list.map((p) => basename(p)).join(', ') || 'none';
  if (requested === null || requested === '') {
    if (list.length === 1) return list[0];
    throw new HttpError(400, list.length ? `model: required, ${list.length} models are configured (${names})` : 'model: no model is configured or used by a stream');
  }
  const abs = resolve(baseDir, requested);
  if (list.includes(abs)) return abs;
  const byName = list.filter((p) => basename(p) === requested);
  if (byName.length === 1) return byName[0];
  throw new HttpError(404, `model: no model "${requested}" (known: ${names})`, { models: list.map((p) => basename(p)) });
}

export function parseConf(v: string | null): number {
  if (v === null || v === '') return DEFAULT_STREAM.conf;
  const conf = Number(v);
  if (!Number.isFinite(conf) || conf < 0 || conf > 1) throw new HttpError(400, `conf: expected a number in [0, 1], got "${v}"`);
  return conf;
}

/** `?classes=0,2`: class ids to keep (absent or empty: all). */
export function parseClasses(v: string | null): number[] | undefined {
  if (v === null || v.trim() === '') return undefined;
  return v.split(',').map((part) => {
    const id = Number(part.trim());
    if (part.trim() === '' || !Number.isInteger(id) || id < 0) throw new HttpError(400, `classes: expected comma-separated class ids, got "${v}"`);
    return id;
  });
}

export interface DetectResponse {
  model: string;
  width: number;
  height: number;
  objects: WireObject[];
  /**
   * The latency terms (src/latency.ts) with the request's start as the capture time (so `wait_ms`
   * includes the upload and decode), plus `decode_ms` (request start -> image letterboxed).
   */
  latency: WireLatency & { decode_ms: number; batch: number };
}

let nextRequest = 0;

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Decodes, letterboxes and runs one image through `model`. */
export async function detectImage(
  model: ModelBackend,
  bytes: Uint8Array,
  filter: { conf: number; classes?: readonly number[] },
  startTs = nowMs(),
): Promise<DetectResponse> {
  const { inputWidth, inputHeight } = model.info;
  const image = await letterboxImage(bytes, inputWidth, inputHeight);
  const decodedTs = nowMs();
  // Each request is its own batcher "stream": concurrent requests are taken round-robin, together
  // with the frames of the streams that share the model.
  const out = await model.submit({ streamId: `@http#${nextRequest++}`, rgb: image.rgb, letterbox: image.letterbox, conf: filter.conf, classes: filter.classes, oneShot: true }).catch((err: unknown) => {
    throw new HttpError(503, `inference failed: ${err instanceof Error ? err.message : String(err)}`);
  });
  const timing: FrameTiming = { captureTs: startTs, ...out.timing, stages: {}, sendTs: nowMs() };
  return {
    model: basename(model.path),
    width: image.letterbox.srcWidth,
    height: image.letterbox.srcHeight,
    objects: out.detections.map(wireObject),
    latency: { decode_ms: r1(decodedTs - startTs), ...wireLatency(timing), batch: out.timing.batchSize },
  };
}
