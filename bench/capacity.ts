/**
 * Section 5, capacity search: realtime streams (the 1080p clip, or the user's sources in turn) at a
 * target detection rate (the stream `fps` cap) are added one at a time to one server; after each addition the window's p95
 * capture-to-send latency and the slowest stream's delivered fps are measured. Capacity is the
 * largest count where p95 stays under the target and every stream gets >= 90% of the target rate.
 * Streams run with or without motion gating (docs/motion.md); the still-scene variant compares the
 * two on a mostly still clip (without, with, without), by that search and by the CPU time one camera
 * costs (which other work on a loaded machine does not inflate, unlike latency).
 */
import { availableParallelism } from 'node:os';
import { mediaFoldersOf, type Clip } from './inputs.js';
import type { ExecutionProvider } from '../src/config/schema.js';
import { ResultRecorder, startBenchServer } from './liveServer.js';
import { ProcessCpuClock } from './processCpu.js';
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
  /** Share of the window's results the detector ran on (1 without gating). */
  inferred: number;
  pass: boolean;
}

export interface CapacityResult {
  clip: string;
  /** The model and its execution providers (fallback order). */
  model: string;
  provider: string;
  targetFps: number;
  targetP95Ms: number;
  capacity: number;
  /** Motion gating on every stream. */
  motion: boolean;
  /** True when the search stopped at maxStreams without failing. */
  capped: boolean;
  curve: CapacityPoint[];
}

export interface CapacityOptions {
  /** Stream n reads clips[(n - 1) % clips.length]. */
  clips: Clip[];
  modelPath: string;
  providers?: ExecutionProvider[];
  /** Label of the model in the results (default: the path). */
  model?: string;
  targetFps: number;
  targetP95Ms: number;
  maxStreams: number;
  settleSeconds: number;
  seconds: number;
  /** Motion gating on every stream (default off: the detector on every frame). */
  motion?: boolean;
}

