/**
 * Minimal structured logger: one JSON line per event on stderr, level from STREAMLENS_LOG_LEVEL
 * (debug, info, warn, error, silent; default info). The interface mirrors pino's
 * `logger.info(fields, msg)` so it can be swapped for pino without touching call sites.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  child(bindings: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function levelFromEnv(): LogLevel {
  const v = (process.env.STREAMLENS_LOG_LEVEL ?? 'info').toLowerCase();
  return v in RANK ? (v as LogLevel) : 'info';
}

function errorFields(fields: LogFields): LogFields {
  const err = fields.err;
  if (err instanceof Error) return { ...fields, err: { name: err.name, message: err.message } };
  return fields;
}

export function createLogger(bindings: LogFields = {}, level: LogLevel = levelFromEnv(), write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (lvl: Exclude<LogLevel, 'silent'>, fields: LogFields, msg: string): void => {
    if (RANK[lvl] < RANK[level]) return;
    write(JSON.stringify({ time: Date.now(), level: lvl, ...bindings, ...errorFields(fields), msg }) + '\n');
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
    child: (b) => createLogger({ ...bindings, ...b }, level, write),
  };
}

export const log: Logger = createLogger();
