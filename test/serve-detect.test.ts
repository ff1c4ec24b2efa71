/**
 * POST /api/detect over real HTTP: PNG and JPEG frames of the synthetic clip against its ground
 * truth, the sharp letterbox against ffmpeg's (the stream path), errors (415, 413, 404, 400, 401),
 * and concurrent requests batched by the model's shared Batcher.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoClip, readGroundTruth, type GtFrame } from '../src/tools/synth/index.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';
import { probeSource } from '../src/ingest/probe.js';
import { FrameDecoder } from '../src/ingest/decoder.js';
import { letterboxImage } from '../src/serve/detectImage.js';
import { Detector } from '../src/infer/detector.js';
import type { RunningServer } from '../src/serve/server.js';
import { matchFrame } from './helpers/detectionMetrics.js';
import { startTestServer, type Json } from './helpers/serveHarness.js';

const FRAME = 40;
const TOKEN = 'detect-token';
let server: RunningServer;
let model: string;
let gt: GtFrame[];
let png: Buffer;
let jpeg: Buffer;
let dir: string;

/** One frame of a video as an image file (ffmpeg's own RGB conversion, as the stream path). */
function extractFrame(video: string, frame: number, out: string): Buffer {
  execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', video, '-vf', `select=eq(n\\,${frame})`, '-frames:v', '1', out]);
  return readFileSync(out);
}

async function post(path: string, body: Buffer | string, type = 'image/png', token = TOKEN): Promise<{ status: number; json: Json; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : new Uint8Array(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {}, ms: performance.now() - t0 };
}

async function batcherInfo(): Promise<Json> {
  const res = await fetch(server.url + '/api/info', { headers: { authorization: `Bearer ${TOKEN}` } });
  const info = (await res.json()) as Json;
  return info.models.find((m: Json) => m.path === model);
}

