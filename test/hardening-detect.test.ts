/**
 * Issue 20 item 1, POST /api/detect under a burst of huge images, over real HTTP with the real
 * model: 32 concurrent uploads of 38.5-megapixel images (plain and interlaced PNG, baseline and
 * progressive JPEG) raise the server's RSS by less than 500 MB and every request is answered (200,
 * or 503 with Retry-After when the queue is full); an image over the pixel limit or whose decode
 * needs more than the memory allowed is 413 before anything is decoded.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../src/tools/modelgen/index.js';
import type { RunningServer } from '../src/serve/server.js';
import { startTestServer } from './helpers/serveHarness.js';

const W = 7000;
const H = 5500;
let server: RunningServer;
let dir: string;
const images: Record<string, Buffer> = {};

/**
 * Writes the test images from a child process (so building them leaves nothing in this process's
 * memory): a compressible pattern, as a camera still of a plain scene would be.
 */
function makeImages(out: string): void {
  const script = `
    import sharp from 'sharp';
    const [w, h, out] = [${W}, ${H}, ${JSON.stringify(out)}];
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3, v = (((x >> 7) ^ (y >> 7)) * 37) & 255;
      raw[o] = v; raw[o + 1] = 255 - v; raw[o + 2] = (v * 3) & 255;
    }
    const img = () => sharp(raw, { raw: { width: w, height: h, channels: 3 }, limitInputPixels: false });
    await img().png({ compressionLevel: 9 }).toFile(out + '/plain.png');
    await img().png({ compressionLevel: 9, progressive: true }).toFile(out + '/interlaced.png');
    await img().jpeg({ quality: 80 }).toFile(out + '/baseline.jpg');
    await img().jpeg({ quality: 80, progressive: true }).toFile(out + '/progressive.jpg');
    const big = Buffer.alloc(8000 * 6000 * 3, 90);
    await sharp(big, { raw: { width: 8000, height: 6000, channels: 3 }, limitInputPixels: false }).jpeg().toFile(out + '/48mp.jpg');
  `;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 240_000 });
}

async function post(body: Buffer, type: string, target = server): Promise<{ status: number; json: Record<string, any>; retryAfter: string | null }> {
  const res = await fetch(target.url + '/api/detect', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(body), signal: AbortSignal.timeout(240_000) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {}, retryAfter: res.headers.get('retry-after') };
}

const typeOf = (name: string): string => (name.endsWith('.png') ? 'image/png' : 'image/jpeg');

beforeAll(async () => {
  const model = await ensureModel('synthetic-det');
  dir = mkdtempSync(join(tmpdir(), 'streamlens-detect-burst-'));
  makeImages(dir);
  for (const name of ['plain.png', 'interlaced.png', 'baseline.jpg', 'progressive.jpg', '48mp.jpg']) images[name] = readFileSync(join(dir, name));
  server = await startTestServer({ models: { [model]: { intraOpThreads: 1 } }, server: { requestTimeoutMs: 120_000 } }, process.cwd());
  // The model loaded and the decoder warm: what follows measures the burst, not the first use.
  expect((await post(images['baseline.jpg'], 'image/jpeg')).status).toBe(200);
}, 300_000);

afterAll(async () => {
  await server?.close();
});

describe('POST /api/detect under a burst of huge images', () => {
  it('32 concurrent 40 MP uploads: RSS rises by less than 500 MB and every request is answered', async () => {
    const kinds = ['plain.png', 'interlaced.png', 'baseline.jpg', 'progressive.jpg'];
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = Date.now();
    const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => post(images[kinds[i % 4]], typeOf(kinds[i % 4])).then((a) => ({ ...a, kind: kinds[i % 4] }))));
    clearInterval(sampler);
    const rise = (peak - before) / 1048576;
    const count = (s: number): number => answers.filter((a) => a.status === s).length;
    console.log(`32 uploads in ${Date.now() - t0} ms: ${count(200)} x 200, ${count(503)} x 503; RSS ${Math.round(before / 1048576)} MiB, peak +${rise.toFixed(0)} MiB`);
    for (const a of answers) expect([200, 503], `${a.kind}: ${JSON.stringify(a.json)}`).toContain(a.status);
    for (const a of answers.filter((x) => x.status === 503)) expect(a.retryAfter).toBe('1');
    // The queue's worth were served (2 decoding + 16 waiting), each kind among them.
    expect(count(200)).toBeGreaterThanOrEqual(18);
    for (const kind of kinds) expect(answers.some((a) => a.kind === kind && a.status === 200)).toBe(true);
    for (const a of answers.filter((x) => x.status === 200)) expect(a.json.width).toBe(W);
    expect(rise).toBeLessThan(500);
    expect(server.hub.ids()).toEqual([]);
  }, 600_000);

  it('over the pixel limit: 413 from the header, nothing decoded', async () => {
    const res = await post(images['48mp.jpg'], 'image/jpeg');
    expect(res.status).toBe(413);
    expect(res.json.error).toMatch(/48000000 pixels, more than 40000000 \(server\.maxImagePixels\)/);
  });

  it('an image whose decode needs more memory than allowed: 413 naming detectMemoryMB; a JPEG that shrinks on load still passes', async () => {
    const model = await ensureModel('synthetic-det');
    const small = await startTestServer({ models: { [model]: { intraOpThreads: 1 } }, server: { detectMemoryMB: 64, requestTimeoutMs: 120_000 } }, process.cwd());
    try {
      const interlaced = await post(images['interlaced.png'], 'image/png', small);
      expect(interlaced.status).toBe(413);
      expect(interlaced.json.error).toMatch(/needs about \d+ MiB, more than the 64 MiB allowed \(server\.detectMemoryMB\)/);
      const baseline = await post(images['baseline.jpg'], 'image/jpeg', small);
      expect(baseline.status).toBe(200);
    } finally {
      await small.close();
    }
  }, 300_000);
});
