/**
 * Section 5, capacity search: 1080p realtime streams at a target detection rate (the stream `fps`
 * cap) are added one at a time to one server; after each addition the window's p95
 * capture-to-send latency and the slowest stream's delivered fps are measured. Capacity is the
 * largest count where p95 stays under the target and every stream gets >= 90% of the target rate.
 */
import type { Clip } from './inputs.js';
import { ResultRecorder, startBenchServer } from './liveServer.js';
import { stageSamples } from './stages.js';
import { r3, sleep, summarize } from './stats.js';
import { performance } from 'node:perf_hooks';

export interface CapacityPoint {
  streams: number;
  p50: number;
  p95: number;
  p99: number;
  minFps: number;
  meanFps: number;
  pass: boolean;
}

export interface CapacityResult {
  clip: string;
  targetFps: number;
  targetP95Ms: number;
  capacity: number;
  /** True when the search stopped at maxStreams without failing. */
  capped: boolean;
  curve: CapacityPoint[];
}

export interface CapacityOptions {
  clip: Clip;
  modelPath: string;
  mediaFolder: string;
  targetFps: number;
  targetP95Ms: number;
  maxStreams: number;
  settleSeconds: number;
  seconds: number;
}

export async function capacitySearch(o: CapacityOptions): Promise<CapacityResult> {
  const bench = await startBenchServer({ modelPath: o.modelPath, mediaFolder: o.mediaFolder });
  const recorder = new ResultRecorder(bench.server);
  const curve: CapacityPoint[] = [];
  try {
    for (let n = 1; n <= o.maxStreams; n++) {
      await bench.addStream({ id: `cap${n}`, url: o.clip.path, realtime: true, loop: true, dropPolicy: 'latest', video: false, fps: o.targetFps });
      await sleep(o.settleSeconds * 1000);
      recorder.start();
      const t0 = performance.now();
      await sleep(o.seconds * 1000);
      const results = recorder.stop();
      const seconds = (performance.now() - t0) / 1000;
      const lat = summarize(stageSamples(results).total);
      const fps = Array.from({ length: n }, (_, i) => results.filter((r) => r.streamId === `cap${i + 1}`).length / seconds);
      const minFps = Math.min(...fps);
      const point: CapacityPoint = {
        streams: n,
        p50: lat.p50,
        p95: lat.p95,
        p99: lat.p99,
        minFps: r3(minFps),
        meanFps: r3(fps.reduce((a, b) => a + b, 0) / n),
        pass: lat.n > 0 && lat.p95 <= o.targetP95Ms && minFps >= 0.9 * o.targetFps,
      };
      curve.push(point);
      if (!point.pass) break;
    }
  } finally {
    recorder.close();
    await bench.close();
  }
  const firstFail = curve.findIndex((p) => !p.pass);
  const capacity = firstFail < 0 ? curve.length : firstFail;
  return { clip: o.clip.name, targetFps: o.targetFps, targetP95Ms: o.targetP95Ms, capacity, capped: firstFail < 0, curve };
}