beforeAll(async () => {
  const [clip, m] = await Promise.all([ensureDemoClip(), ensureModel('synthetic-det')]);
  model = m;
  gt = await readGroundTruth(clip.groundTruth);
  dir = mkdtempSync(join(tmpdir(), 'streamlens-detect-'));
  png = extractFrame(clip.video, FRAME, join(dir, 'frame.png'));
  jpeg = extractFrame(clip.video, FRAME, join(dir, 'frame.jpg'));
  server = await startTestServer(
    {
      server: { authToken: TOKEN, maxUploadBytes: 1024 * 1024 },
      models: { [model]: { providers: ['cpu'], maxBatch: 8, maxWaitMs: 25, intraOpThreads: 1, padBatchSizes: [2, 4, 8] } },
    },
    process.cwd(),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('POST /api/detect', () => {
  it('finds the ground-truth objects of a PNG frame, in source pixels', async () => {
    const { status, json } = await post('/api/detect', png);
    expect(status).toBe(200);
    expect(json).toMatchObject({ model: basename(model), width: 640, height: 480 });
    expect(json.latency).toMatchObject({ batch: 1 });
    for (const k of ['decode_ms', 'wait_ms', 'inference_ms', 'total_ms']) expect(json.latency[k]).toBeGreaterThanOrEqual(0);
    const o = json.objects[0];
    expect(Object.keys(o).sort()).toEqual(['box', 'class', 'label', 'score', 'track_id']);
    expect(o.track_id).toBeNull();
    const m = matchFrame(gt[FRAME], json.objects);
    expect(m.tp).toBeGreaterThanOrEqual(3);
    expect(m.fn).toBe(0);
    expect(m.fp).toBe(0);
  });

  it('gives the same objects for the JPEG of that frame (model by file name, conf)', async () => {
    const a = await post('/api/detect', png);
    const b = await post(`/api/detect?model=${basename(model)}&conf=0.25`, jpeg, 'image/jpeg');
    expect(b.status).toBe(200);
    expect(b.json.objects.length).toBe(a.json.objects.length);
    for (const [i, o] of a.json.objects.entries()) {
      const p = b.json.objects[i];
      expect(p.class).toBe(o.class);
      for (let k = 0; k < 4; k++) expect(Math.abs(p.box[k] - o.box[k])).toBeLessThan(3);
    }
    // A higher threshold only removes objects.
    const strict = await post('/api/detect?conf=0.95', png);
    expect(strict.json.objects.length).toBeLessThanOrEqual(a.json.objects.length);
    expect(strict.json.objects.every((x: Json) => x.score >= 0.95)).toBe(true);
    // A class filter keeps exactly the objects of those classes.
    const cls = a.json.objects[0].class as number;
    const only = await post(`/api/detect?classes=${cls}`, png);
    expect(only.status).toBe(200);
    expect(only.json.objects.length).toBe(a.json.objects.filter((x: Json) => x.class === cls).length);
    expect(only.json.objects.every((x: Json) => x.class === cls)).toBe(true);
    expect(only.json.objects.length).toBeLessThan(a.json.objects.length);
  });

  it('letterboxes like the ffmpeg stream path (resize + pad 114), also when scaling', async () => {
    // 1280x960 -> 640x480 inside 640x640: scale 0.5, 80 rows of padding above and below.
    const big = await sharp(png).resize(1280, 960, { kernel: 'nearest' }).png().toBuffer();
    const file = join(dir, 'big.png');
    await sharp(big).toFile(file);
    const ours = await letterboxImage(big, 640, 640);
    const info = await probeSource(file);
    const decoder = new FrameDecoder({ streamId: 'png', url: file, info, dstWidth: 640, dstHeight: 640 });
    let theirs: Uint8Array | undefined;
    for await (const f of decoder.frames()) {
      theirs ??= f.rgb;
      expect(f.letterbox).toEqual(ours.letterbox);
    }
    expect(theirs?.length).toBe(ours.rgb.length);
    let diff = 0;
    let padOk = true;
    for (let i = 0; i < ours.rgb.length; i++) {
      diff += Math.abs(ours.rgb[i] - theirs![i]);
      const row = Math.floor(i / (640 * 3));
      if ((row < 80 || row >= 560) && (ours.rgb[i] !== 114 || theirs![i] !== 114)) padOk = false;
    }
    expect(padOk).toBe(true);
    console.log(`letterbox sharp vs ffmpeg: mean |diff| ${(diff / ours.rgb.length).toFixed(3)} per channel`);
    expect(diff / ours.rgb.length).toBeLessThan(3);
    // And the same detections as running the detector on ffmpeg's letterboxed frame.
    const det = await Detector.open({ path: model, providers: ['cpu'], intraOpThreads: 1 });
    try {
      const [viaFfmpeg] = await det.detect([{ rgb: new Uint8Array(theirs!), letterbox: ours.letterbox }], { conf: 0.25 });
      const viaHttp = (await post('/api/detect', big)).json.objects as Json[];
      expect(viaHttp.length).toBe(viaFfmpeg.detections.length);
      viaFfmpeg.detections.forEach((d, i) => {
        expect(viaHttp[i].class).toBe(d.class);
        for (let k = 0; k < 4; k++) expect(Math.abs(viaHttp[i].box[k] - d.box[k])).toBeLessThan(4);
      });
    } finally {
      await det.close();
    }
  });

  it('refuses what is not an image (415), too big (413), unknown models (404), bad conf (400), no token (401)', async () => {
    const text = await post('/api/detect', 'hello, not an image', 'text/plain');
    expect(text.status).toBe(415);
    expect(text.json.error).toMatch(/JPEG or PNG/);
    const disguised = await post('/api/detect', 'hello, not an image', 'image/png');
    expect(disguised.status).toBe(415);
    expect(disguised.json.error).toMatch(/not a JPEG or PNG image/);
    const truncated = await post('/api/detect', png.subarray(0, 2000));
    expect(truncated.status).toBe(415);
    expect(truncated.json.error).toMatch(/cannot decode/);
    const big = await post('/api/detect', Buffer.alloc(1024 * 1024 + 1, 0x89), 'image/png');
    expect(big.status).toBe(413);
    expect(big.json.error).toMatch(/maxUploadBytes/);
    const unknown = await post('/api/detect?model=nope.onnx', png);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toContain(basename(model));
    expect((await post('/api/detect?conf=2', png)).status).toBe(400);
    const badClasses = await post('/api/detect?classes=person', png);
    expect(badClasses.status).toBe(400);
    expect(badClasses.json.error).toBe('classes: expected comma-separated class ids, got "person"');
    expect((await post('/api/detect', png, 'image/png', '')).status).toBe(401);
  });

  it('batches concurrent requests in the shared batcher (runs padded to the configured sizes)', async () => {
    const start = await batcherInfo();
    const single: number[] = [];
    for (let i = 0; i < 3; i++) single.push((await post('/api/detect', png)).ms);
    const before = await batcherInfo();
    // Each lone request ran as a batch of 1 padded with a blank image to 2.
    expect(before.padBatchSizes).toEqual([2, 4, 8]);
    expect(before.batching.paddedFrames - start.batching.paddedFrames).toBe(3);
    let concurrent: Array<{ status: number; json: Json; ms: number }> = [];
    let multi = 0;
    // Bounded retries: under heavy machine load one wave might not overlap.
    for (let round = 0; round < 4 && multi === 0; round++) {
      concurrent = await Promise.all(Array.from({ length: 8 }, () => post('/api/detect', png)));
      multi = concurrent.filter((r) => r.json.latency.batch > 1).length;
    }
    for (const r of concurrent) {
      expect(r.status).toBe(200);
      expect(matchFrame(gt[FRAME], r.json.objects).fn).toBe(0);
    }
    expect(multi).toBeGreaterThan(1);
    const after = await batcherInfo();
    const hist = after.batching.batchSizeHistogram as Record<string, number>;
    expect(Object.keys(hist).some((k) => Number(k) > 1)).toBe(true);
    expect(after.batching.frames).toBeGreaterThan(before.batching.frames);
    expect(after.batching.meanBatchSize).toBeGreaterThan(1);
    expect(after).toMatchObject({ activeProvider: 'cpu', maxBatch: 8 });
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(
      `/api/detect latency: single median ${med(single).toFixed(1)} ms; 8 concurrent median ${med(concurrent.map((r) => r.ms)).toFixed(1)} ms, ` +
        `batch sizes ${JSON.stringify(concurrent.map((r) => r.json.latency.batch))}; histogram ${JSON.stringify(hist)}`,
    );
  });
});
