/**
 * POST /api/detect: one JPEG or PNG image through a model's backend (the same one the streams of
 * that model use, so posted images batch with camera frames and with each other).
 *
 * The image's header is read first (size, format, interlacing): an image over the pixel limit, or
 * whose decode would need more memory than the server allows, is refused before any pixel is
 * decoded. Then one sharp pipeline decodes it straight to the model's size (a JPEG shrinks while it
 * is decoded; a plain PNG streams through the resize a few rows at a time), applies the EXIF
 * orientation and letterboxes it with the geometry of `computeLetterbox` (Ultralytics rounding, the
 * numbers ffmpeg's scale+pad filters get in the stream path): resized to exactly `resizedWidth x
 * resizedHeight`, padded with grey 114. Decodes run under the server's ImageGate (imageGate.ts).
 */
import type { IncomingMessage } from 'node:http';
import { resolve, basename } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { DEFAULT_SERVER, DEFAULT_STREAM } from '../config/schema.js';
import { computeLetterbox } from '../ingest/letterbox.js';
import type { ModelBackend } from '../infer/backend.js';
import type { FrameTiming, Letterbox } from '../types.js';
import { nowMs } from '../clock.js';
import { HttpError, mediaType } from './body.js';
import type { ImageGate } from './imageGate.js';
import { wireLatency, wireObject, type WireLatency, type WireObject } from './protocol.js';

const PAD = 114;

export type ImageFormat = 'jpeg' | 'png';

/** The format from the first bytes (not from the Content-Type, which clients get wrong). */
export function sniffImage(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  return undefined;
}

const ACCEPTED_TYPES = new Set(['image/jpeg', 'image/jpg', 'image/pjpeg', 'image/png', 'application/octet-stream']);

/** Reads the raw request body up to `maxBytes` (413 beyond, checked on Content-Length first). */
export async function readImageBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const type = mediaType(req);
  if (type !== undefined && !ACCEPTED_TYPES.has(type)) {
    throw new HttpError(415, `expected a JPEG or PNG image (Content-Type image/jpeg or image/png), got Content-Type ${req.headers['content-type']}`);
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

/** An image as its header describes it: format, size as shown (EXIF orientation applied), and what decoding it takes. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** Memory the decode to `dstWidth x dstHeight` needs at most, bytes (decodeBytes). */
  decodeBytes: number;
}

/** Rows a streamed (non-interlaced) PNG decode and its resize hold at once, at most (measured: ~2000 at 7000 px wide). */
const STREAMED_ROWS = 2048;
/** Bytes per pixel of the decode buffers beyond the image's own samples (libvips' working copies). */
const BUFFER_OVERHEAD = 1.25;

/**
 * The memory a decode of an image with this header to `dstWidth x dstHeight` needs, bytes, as
 * measured with libvips (sharp): a baseline JPEG is decoded at 1/2, 1/4 or 1/8 of its size (shrink
 * on load); a progressive JPEG keeps every DCT coefficient of the image (2 bytes per sample, chroma
 * as subsampled); an interlaced PNG is decoded whole; a plain PNG streams through the resize. Plus
 * the letterboxed output. An upper bound, not an exact figure.
 */
export function decodeBytes(meta: Pick<Metadata, 'format' | 'width' | 'height' | 'channels' | 'depth' | 'isProgressive' | 'chromaSubsampling'>, dstWidth: number, dstHeight: number): number {
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  const channels = meta.channels ?? 4;
  const sampleBytes = meta.depth === 'ushort' ? 2 : 1;
  const output = dstWidth * dstHeight * 3;
  let working: number;
  if (meta.format === 'jpeg') {
    if (meta.isProgressive) {
      const samples = meta.chromaSubsampling === '4:2:0' ? 1.5 : meta.chromaSubsampling === '4:2:2' ? 2 : channels;
      working = w * h * samples * 2;
    } else {
      // libjpeg scales by 1/2, 1/4 or 1/8 while decoding, never below the size the resize needs.
      const ratio = Math.min(w / dstWidth, h / dstHeight);
      const shrink = ratio >= 8 ? 8 : ratio >= 4 ? 4 : ratio >= 2 ? 2 : 1;
      working = Math.ceil(w / shrink) * Math.ceil(h / shrink) * channels;
    }
  } else {
    const rows = meta.isProgressive ? h : Math.min(h, STREAMED_ROWS);
    working = w * rows * channels * sampleBytes;
  }
  return Math.ceil(working * BUFFER_OVERHEAD + output);
}

