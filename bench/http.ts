/**
 * Section 7, HTTP: autocannon against `POST /api/detect` (a JPEG body) at several concurrencies,
 * with cross-request batching off (maxBatch 1) and on. Every run is bounded by a request count and
 * a duration and targets the in-process server on 127.0.0.1. `detectLoad` is the same load against
 * any server (the `--server` section uses it with the user's images).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { startBenchServer } from './liveServer.js';
import { r3 } from './stats.js';

export interface HttpRun {
  batching: 'off' | 'on' | 'server';
  maxBatch: number;
  connections: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  errors: number;
  non2xx: number;
}

export type HttpResult = { available: true; image: string; runs: HttpRun[] } | { available: false; reason: string };

export interface HttpOptions {
  modelPath: string;
  mediaFolder: string;
  jpegPath: string;
  concurrencies: number[];
  seconds: number;
  maxRequests: number;
  batchOn: number;
}

export interface DetectBody {
  bytes: Buffer;
  contentType: string;
}

export interface DetectLoadOptions {
  /** The full URL of POST /api/detect (with its query). */
  url: string;
  /** Sent in turn by every connection. */
  bodies: DetectBody[];
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  maxRequests: number;
}

const DETECT_TIMEOUT_S = 30;

/**
 * One autocannon run: bounded by maxRequests (count) and seconds (time). A window that ends with no
 * request answered yet (a starved machine, a slow first inference) is held open until the first
 * answer, up to the request timeout: a run of zero answers measures nothing.
 */
export async function detectLoad(o: DetectLoadOptions): Promise<Omit<HttpRun, 'batching' | 'maxBatch'>> {
  const instance = autocannon({
    url: o.url,
    method: 'POST',
    connections: o.connections,
    amount: o.maxRequests,
    timeout: DETECT_TIMEOUT_S,
    requests: o.bodies.map((b) => ({ body: b.bytes, headers: { ...o.headers, 'content-type': b.contentType } })),
  });
  let answered = false;
  let windowOver = false;
  instance.on('response', () => {
    answered = true;
    if (windowOver) instance.stop();
  });
  // amount bounds the count; this bounds the time.
  const timer = setTimeout(() => {
    windowOver = true;
    if (answered) instance.stop();
  }, o.seconds * 1000);
  const hardStop = setTimeout(() => instance.stop(), (o.seconds + DETECT_TIMEOUT_S) * 1000);
  const r = await instance;
  clearTimeout(timer);
  clearTimeout(hardStop);
  return {
    connections: o.connections,
    requests: r['2xx'],
    requestsPerSecond: r3(r.duration > 0 ? r['2xx'] / r.duration : 0),
    latencyMs: { mean: r3(r.latency.mean), p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

export async function httpBench(o: HttpOptions): Promise<HttpResult> {
  const body = readFileSync(o.jpegPath);
  const runs: HttpRun[] = [];
  for (const [batching, maxBatch] of [['off', 1], ['on', o.batchOn]] as const) {
    const bench = await startBenchServer({ modelPath: o.modelPath, mediaFolders: [o.mediaFolder], maxBatch, maxBodyBytes: 8 * 1024 * 1024 });
    try {
      const url = `${bench.server.url}/api/detect`;
      const probe = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'image/jpeg' }, signal: AbortSignal.timeout(30_000) });
      const text = await probe.text();
      if ((probe.status === 404 && text.includes('no route')) || probe.status === 405) {
        return { available: false, reason: `POST /api/detect answered ${probe.status}: the endpoint does not exist in this build` };
      }
      if (!probe.ok) throw new Error(`POST /api/detect answered ${probe.status}: ${text.slice(0, 200)}`);
      for (const connections of o.concurrencies) {
        const run = await detectLoad({ url, bodies: [{ bytes: body, contentType: 'image/jpeg' }], connections, seconds: o.seconds, maxRequests: o.maxRequests });
        runs.push({ batching, maxBatch, ...run });
      }
    } finally {
      await bench.close();
    }
  }
  return { available: true, image: o.jpegPath, runs };
}
