/**
 * The benchmark harness (`npm run bench`, bench/main.ts): runs the selected sections in order,
 * each with its own inputs and bounds, and collects one plain result object. Baselines (the session alone, ffmpeg alone, the Node peer)
 * are measured in the same run as what they are compared with. A failing section is recorded with
 * its reason and the others still run. The models, providers, batch sizes and sources are the
 * user's when given (--model, --providers, --batch, --source), else the built-in ones; `--server`
 * measures a running server from the outside instead (bench/remote.ts).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExecutionProvider } from '../src/config/schema.js';
import type { StageFactory } from '../src/pipeline/stage.js';
import { analysisRun, type AnalysisRun } from './analysis.js';
import { capacitySearch, stillSceneCapacity, type CapacityResult, type StillSceneCapacity } from './capacity.js';
import { fanoutBench, type FanoutResult } from './fanout.js';
import { httpBench, type HttpResult } from './http.js';
import { benchModel, BENCH_MODEL, clip1080, demoClip, firstFrameJpeg, mediaDir, motionClip, smallTargets4k, sourceClips, stillClip1080, vtest, type Clip } from './inputs.js';
import { ffmpegGreyCost, motionAnalysis, motionCost, motionRecall, motionRegions, type MotionBenchResult } from './motion.js';
import { ensureModel } from '../src/tools/modelgen/index.js';
import { MOTION_SCENE_STILL } from '../src/tools/synth/index.js';
import { decodeLimit, type DecodeLimit, type SessionLimit } from './limits.js';
import { liveRun, type LiveRun } from './live.js';
import { describeMachine, type Machine } from './machine.js';
import { resolveModels, type ModelUnderTest } from './models.js';
import { remoteBench, type RemoteResult } from './remote.js';
import { analysisSweep, modelRatios, sessionSweep, type ModelRatio, type RatioRow, type Unavailable } from './sweep.js';
import { microBench, type MicroResult } from './micro.js';
import { peerRun, type PeerRun } from './peer.js';
import { ratio, r3, percentile } from './stats.js';
import { benchTracker, type TrackerBenchResult } from './tracker.js';
import { benchAnalytics, type AnalyticsBenchResult } from './analytics.js';
import { drawCost, renderRatio, renderStages, type DrawCost, type RenderRatio, type RenderStages } from './render.js';
import { clusterBench, type ClusterBenchResult } from './cluster.js';
import { startupBench, type StartupResult } from './startup.js';

export const SECTIONS = ['limits', 'analysis', 'peer', 'live', 'startup', 'capacity', 'fanout', 'cluster', 'http', 'tracker', 'analytics', 'render', 'motion', 'micro', 'server'] as const;
export type Section = (typeof SECTIONS)[number];

/** A running server measured from the outside (`--server`). */
export interface ServerTarget {
  url: string;
  token?: string;
  clients: number;
  images?: string;
  streams?: string[];
}

export interface BenchOptions {
  quick: boolean;
  only?: Section[];
  outDir: string;
  /** `--model` arguments: .onnx files or built-in names (default: the benchmark model at 640 and 320). */
  models?: string[];
  /** Input sizes for built-in models (`--imgsz`). */
  imgsz?: number[];
  /** Execution providers, each measured on its own in limits/analysis; the fallback order of the servers (default: cpu). */
  providers?: ExecutionProvider[];
  /** Batch sizes of the sweep (default: session 1 and 4, pipeline 4). */
  batches?: number[];
  /** `--source` files or URLs for analysis, live and capacity (default: the built-in clips). */
  sources?: string[];
  /** With a server, the `server` section is the run (unless --only says otherwise). */
  server?: ServerTarget;
  /** The analysis pipeline's stage factories (default: the registry); a slowed stage shows what `bench compare` catches. */
  stages?: readonly StageFactory[];
  log?: (line: string) => void;
}

/** Frames per inference call of the analysis pipeline (`analyze --batch` default) and the live server's maxBatch. */
export const PIPELINE_BATCH = 4;