/** Reads the header: 415 for what is not a JPEG or PNG, 413 over `maxPixels`. */
export async function inspectImage(bytes: Uint8Array, dstWidth: number, dstHeight: number, maxPixels: number): Promise<ImageHeader> {
  const format = sniffImage(bytes);
  if (!format) throw new HttpError(415, 'not a JPEG or PNG image (unrecognised file signature)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw new HttpError(415, `cannot read the ${format.toUpperCase()} image: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
  }
  const { width = 0, height = 0 } = meta;
  if (width <= 0 || height <= 0) throw new HttpError(415, `cannot read the ${format.toUpperCase()} image: no size in its header`);
  if (width * height > maxPixels) throw new HttpError(413, `image has ${width * height} pixels, more than ${maxPixels} (server.maxImagePixels)`);
  // Orientations 5-8 turn the picture by 90 degrees: width and height as shown swap.
  const turned = (meta.orientation ?? 1) >= 5;
  return { format, width: turned ? height : width, height: turned ? width : height, decodeBytes: decodeBytes(meta, dstWidth, dstHeight) };
}

export interface LetterboxedImage {
  rgb: Uint8Array;
  letterbox: Letterbox;
}

/**
 * Decodes a JPEG/PNG straight to dstWidth x dstHeight RGB (HWC), letterboxed (pad 114), in one
 * pipeline: the full-size image is never held (but for what decodeBytes counts).
 */
export async function letterboxImage(bytes: Uint8Array, dstWidth: number, dstHeight: number, maxPixels = DEFAULT_SERVER.maxImagePixels, header?: ImageHeader): Promise<LetterboxedImage> {
  const { format, width, height } = header ?? (await inspectImage(bytes, dstWidth, dstHeight, maxPixels));
  const lb = computeLetterbox(width, height, dstWidth, dstHeight);
  const right = dstWidth - lb.resizedWidth - lb.padX;
  const bottom = dstHeight - lb.resizedHeight - lb.padY;
  let img = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb');
  if (lb.resizedWidth !== width || lb.resizedHeight !== height) {
    img = img.resize(lb.resizedWidth, lb.resizedHeight, { fit: 'fill', kernel: 'linear' });
  }
  if (lb.padX || lb.padY || right || bottom) {
    img = img.extend({ top: lb.padY, bottom, left: lb.padX, right, background: { r: PAD, g: PAD, b: PAD } });
  }
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(message)) throw new HttpError(413, `image has more than ${maxPixels} pixels (server.maxImagePixels)`);
    throw new HttpError(415, `cannot decode the ${format.toUpperCase()} image: ${message.split('\n')[0]}`);
  }
  const { data, info } = decoded;
  if (info.channels !== 3) throw new HttpError(415, `unsupported image: ${info.channels} channels after conversion to RGB`);
  if (info.width !== dstWidth || info.height !== dstHeight) {
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

const mib = (bytes: number): string => (bytes / 1048576).toFixed(0);

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** How images are decoded: under the server's gate, at most this many pixels. */
export interface DecodeLimits {
  gate: ImageGate;
  maxPixels: number;
}

/** Decodes (under the gate's limits), letterboxes and runs one image through `model`. */
export async function detectImage(
  model: ModelBackend,
  bytes: Uint8Array,
  filter: { conf: number; classes?: readonly number[] },
  limits: DecodeLimits,
  startTs = nowMs(),
): Promise<DetectResponse> {
  const { inputWidth, inputHeight } = model.info;
  const header = await inspectImage(bytes, inputWidth, inputHeight, limits.maxPixels);
  if (header.decodeBytes > limits.gate.limits.memoryBytes) {
    throw new HttpError(413, `decoding this ${header.format.toUpperCase()} image (${header.width}x${header.height}) needs about ${mib(header.decodeBytes)} MiB, more than the ${mib(limits.gate.limits.memoryBytes)} MiB allowed (server.detectMemoryMB)`);
  }
  const image = await limits.gate.decode(header.decodeBytes, () => letterboxImage(bytes, inputWidth, inputHeight, limits.maxPixels, header));
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
