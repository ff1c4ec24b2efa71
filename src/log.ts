/**
 * Structured logs with pino: one JSON line per event on stderr (`{"level":"info","time":...,
 * "stream":"cam1",...,"msg":"..."}`), level from STREAMLENS_LOG_LEVEL (debug, info, warn, error,
 * silent; default info). Call sites use the small `Logger` interface below (pino's
 * `logger.info(fields, msg)` shape), so they do not depend on pino itself.
 */
import { pino, stdSerializers, type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  child(bindings: LogFields): Logger;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** STREAMLENS_LOG_LEVEL, or `fallback` when unset or not a known level. */
export function levelFromEnv(fallback: LogLevel = 'info'): LogLevel {
  const v = (process.env.STREAMLENS_LOG_LEVEL ?? '').toLowerCase();
  return (LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : fallback;
}

/** Errors as `{type, message}` (plus the stack at debug level); anything else as it is. */
function serializeError(err: unknown, withStack: boolean): unknown {
  if (!(err instanceof Error)) return err;
  const s = stdSerializers.err(err) as unknown as Record<string, unknown>;
  if (!withStack) delete s.stack;
  return s;
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (f, m) => p.debug(f, m),
    info: (f, m) => p.info(f, m),
    warn: (f, m) => p.warn(f, m),
    error: (f, m) => p.error(f, m),
    child: (b) => wrap(p.child(b)),
  };
}

/**
 * A logger with `bindings` on every line. `write` receives each line (newline included); by
 * default lines go synchronously to stderr, so nothing is lost when the process exits.
 */
export function createLogger(bindings: LogFields = {}, level: LogLevel = levelFromEnv(), write?: (line: string) => void): Logger {
  const withStack = level === 'debug';
  const destination: DestinationStream = write ? { write } : pino.destination({ fd: 2, sync: true });
  const p = pino(
    {
      level,
      base: { ...bindings },
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: (e: unknown) => serializeError(e, withStack) },
    },
    destination,
  );
  return wrap(p);
}

export const log: Logger = createLogger();
