/** What every `streamlens <command>` module exports, and the argument handling they share. */
import { readFileSync } from 'node:fs';

export interface Command {
  summary: string;
  help: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Bad arguments: the command exits with status 2 (other failures: 1). */
export class UsageError extends Error {}

function isUsageError(err: unknown): boolean {
  // node:util parseArgs throws ERR_PARSE_ARGS_* for unknown options and missing values.
  return err instanceof UsageError || String((err as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS');
}

/**
 * Runs a command's body: an error becomes one line on stderr (`streamlens <name>: <message>`) and
 * exit status 2 for bad usage, 1 for anything else.
 */
export async function runCommand(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    process.stderr.write(`streamlens ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return isUsageError(err) ? 2 : 1;
  }
}

/** `--<name>` as a number in [min, max] (and a whole one with `integer`); `fallback` when not given. */
export function numberOption(name: string, raw: string | undefined, fallback: number, range: { min: number; max: number; integer?: boolean }): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const { min, max } = range;
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${raw}"`);
  if (range.integer && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  return v;
}

/** `--<name>` as a comma-separated list of `allowed` values; undefined when not given. */
export function choiceListOption<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (items.length === 0 || bad.length) throw new UsageError(`--${name} must be a comma-separated list of ${allowed.join(', ')}, got "${raw}"`);
  return items as T[];
}

/** The package's version (package.json two folders above the built dist/src/cli/). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
