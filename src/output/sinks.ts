/**
 * THE registration point of result sinks (see sink.ts). A new output is one file implementing
 * ResultSink plus one line here:
 *
 *  - FILE_SINKS: the outputs of `analyze`: result files (`--format <key>`, the format guessed from
 *    --out), the report (`--report`) and the rendered video (`--render`), each with its file name
 *    extension for `--out-dir` and whether it needs the source frames' pixels;
 *  - LIVE_SINKS: outputs of `serve`, each enabled by its own section of the config (undefined when
 *    it is not configured, several for a list). serve adds its own sinks first (the WebSocket
 *    gateway, the snapshot cache, the metrics).
 */
import type { ServeConfig } from '../config.js';
import type { ModelInfo } from '../infer/detector.js';
import type { Logger } from '../log.js';
import type { SourceInfo } from '../types.js';
import { CocoWriter } from './coco.js';
import { VideoRenderer } from './render/videoRenderer.js';
import type { AnalyticsGeometry } from './render/annotate.js';
import { ReportSink } from './report/reportSink.js';
import { eventLines, jsonlLine, motLines, ResultFileSink } from './resultFiles.js';
import type { ResultSink } from './sink.js';
import { EventStore } from './events/eventStore.js';
import { MqttSink } from './events/mqttSink.js';
import { WebhookSink } from './events/webhookSink.js';

/** What an analysis output is opened with, once the input is probed and the model loaded. */
export interface FileSinkContext {
  /** The input as given (passwords hidden): named in the report and the COCO info. */
  input: string;
  source: SourceInfo;
  model: ModelInfo;
  /** The rendered video's encoder settings (--crf, --preset) and niceness. */
  render: { crf: number; preset: string; nice: number };
  /** The rendered video of the same run, relative to the report, when both are written. */
  renderedVideo?: string;
  /** Zones and lines to draw, in source pixels. */
  analytics?: AnalyticsGeometry;
  /** Settings the report shows. */
  settings: Record<string, string | number | boolean>;
  /** When the analysis started (ISO 8601). */
  startedAt: string;
}

export interface FileOutput {
  /** The file name extension of this output in --out-dir (DIR/<name>.<ext>). */
  ext: string;
  /** It reads the source frames' pixels: the run decodes them at the source size too. */
  sourceFrames?: boolean;
  /** `ctx` is required by the outputs that read the source or the model (report, render). */
  open(path: string, ctx?: FileSinkContext): ResultSink;
}

function needs(kind: string, ctx: FileSinkContext | undefined): FileSinkContext {
  if (!ctx) throw new Error(`the ${kind} output is opened with the probed source and the model`);
  return ctx;
}

/**
 * In this order, results are handed to the outputs of a run: the rendered video comes last
 * because it draws on the source pixels in place, after the report has cropped its thumbnails.
 */
export const FILE_SINKS = {
  jsonl: { ext: 'jsonl', open: (path) => new ResultFileSink('jsonl', path, jsonlLine) },
  mot: { ext: 'txt', open: (path) => new ResultFileSink('mot', path, motLines) },
  events: { ext: 'events.jsonl', open: (path) => new ResultFileSink('events', path, eventLines) },
  coco: { ext: 'coco.json', open: (path, ctx) => new CocoWriter(path, { names: ctx?.model.names, classCount: ctx?.model.nc, source: ctx?.input }) },
  report: {
    ext: 'html',
    sourceFrames: true,
    open: (path, ctx) => {
      const c = needs('report', ctx);
      const s = c.source;
      return new ReportSink(path, {
        input: { source: c.input, width: s.width, height: s.height, fps: s.fps, codec: s.codec, duration: s.duration, frameCount: s.frameCount, colorSpace: s.colorSpace },
        model: c.model.path,
        settings: c.settings,
        video: c.renderedVideo,
        startedAt: c.startedAt,
      });
    },
  },
  render: {
    ext: 'mp4',
    sourceFrames: true,
    open: (path, ctx) => {
      const c = needs('render', ctx);
      return new VideoRenderer({ out: path, source: c.source, crf: c.render.crf, preset: c.render.preset, nice: c.render.nice, analytics: c.analytics });
    },
  },
} satisfies Record<string, FileOutput>;

export type OutputKind = keyof typeof FILE_SINKS;
export const OUTPUT_KINDS = Object.keys(FILE_SINKS) as OutputKind[];

/** The values of `analyze --format`: result files (the report and the video have their own flags). */
export const RESULT_FORMATS = ['jsonl', 'mot', 'coco', 'events'] as const satisfies readonly OutputKind[];
export type ResultFormat = (typeof RESULT_FORMATS)[number];

export function isResultFormat(v: string): v is ResultFormat {
  return (RESULT_FORMATS as readonly string[]).includes(v);
}

/** True when the output reads the source frames' pixels. */
export function readsSourceFrames(kind: OutputKind): boolean {
  const output: FileOutput = FILE_SINKS[kind];
  return output.sourceFrames === true;
}

/** The output `kind` writing `path`. */
export function openFileSink(kind: OutputKind, path: string, ctx?: FileSinkContext): ResultSink {
  return FILE_SINKS[kind].open(path, ctx);
}

export interface LiveSinkContext {
  config: ServeConfig;
  log: Logger;
  /** streamlens version (e.g. for a user-agent). */
  version: string;
}

export type LiveSinkFactory = (ctx: LiveSinkContext) => ResultSink | ResultSink[] | undefined;

export const LIVE_SINKS: readonly LiveSinkFactory[] = [
  ({ config, log }) => config.events.mqtt && new MqttSink({ settings: config.events.mqtt, log }),
  ({ config, log, version }) => config.events.webhooks.map((settings, index) => new WebhookSink({ settings, index, version, log })),
  ({ config, log }) => config.events.store && new EventStore({ settings: config.events.store, log }),
];

/** The live sinks the config enables, in registration order. */
export function openLiveSinks(ctx: LiveSinkContext): ResultSink[] {
  return LIVE_SINKS.flatMap((open) => open(ctx) ?? []);
}