export async function capacitySearch(o: CapacityOptions): Promise<CapacityResult> {
  const bench = await startBenchServer({ modelPath: o.modelPath, mediaFolders: mediaFoldersOf(o.clips), providers: o.providers });
  const recorder = new ResultRecorder(bench.server);
  const curve: CapacityPoint[] = [];
  try {
    for (let n = 1; n <= o.maxStreams; n++) {
      await bench.addStream({ id: `cap${n}`, url: o.clips[(n - 1) % o.clips.length].path, realtime: true, loop: true, dropPolicy: 'latest', video: false, fps: o.targetFps, motion: { enabled: o.motion === true } });
      await bench.started([`cap${n}`]);
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
        inferred: r3(results.filter((r) => r.inferred !== false).length / Math.max(1, results.length)),
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
  return { clip: [...new Set(o.clips.slice(0, Math.max(1, curve.length)).map((c) => c.name))].join(', '), model: o.model ?? o.modelPath, provider: o.providers?.join(',') ?? 'cpu', targetFps: o.targetFps, targetP95Ms: o.targetP95Ms, capacity, motion: o.motion === true, capped: firstFail < 0, curve };
}

/**
 * One camera's CPU cost: the clip once through a server, every frame at the target rate (the `fps`
 * cap, as ffmpeg decodes a camera's every frame and keeps those), none dropped (`all`, not paced):
 * this process's CPU time (its inference threads included) and the stream's ffmpeg's, per result.
 */
export interface CameraCpu {
  motion: boolean;
  /** Results (frames at the target rate) measured; `complete` when they cover the whole clip. */
  results: number;
  complete: boolean;
  /** Share of the results the detector ran on. */
  inferred: number;
  cpuMsPerResult: number;
  /** The part of cpuMsPerResult in the camera's ffmpeg (decoding, scaling) and in the server process (the rest). */
  ffmpegMsPerResult: number;
  serverMsPerResult: number;
  /** Cores one camera takes at the target rate: cpuMsPerResult x targetFps / 1000. */
  coresPerCamera: number;
}
/**
 * The mostly still scene searched without, with and again without motion gating, under the same
 * targets: the two searches without bracket the one with, so a change of the machine's load during
 * the run shows as a difference between them rather than as a false ratio. Then the same by CPU
 * time: one camera's cost without, with and again without, and how many cameras the machine's
 * cores hold at that cost (the count a machine without other work would approach).
 */
export interface StillSceneCapacity {
  clip: string;
  without: CapacityResult;
  with: CapacityResult;
  withoutAfter: CapacityResult;
  /** Cameras with gating / the larger of the two capacities without (the conservative ratio). */
  ratio: number;
  target: number;
  cpu?: {
    cores: number;
    without: CameraCpu;
    with: CameraCpu;
    withoutAfter: CameraCpu;
    /** cores / coresPerCamera: the cheaper of the two without, and with gating. */
    camerasWithout: number;
    camerasWith: number;
    /** camerasWith / camerasWithout. */
    ratio: number;
    /**
     * The most gating could give if a gated camera cost nothing but its decoding: the cheaper
     * camera without gating / the gated camera's ffmpeg alone. Gating never skips decoding (the
     * motion estimate needs every frame), so no detector share, however small, passes this.
     */
    decodeCeiling?: number;
  };
}

export interface StillSceneOptions extends Omit<CapacityOptions, 'motion'> {
  maxStreamsGated: number;
  /** Longest each CPU measurement may take, seconds (it stops early, not complete, past it); 0: not measured. */
  cpuTimeoutSeconds: number;
}

export async function stillSceneCapacity(o: StillSceneOptions): Promise<StillSceneCapacity> {
  const without = await capacitySearch({ ...o, motion: false });
  const gated = await capacitySearch({ ...o, maxStreams: o.maxStreamsGated, motion: true });
  const withoutAfter = await capacitySearch({ ...o, motion: false });
  const result: StillSceneCapacity = { clip: without.clip, without, with: gated, withoutAfter, ratio: gatedCapacityRatio(without.capacity, gated.capacity, withoutAfter.capacity), target: 3 };
  if (o.cpuTimeoutSeconds > 0) {
    const cpuWithout = await cameraCpu(o, false);
    const cpuWith = await cameraCpu(o, true);
    const cpuWithoutAfter = await cameraCpu(o, false);
    const cores = availableParallelism();
    const camerasWithout = r3(cores / Math.min(cpuWithout.coresPerCamera, cpuWithoutAfter.coresPerCamera));
    const camerasWith = r3(cores / cpuWith.coresPerCamera);
    const decodeCeiling = r3(Math.min(cpuWithout.cpuMsPerResult, cpuWithoutAfter.cpuMsPerResult) / cpuWith.ffmpegMsPerResult);
    result.cpu = { cores, without: cpuWithout, with: cpuWith, withoutAfter: cpuWithoutAfter, camerasWithout, camerasWith, ratio: r3(camerasWith / camerasWithout), decodeCeiling };
  }
  return result;
}

/** Cameras with gating / the larger of the two counts without; NaN when no camera fit without. */
export function gatedCapacityRatio(without: number, gated: number, withoutAfter: number): number {
  const baseline = Math.max(without, withoutAfter);
  return baseline > 0 ? r3(gated / baseline) : NaN;
}

export async function cameraCpu(o: StillSceneOptions, motion: boolean): Promise<CameraCpu> {
  const bench = await startBenchServer({ modelPath: o.modelPath, mediaFolders: mediaFoldersOf(o.clips), providers: o.providers });
  const recorder = new ResultRecorder(bench.server);
  try {
    // The model loads with the first stream: the clock starts once it has.
    await bench.server.hub.detectBackend(o.modelPath);
    const clock = new ProcessCpuClock();
    recorder.start();
    await bench.addStream({ id: 'cpu', url: o.clips[0].path, realtime: false, loop: false, dropPolicy: 'all', video: false, fps: o.targetFps, motion: { enabled: motion } });
    const end = performance.now() + o.cpuTimeoutSeconds * 1000;
    let complete = false;
    while (performance.now() < end && !(complete = bench.server.hub.stats('cpu')?.state === 'ended')) await sleep(250);
    const { self, children } = clock.split();
    const results = recorder.stop();
    const perResult = (seconds: number): number => (results.length ? (1000 * seconds) / results.length : NaN);
    const cpuMsPerResult = perResult(self + children);
    return {
      motion,
      results: results.length,
      complete,
      inferred: r3(results.filter((r) => r.inferred !== false).length / Math.max(1, results.length)),
      cpuMsPerResult: r3(cpuMsPerResult),
      ffmpegMsPerResult: r3(perResult(children)),
      serverMsPerResult: r3(perResult(self)),
      coresPerCamera: r3((cpuMsPerResult * o.targetFps) / 1000),
    };
  } finally {
    recorder.close();
    await bench.close();
  }
}
