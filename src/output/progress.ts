/** A one-line progress bar for terminals and the final summary line. */

export interface ProgressSnapshot {
  done: number;
  total?: number;
  elapsedSeconds: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const r = Math.floor(s % 60);
  return `${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`;
}

export function progressLine(p: ProgressSnapshot, width = 30): string {
  const fps = p.elapsedSeconds > 0 ? p.done / p.elapsedSeconds : 0;
  if (!p.total) return `${p.done} frames  ${fps.toFixed(1)} fps  ${formatDuration(p.elapsedSeconds)}`;
  const frac = Math.min(1, p.done / p.total);
  const filled = Math.round(frac * width);
  const eta = fps > 0 ? (p.total - p.done) / fps : Infinity;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}  ${fps.toFixed(1)} fps  ETA ${formatDuration(eta)}`;
}

export function summaryLine(frames: number, seconds: number): string {
  const fps = seconds > 0 ? frames / seconds : 0;
  return `analyzed ${frames} frames in ${seconds.toFixed(2)} s (${fps.toFixed(1)} fps)`;
}

/** Redraws at most every `intervalMs` on a TTY; silent elsewhere. */
export class ProgressBar {
  private last = 0;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly intervalMs = 200,
  ) {}

  get enabled(): boolean {
    return this.out.isTTY === true;
  }

  update(p: ProgressSnapshot, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    this.out.write(`\r${progressLine(p)}\x1b[K`);
  }

  finish(): void {
    if (this.enabled) this.out.write('\n');
  }
}
