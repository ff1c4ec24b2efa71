/**
 * Progress of `analyze` over many inputs: one line per file and an overall bar with an ETA.
 * On a terminal, finished files scroll up as permanent lines while the running files and the
 * overall bar are redrawn below them; elsewhere (a log, CI) each file gets one line when it ends.
 */
import { formatDuration } from './progress.js';

export type FileState = 'waiting' | 'running' | 'done' | 'failed';

export interface FileProgress {
  name: string;
  state: FileState;
  done: number;
  /** Frames in the file, when known (from the probe). */
  total?: number;
  /** When the file started, ms (performance.now()). */
  startedMs?: number;
  endedMs?: number;
  /** Why it failed, or what it wrote. */
  note?: string;
}

function bar(frac: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, frac)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

const seconds = (ms: number): number => ms / 1000;

/** One file's line. */
export function fileLine(f: FileProgress, position: number, count: number, nowMs: number): string {
  const tag = `[${String(position).padStart(String(count).length)}/${count}] ${f.name}`;
  const elapsed = f.startedMs !== undefined ? seconds((f.endedMs ?? nowMs) - f.startedMs) : 0;
  const fps = elapsed > 0 ? f.done / elapsed : 0;
  switch (f.state) {
    case 'waiting':
      return `${tag}  waiting`;
    case 'failed':
      return `${tag}  FAILED: ${f.note ?? 'unknown error'}`;
    case 'done':
      return `${tag}  done: ${f.done} frames in ${elapsed.toFixed(1)} s (${fps.toFixed(1)} fps)${f.note ? ` -> ${f.note}` : ''}`;
    case 'running': {
      if (!f.total) return `${tag}  ${f.done} frames  ${fps.toFixed(1)} fps`;
      const eta = fps > 0 ? (f.total - f.done) / fps : Infinity;
      return `${tag}  ${bar(f.done / f.total, 20)} ${f.done}/${f.total}  ${fps.toFixed(1)} fps  ETA ${formatDuration(eta)}`;
    }
  }
}

/**
 * The overall line: files finished, frames, speed, and an ETA over the frames still to analyse
 * (files not probed yet are assumed as long as the mean of those that are).
 */
export function overallLine(files: readonly FileProgress[], elapsedSeconds: number): string {
  const finished = files.filter((f) => f.state === 'done' || f.state === 'failed');
  const failed = files.filter((f) => f.state === 'failed').length;
  const running = files.filter((f) => f.state === 'running').length;
  const frames = files.reduce((n, f) => n + f.done, 0);
  const known = files.filter((f) => f.state !== 'failed' && f.total !== undefined);
  const meanTotal = known.length ? known.reduce((n, f) => n + f.total!, 0) / known.length : 0;
  // A finished file counts what it did; a failed one counts nothing more to do.
  const expected = files.reduce((n, f) => n + (f.state === 'done' || f.state === 'failed' ? f.done : (f.total ?? meanTotal)), 0);
  const fps = elapsedSeconds > 0 ? frames / elapsedSeconds : 0;
  const frac = expected > 0 ? frames / expected : finished.length / Math.max(1, files.length);
  const eta = finished.length === files.length ? 0 : fps > 0 && meanTotal > 0 ? (expected - frames) / fps : Infinity;
  const parts = [`${finished.length}/${files.length} files`];
  if (running) parts.push(`${running} running`);
  if (failed) parts.push(`${failed} failed`);
  return `overall ${bar(frac, 30)} ${parts.join(', ')}  ${frames} frames  ${fps.toFixed(1)} fps  ETA ${formatDuration(eta)}`;
}

export class BatchProgress {
  readonly files: FileProgress[];
  private readonly started = performance.now();
  /** Lines of the live block drawn last (redrawn in place on a terminal). */
  private liveLines = 0;
  private lastDraw = 0;

  constructor(
    names: readonly string[],
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly intervalMs = 200,
  ) {
    this.files = names.map((name) => ({ name, state: 'waiting', done: 0 }));
  }

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  start(i: number): void {
    Object.assign(this.files[i], { state: 'running', startedMs: performance.now() });
    this.draw(true);
  }

  update(i: number, done: number, total: number | undefined): void {
    Object.assign(this.files[i], { done, total });
    this.draw(false);
  }

  finish(i: number, note?: string): void {
    this.end(i, 'done', note);
  }

  fail(i: number, reason: string): void {
    this.end(i, 'failed', reason);
  }

  /** The last overall line (call once everything ended). */
  close(): void {
    this.clearLive();
    this.out.write(overallLine(this.files, seconds(performance.now() - this.started)) + '\n');
  }

  private end(i: number, state: 'done' | 'failed', note: string | undefined): void {
    const f = this.files[i];
    Object.assign(f, { state, note, endedMs: performance.now() });
    f.startedMs ??= f.endedMs;
    this.clearLive();
    // Finished files are printed once, for good; on a terminal the live block follows again.
    this.out.write(fileLine(f, i + 1, this.files.length, performance.now()) + '\n');
    this.draw(true);
  }

  private clearLive(): void {
    if (this.tty && this.liveLines > 0) this.out.write(`\x1b[${this.liveLines}A\x1b[J`);
    this.liveLines = 0;
  }

  private draw(force: boolean): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    const lines = this.files.flatMap((f, i) => (f.state === 'running' ? [fileLine(f, i + 1, this.files.length, now)] : []));
    lines.push(overallLine(this.files, seconds(now - this.started)));
    this.clearLive();
    this.out.write(lines.map((l) => `${l}\x1b[K\n`).join(''));
    this.liveLines = lines.length;
  }
}