export interface BenchResult {
  meta: {
    startedAt: string;
    quick: boolean;
    sections: Section[];
    seconds: number;
    /** The models of the limits and analysis sweeps, in order (the first is the baseline of model ratios; live, capacity and http use it). */
    models: ModelUnderTest[];
    providers: ExecutionProvider[];
    /** Batch sizes of the session and pipeline sweeps. */
    batches: { session: number[]; pipeline: number[] };
    /** The user's sources, when given. */
    sources: string[];
    machine: Machine;
    /**
     * The run's own noise across the run: the median relative difference between the session
     * measured right before and right after each pipeline run (analysis section). Undefined without one.
     */
    noise?: number;
    note: string;
  };
  limits?: { session: SessionLimit[]; decode: DecodeLimit[]; unavailable: Unavailable[]; skipped: string[] };
  analysis?: { runs: AnalysisRun[]; ratios: RatioRow[]; unavailable: Unavailable[] };
  /** Each model after the first against the first (session alone and pipeline), measured back to back. */
  modelRatios?: ModelRatio[];
  server?: RemoteResult;
  /** runs: the peer before and after ours; peerFps: their mean. */
  peer?: { runs: PeerRun[]; peerFps: number; ours: { clip: string; imgsz: number; fps: number }; oursOverPeer: number; target: number };
  live?: { runs: LiveRun[]; oneStream?: { inferenceP50: number; p99CaptureToSend: number; targetMs: number; meets: boolean } };
  startup?: StartupResult;
  capacity?: CapacityResult;
  /** The capacity search on a mostly still scene, without and with motion gating. */
  capacityStill?: StillSceneCapacity;
  fanout?: FanoutResult;
  cluster?: ClusterBenchResult;
  http?: HttpResult;
  tracker?: TrackerBenchResult;
  analytics?: AnalyticsBenchResult;
  render?: { draw: DrawCost; analysis: RenderRatio[]; stages: RenderStages };
  motion?: MotionBenchResult;
  micro?: MicroResult & { targets: { preprocessMs: number; postTrackMs: number } };
  errors: { section: Section; message: string }[];
}

