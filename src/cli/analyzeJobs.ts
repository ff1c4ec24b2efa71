/**
 * Runs `analyze` jobs: one input into its chosen outputs (result files, report, rendered video),
 * and many inputs with N at a time, where a failing input is reported and the others go on.
 */
import { rename, rm, readdir } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { analyzeRecording, type AnalyzeOptions, type AnalyzeSummary } from '../pipeline/analyzeRecording.js';
import { redactUrl } from '../ingest/sourceUrl.js';
import { FILE_SINKS, OUTPUT_KINDS, openFileSink, readsSourceFrames, type FileSinkContext, type OutputKind } from '../output/sinks.js';
import { SinkSet } from '../output/sinkSet.js';
import type { Logger } from '../log.js';
import { resolveAnalytics } from '../analytics/config.js';
import { availableParallelism } from 'node:os';
import { DEFAULT_TRACKER, type AnalyticsSettings, type ExecutionProvider, type MotionConfig } from '../config/schema.js';

export interface OutputChoice {
  kind: OutputKind;
  path: string;
}

/** What every input of a run shares: the model, thresholds, tracker, encoder settings. */
export type SharedOptions = Omit<AnalyzeOptions, 'input' | 'onResult' | 'onOpen' | 'onProgress' | 'sourceFrames' | 'signal'> & {
  render: FileSinkContext['render'];
  settings: FileSinkContext['settings'];
  log: Logger;
};

/** The analysis settings of a run as the command line gives them. */
export interface AnalysisChoices {
  model: string;
  conf: number;
  classes?: number[];
  batch: number;
  track: boolean;
  providers?: ExecutionProvider[];
  /** ONNX Runtime intra-op threads; 0 = its choice, or the cores shared among `jobs`. */
  threads: number;
  decodeNice: number;
  crf: number;
  preset: string;
  /** Inputs analysed at the same time in this process. */
  jobs: number;
  analytics?: AnalyticsSettings;
  /** Motion gating (analyze --motion); undefined runs the detector on every frame. */
  motion?: MotionConfig;
}

export function sharedOptions(c: AnalysisChoices, log: Logger): SharedOptions {
  const tracker = c.track ? DEFAULT_TRACKER : undefined;
  return {
    // Several inputs at once share the cores: each session gets its part unless told otherwise.
    detector: { path: c.model, providers: c.providers, intraOpThreads: c.threads || (c.jobs > 1 ? Math.max(1, Math.floor(availableParallelism() / c.jobs)) : 0), maxBatch: c.batch },
    conf: c.conf,
    classes: c.classes,
    batch: c.batch,
    decodeNice: c.decodeNice,
    tracker,
    analytics: c.analytics,
    motion: c.motion,
    render: { crf: c.crf, preset: c.preset, nice: c.decodeNice },
    settings: { confidence: c.conf, classes: c.classes?.join(',') ?? 'all', tracker: tracker ? 'on' : 'off', batch: c.batch, ...(c.motion ? { motion: 'on' } : {}) },
    log,
  };
}

/** `dir/name.ext` -> `dir/.name.part-<tag>.ext`: hidden, and keeping the extension the writer may go by (mp4). */
export function partialPath(path: string, kind: OutputKind, tag: string): string {
  const ext = FILE_SINKS[kind].ext;
  const name = basename(path);
  const stem = name.endsWith(`.${ext}`) ? name.slice(0, -ext.length - 1) : name;
  return join(dirname(path), `.${stem}.part-${tag}.${ext}`);
}

/** Removes the partial files of `outputs` whose tag starts with `tagPrefix` (left by an attempt that died). */
export async function removePartials(outputs: readonly OutputChoice[], tagPrefix: string): Promise<void> {
  for (const o of outputs) {
    const probe = basename(partialPath(o.path, o.kind, tagPrefix));
    const prefix = probe.slice(0, probe.lastIndexOf(tagPrefix) + tagPrefix.length);
    const names = await readdir(dirname(o.path)).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dirname(o.path), n), { force: true })));
  }
}

/**
 * Analyses `input` into `outputs`. With `atomic`, each output is written under a partial name
 * (partialPath) and renamed to its own once the input is done, so a reader never sees a partial
 * file under the final name; after a failure the partial files are removed. The outputs open once the input is probed and the model loaded
 * (they need the source's size and rate, the model's classes); results reach them in registration
 * order (sinks.ts: the rendered video last, as it draws on the source pixels).
 */
export async function analyzeInto(
  input: string,
  outputs: readonly OutputChoice[],
  shared: SharedOptions,
  hooks: { signal?: AbortSignal; onProgress?(done: number, total: number | undefined): void; atomic?: { tag: string } } = {},
): Promise<AnalyzeSummary> {
  const ordered = [...outputs].sort((a, b) => OUTPUT_KINDS.indexOf(a.kind) - OUTPUT_KINDS.indexOf(b.kind));
  const video = ordered.find((o) => o.kind === 'render')?.path;
  const atomic = hooks.atomic;
  const writeAt = (o: OutputChoice): string => (atomic ? partialPath(o.path, o.kind, atomic.tag) : o.path);
  let done = false;
  let sinks: SinkSet | undefined;
  const startedAt = new Date().toISOString();
  try {
    const summary = await analyzeRecording({
      ...shared,
      input,
      sourceFrames: ordered.some((o) => readsSourceFrames(o.kind)),
      signal: hooks.signal,
      onProgress: hooks.onProgress,
      onOpen: ({ source, model }) => {
        const opened = [];
        try {
          for (const o of ordered) {
            const ctx: FileSinkContext = {
              input: redactUrl(input),
              source,
              model,
              render: shared.render,
              renderedVideo: video && o.kind === 'report' ? relative(dirname(o.path), video) : undefined,
              settings: shared.settings,
              startedAt,
              analytics: shared.analytics && resolveAnalytics(shared.analytics, source.width, source.height),
            };
            opened.push(openFileSink(o.kind, writeAt(o), ctx));
          }
        } catch (err) {
          void Promise.allSettled(opened.map((s) => s.close()));
          throw err;
        }
        sinks = new SinkSet(opened, shared.log);
      },
      onResult: (result) => sinks!.write(result),
    });
    const opened = sinks;
    sinks = undefined;
    await opened?.close();
    if (atomic && !summary.interrupted) for (const o of ordered) await rename(writeAt(o), o.path);
    done = !summary.interrupted;
    return summary;
  } finally {
    // After a failure: release what was opened (its error, if any, is not the news).
    await sinks?.close().catch(() => undefined);
    if (atomic && !done) await Promise.all(ordered.map((o) => rm(writeAt(o), { force: true })));
  }
}

/**
 * Runs `count` jobs, `jobs` at a time, in order of their index. A job that throws is recorded and
 * the rest go on; an abort lets the running jobs end (they stop at once) and starts no new one.
 */
export async function runPool(
  count: number,
  jobs: number,
  run: (index: number) => Promise<void>,
  onFailed: (index: number, reason: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !signal?.aborted) {
      const i = next++;
      try {
        await run(i);
      } catch (err) {
        onFailed(i, err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, count)) }, worker));
}
