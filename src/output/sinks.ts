/**
 * THE registration point of result sinks (see sink.ts). A new output is one file implementing
 * ResultSink plus one line here:
 *
 *  - FILE_SINKS: `analyze --format <key>` (and the format guessed from --out);
 *  - LIVE_SINKS: outputs of `serve`, each enabled by its own section of the config (undefined when
 *    it is not configured, several for a list). serve adds its own sinks first (the WebSocket
 *    gateway, the snapshot cache, the metrics).
 */
import type { ServeConfig } from '../config.js';
import type { Logger } from '../log.js';
import { jsonlLine, motLines, ResultFileSink } from './resultFiles.js';
import type { ResultSink } from './sink.js';
import { EventStore } from './events/eventStore.js';
import { MqttSink } from './events/mqttSink.js';
import { WebhookSink } from './events/webhookSink.js';

export type FileSinkFactory = (path: string) => ResultSink;

export const FILE_SINKS = {
  jsonl: (path) => new ResultFileSink('jsonl', path, jsonlLine),
  mot: (path) => new ResultFileSink('mot', path, motLines),
} satisfies Record<string, FileSinkFactory>;

export type ResultFormat = keyof typeof FILE_SINKS;

export const RESULT_FORMATS = Object.keys(FILE_SINKS) as ResultFormat[];

export function isResultFormat(v: string): v is ResultFormat {
  return Object.hasOwn(FILE_SINKS, v);
}

/** The file sink of `format` writing `path`. */
export function openFileSink(format: ResultFormat, path: string): ResultSink {
  return FILE_SINKS[format](path);
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
