/**
 * The bench's CPU clock (bench/processCpu.ts): a child process's CPU time read from /proc, under
 * any command name, counted from when the clock started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childCpuSeconds, ProcessCpuClock } from '../bench/processCpu.js';
import { until } from './helpers/fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'streamlens-bench-cpu-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A node child under `name` that uses `cpuMs` of CPU, says "done" and then idles until killed (or exits, with `exit`). */
function burner(name: string, cpuMs: number, exit = false): { child: ChildProcess; done: Promise<void> } {
  const exe = join(dir, name);
  symlinkSync(process.execPath, exe);
  const then = exit ? '' : 'setInterval(()=>{},1e6)';
  const child = spawn(exe, ['-e', `const t=process.cpuUsage();while((u=>u.user+u.system)(process.cpuUsage(t))<${cpuMs * 1000});console.log('done');${then}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const done = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('done') && resolve());
    if (!exit) child.on('exit', (code) => reject(new Error(`burner exited with ${code}`)));
  });
  return { child, done };
}

describe('the CPU clock of the process and its children', () => {
  it('reads a child by its pid whatever its name holds (spaces, parentheses)', async () => {
    const { child, done } = burner('a) b (c', 300);
    await done;
    const s = childCpuSeconds().get(child.pid!);
    // 300 ms of its own loop plus node's start-up; ticks are 10 ms.
    expect(s).toBeGreaterThanOrEqual(0.29);
    expect(s).toBeLessThan(3);
    // Not a child of some other process.
    expect(childCpuSeconds(child.pid!).size).toBe(0);
  });

  it('counts what children used since start(), and a child started meanwhile from zero', async () => {
    const first = burner('first', 200);
    await first.done;
    const clock = new ProcessCpuClock();
    // The first child is idle now: what it used before start() is not counted.
    const idle = clock.elapsed();
    const second = burner('second', 400);
    await second.done;
    await until(() => (childCpuSeconds().get(second.child.pid!) ?? 0) >= 0.39, 10_000, 'the second child counted');
    const elapsed = clock.elapsed();
    expect(elapsed - idle).toBeGreaterThanOrEqual(0.39);
    expect(idle).toBeLessThan(0.2);
  });

  it('keeps the time of a child that ended (ffmpeg at the end of a file)', async () => {
    const clock = new ProcessCpuClock();
    const { child } = burner('ends', 300, true);
    await new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Node has reaped it: its time is in this process's cutime + cstime now.
    await until(() => !childCpuSeconds().has(child.pid!), 10_000, 'the child reaped');
    expect(clock.elapsed()).toBeGreaterThanOrEqual(0.29);
  });
});