const NOTE =
  'Numbers are from one run on a shared machine; other work on the same cores makes them noisy. Compare ratios measured in the same run rather than absolute numbers across runs.';

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? (() => undefined);
  const q = o.quick;
  const defaults = SECTIONS.filter((x) => (o.server ? x === 'server' : x !== 'server'));
  const sections = o.only?.length ? SECTIONS.filter((x) => o.only!.includes(x)) : defaults;
  if (sections.includes('server') && !o.server) throw new Error('the server section needs --server URL');
  const started = performance.now();
  // The sections that run the chosen models (the others use the benchmark model or none).
  const needsModels = sections.some((x) => ['limits', 'analysis', 'live', 'capacity', 'http'].includes(x));
  const models = needsModels ? await resolveModels(o.models ?? [], o.imgsz) : [];
  const providers = o.providers?.length ? o.providers : (['cpu'] as ExecutionProvider[]);
  const batches = { session: o.batches ?? [1, PIPELINE_BATCH], pipeline: o.batches ?? [PIPELINE_BATCH] };
  const result: BenchResult = {
    meta: {
      startedAt: new Date().toISOString(),
      quick: q,
      sections,
      seconds: 0,
      models,
      providers,
      batches,
      sources: o.sources ?? [],
      machine: await describeMachine(),
      note: NOTE,
    },
    errors: [],
  };
  const media = mediaDir(o.outDir);

  // Inputs, built once and cached.
  const lazy = <T>(f: () => Promise<T>): (() => Promise<T>) => {
    let p: Promise<T> | undefined;
    return () => (p ??= f());
  };
  const model = { 640: lazy(() => benchModel(640)), 320: lazy(() => benchModel(320)) };
  const big = lazy(() => clip1080(o.outDir, q ? 1 : 10));
  const vt = lazy(() => vtest(o.outDir, q ? 20 : undefined));
  const user = o.sources?.length ? sourceClips(o.sources) : undefined;
  const clips = async (): Promise<Clip[]> => user ?? [await big(), ...((await vt()) ? [(await vt())!] : [])];
  // The first model (the benchmark model at 640 by default) runs the server sections.
  const primary = models[0];
  // Each pipeline run on a source is bounded in time: a live URL never ends.
  const analysisSeconds = q ? 20 : 120;

  const run = async (section: Section, f: () => Promise<void>): Promise<void> => {
    if (!sections.includes(section)) return;
    const t0 = performance.now();
    log(`bench: ${section} ...`);
    try {
      await f();
      log(`bench: ${section} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result.errors.push({ section, message });
      log(`bench: ${section} failed: ${message}`);
    }
  };

  await run('server', async () => {
    const s = o.server!;
    result.server = await remoteBench({
      url: s.url,
      token: s.token,
      streams: s.streams,
      clients: s.clients,
      images: s.images,
      seconds: q ? 4 : 15,
      connections: q ? [1, 4] : [1, 8, 32],
      maxRequests: q ? 100 : 2000,
      log,
    });
  });

  await run('micro', async () => {
    result.micro = { ...microBench({ iterations: q ? 50 : 300, frames: q ? 100 : 500 }), targets: { preprocessMs: 2, postTrackMs: 0.5 } };
  });

  await run('limits', async () => {
    const decode: DecodeLimit[] = [];
    const sizes = [...new Set(models.map((m) => m.imgsz))];
    for (const clip of await clips()) for (const imgsz of q ? sizes.slice(0, 1) : sizes) decode.push(await decodeLimit(clip, imgsz, q ? 10 : 60));
    const sweep = await sessionSweep({ models, providers, batches: batches.session, quick: q, log });
    result.limits = { ...sweep, decode };
  });

  await run('analysis', async () => {
    result.analysis = await analysisSweep({ models, providers, batches: batches.pipeline, quick: q, log, clips: await clips(), maxSeconds: analysisSeconds, stages: o.stages });
    const spreads = result.analysis.ratios.map((x) => Math.abs(x.sessionBeforeAfter[0] - x.sessionBeforeAfter[1]) / x.sessionFps).filter(Number.isFinite);
    if (spreads.length) result.meta.noise = r3(percentile(spreads, 0.5));
  });

  await run('peer', async () => {
    const clip = await big();
    // Quick mode compares at 320 to stay short; the target is stated for 640.
    const imgsz = q ? 320 : 640;
    // Back to back (not the cached analysis run), the peer before and after ours, so all three see
    // about the same machine load; the ratio uses the peer's mean.
    const peer = await peerRun(clip, await model[imgsz](), imgsz);
    const ours = await analysisRun({ clip, modelPath: await model[imgsz](), imgsz, batch: PIPELINE_BATCH });
    const peerAgain = await peerRun(clip, await model[imgsz](), imgsz);
    const peerFps = r3((peer.fps + peerAgain.fps) / 2);
    result.peer = { runs: [peer, peerAgain], peerFps, ours: { clip: clip.name, imgsz, fps: ours.fps }, oursOverPeer: ratio(ours.fps, peerFps), target: 1.5 };
  });

  await run('live', async () => {
    const live = user ?? [await demoClip()];
    const runs: LiveRun[] = [];
    for (const streams of q ? [1, 2] : [1, 2, 4, 8]) {
      runs.push(await liveRun({ clips: live, modelPath: primary.path, providers, streams, warmupSeconds: q ? 2 : 3, seconds: q ? 3 : 10 }));
      log(`bench:   live ${streams} stream(s): capture->send p99 ${runs.at(-1)!.stages.total?.p99 ?? NaN} ms`);
    }
    const one = runs.find((r) => r.streams === 1);
    const inf = one?.stages.inference?.p50;
    const p99 = one?.stages.total?.p99;
    result.live = {
      runs,
      ...(inf !== undefined && p99 !== undefined ? { oneStream: { inferenceP50: inf, p99CaptureToSend: p99, targetMs: r3(1.5 * inf + 20), meets: p99 <= 1.5 * inf + 20 } } : {}),
    };
  });

  await run('startup', async () => {
    result.startup = await startupBench({ clip: await demoClip(), workDir: media, trials: q ? 2 : 5, log });
  });

  await run('capacity', async () => {
    result.capacity = await capacitySearch({
      clips: user ?? [await big()],
      modelPath: primary.path,
      model: primary.label,
      providers,
      targetFps: 5,
      targetP95Ms: 250,
      maxStreams: q ? 2 : 12,
      settleSeconds: q ? 2 : 3,
      seconds: q ? 3 : 8,
    });
    // The same search without and with motion gating: on the user's own sources when given (how
    // many of *their* cameras gating lets one machine hold), else on a camera that mostly sees
    // nothing move.
    result.capacityStill = await stillSceneCapacity({
      clips: user ?? [await stillClip1080(o.outDir)],
      modelPath: primary.path,
      model: primary.label,
      providers,
      targetFps: 5,
      targetP95Ms: 250,
      maxStreams: q ? 2 : 12,
      maxStreamsGated: q ? 4 : 32,
      settleSeconds: q ? 2 : 3,
      seconds: q ? 3 : 8,
      // The whole clip once covers its quiet and busy moments; --quick takes a glimpse.
      cpuTimeoutSeconds: q ? 20 : 900,
    });
  });

  await run('fanout', async () => {
    const clip = await demoClip();
    result.fanout = await fanoutBench({
      clip,
      // The 320 model keeps the stream's result rate near the clip's 15 fps on a small machine: fan-out is what is measured.
      modelPath: await model[320](),
      mediaFolder: mediaFolderOf(clip),
      clientCounts: q ? [10, 50] : [10, 100, 500],
      stuckClients: q ? 10 : 100,
      seconds: q ? 2 : 8,
      congestionWaitSeconds: q ? 2 : 60,
    });
  });

  await run('cluster', async () => {
    // The 320 model keeps the stream at its frame rate on a small machine: the relay is what is measured.
    result.cluster = await clusterBench({ clip: await demoClip(), modelPath: await model[320](), seconds: q ? 4 : 15, fps: 10 });
  });

  await run('http', async () => {
    const clip = await demoClip();
    result.http = await httpBench({
      modelPath: primary.path,
      mediaFolder: media,
      jpegPath: await firstFrameJpeg(clip.path, join(media, 'demo-frame0.jpg')),
      concurrencies: q ? [1, 8] : [1, 8, 32],
      seconds: q ? 3 : 8,
      maxRequests: q ? 200 : 2000,
      batchOn: 8,
    });
  });

  await run('tracker', async () => {
    result.tracker = benchTracker({ repeats: q ? 1 : 5 });
  });

  await run('analytics', async () => {
    result.analytics = benchAnalytics({ frames: q ? 2000 : 20_000 });
  });

  await run('render', async () => {
    const draw = drawCost({ frames: q ? 60 : 300 });
    // The 320 model shows what rendering adds when inference is cheap; 640 the usual case.
    const analysis: RenderRatio[] = [];
    for (const imgsz of [320, 640] as const) analysis.push(await renderRatio({ clip: await big(), modelPath: await model[imgsz](), imgsz, batch: PIPELINE_BATCH }));
    const stages = await renderStages({ clip: await big(), frames: analysis[0].frames, presets: ['veryfast', 'superfast', 'ultrafast'] });
    result.render = { draw, analysis, stages };
  });

  await run('motion', async () => {
    const still = await motionClip(o.outDir);
    const ffmpeg = await ffmpegGreyCost(await big(), 640, q ? 30 : 300);
    const cost = { ...(await motionCost(await big(), 640, q ? 60 : 300)), ffmpeg };
    // Quick mode takes the 320 model: three passes over 600 frames stay short.
    const analysis = await motionAnalysis(still, await model[q ? 320 : 640](), `${BENCH_MODEL} @ ${q ? 320 : 640}`);
    const recall = q ? undefined : await motionRecall(still, still.groundTruth, await ensureModel('synthetic-det', { imgsz: 640 }), MOTION_SCENE_STILL.id);
    const small = q ? undefined : await smallTargets4k(o.outDir);
    const regions = small ? await motionRegions(small, small.groundTruth, await ensureModel('synthetic-det', { imgsz: 640 })) : undefined;
    result.motion = { cost, analysis, ...(recall ? { recall } : {}), ...(regions ? { regions } : {}) };
  });

  result.meta.seconds = r3((performance.now() - started) / 1000);
  result.meta.machine.loadAverage.end = r3(loadavg()[0]);
  if (result.limits || result.analysis) {
    const ratios = modelRatios(models, result.limits?.session ?? [], result.analysis?.runs ?? []);
    if (ratios.length) result.modelRatios = ratios;
  }
  return result;
}

function mediaFolderOf(clip: Clip): string {
  return join(clip.path, '..');
}
