/**
 * CPU time of this process (every thread: the inference worker and onnxruntime's own threads
 * included) plus that of its child processes (ffmpeg), live or ended, read from /proc. CPU time is
 * what a piece of work costs whatever else runs on the cores, so it can be compared on a loaded
 * machine where wall-clock latency cannot. Without /proc (not Linux) the children count as nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux architecture Node runs on). */
const TICKS_PER_SECOND = 100;

/** The fields of /proc/PID/stat after the command name, from field 3 (state) on; undefined when unreadable. */
function statFields(pid: string | number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile, or no /proc
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it start past its last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Field n (1-based, as in proc(5)) of fields from statFields, in seconds. */
const seconds = (f: string[], n: number): number => Number(f[n - 3]) / TICKS_PER_SECOND;

/** user + system seconds of each live child of `ppid`, by pid. */
export function childCpuSeconds(ppid = process.pid): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    const f = statFields(pid);
    // ppid is field 4; utime and stime fields 14 and 15.
    if (!f || Number(f[4 - 3]) !== ppid) continue;
    out.set(Number(pid), seconds(f, 14) + seconds(f, 15));
  }
  return out;
}

/** user + system seconds of this process's children that ended and were waited for (cutime, cstime). */
export function endedChildrenCpuSeconds(): number {
  const f = statFields(process.pid);
  return f ? seconds(f, 16) + seconds(f, 17) : 0;
}

/** A CPU clock of this process and its children: `elapsed()` is the CPU seconds they used since `start()`. */
export class ProcessCpuClock {
  private self = process.cpuUsage();
  private ended = endedChildrenCpuSeconds();
  private live = childCpuSeconds();

  start(): void {
    this.self = process.cpuUsage();
    this.ended = endedChildrenCpuSeconds();
    this.live = childCpuSeconds();
  }

  elapsed(): number {
    const { self, children } = this.split();
    return self + children;
  }

  /** elapsed(), as this process's seconds and its children's (ffmpeg's). */
  split(): { self: number; children: number } {
    const self = process.cpuUsage(this.self);
    // A child that ended since start() moved all its time into `ended`: what it had used before start() comes off.
    const live = childCpuSeconds();
    let children = endedChildrenCpuSeconds() - this.ended;
    for (const [pid, s] of this.live) if (!live.has(pid)) children -= s;
    // A child started since start() counts from zero.
    for (const [pid, s] of live) children += s - (this.live.get(pid) ?? 0);
    return { self: (self.user + self.system) / 1e6, children };
  }
}
