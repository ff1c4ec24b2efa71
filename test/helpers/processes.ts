/** Process checks for tests that must prove no child (ffmpeg, a server) is left behind. */
import { execFileSync } from 'node:child_process';

/** Direct children of `pid` (pgrep -P); empty when there are none. */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process with this pid exists (signal 0 probes without touching it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
