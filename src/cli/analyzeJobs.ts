/**
 * Runs `analyze` jobs: one input into its chosen outputs (result files, report, rendered video),
 * and many inputs with N at a time, where a failing input is reported and the others go on.
 */
import { dirname, relative } from 'node:path';
import { analyzeRecording, type AnalyzeOptions, type AnalyzeSummary } from '../pipeline/analyzeRecording.js';
import { redactUrl } from '../ingest/sourceUrl.js';
import { OUTPUT_KINDS, openFileSink, readsSourceFrames, type FileSinkContext, type OutputKind } from '../output/sinks.js';
import { SinkSet } from '../output/sinkSet.js';
import type { Logger } from '../log.js';
import { resolveAnalytics } from '../analytics/config.js';

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

/**
 * Analyses `input` into `outputs`. The outputs open once the input is probed and the model loaded
 * (they need the source's size and rate, the model's classes); results reach them in registration
 * order (sinks.ts: the rendered video last, as it draws on the source pixels).
 */
export async function analyzeInto(
  input: string,
  outputs: readonly OutputChoice[],
  shared: SharedOptions,
  hooks: { signal?: AbortSignal; onProgress?(done: number, total: number | undefined): void } = {},
): Promise<AnalyzeSummary> {
  const ordered = [...outputs].sort((a, b) => OUTPUT_KINDS.indexOf(a.kind) - OUTPUT_KINDS.indexOf(b.kind));
  const video = ordered.find((o) => o.kind === 'render')?.path;
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
            opened.push(openFileSink(o.kind, o.path, ctx));
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
    return summary;
  } finally {
    // After a failure: release what was opened (its error, if any, is not the news).
    await sinks?.close().catch(() => undefined);
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
