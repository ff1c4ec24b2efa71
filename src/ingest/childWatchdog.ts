/**
 * Children die with this process, even when it is killed with SIGKILL. Node cannot ask Linux for
 * prctl(PR_SET_PDEATHSIG), and an 'exit' handler does not run on SIGKILL, so one small `sh` per
 * process watches instead: it reads "+pid" / "-pid" lines from a pipe whose writing end only this
 * process holds, and when that pipe closes (this process is gone, however it ended) it SIGKILLs
 * every pid still registered. The watchdog ignores SIGINT/SIGTERM/SIGHUP (a terminal's Ctrl-C hits
 * the whole process group) and exits on its own once the pipe closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

const SCRIPT = `trap '' INT TERM HUP
pids=' '
while read -r op pid; do
  case "$op" in
    +) pids="$pids$pid " ;;
    -) case "$pids" in *" $pid "*) pids="\${pids%% $pid *} \${pids#* $pid }" ;; esac ;;
  esac
done
for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
`;

let watchdog: ChildProcess | undefined;
const watched = new Set<number>();

/** The watchdog's pid (tests check that it exits with us). */
export function watchdogPid(): number | undefined {
  return watchdog?.pid;
}

/** Registers a child to be killed if this process dies; returns the function that unregisters it. */
export function watchChild(pid: number): () => void {
  watched.add(pid);
  send(`+ ${pid}`);
  return () => {
    if (!watched.delete(pid)) return;
    send(`- ${pid}`);
  };
}

function send(line: string): void {
  if (watchdog) (watchdog.stdin as Socket).write(`${line}\n`);
  else start(); // registers every watched pid
}

function start(): void {
  const child = spawn('/bin/sh', ['-c', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog = child;
  // Neither the watchdog nor its pipe keeps this process alive.
  child.unref();
  const stdin = child.stdin as Socket;
  stdin.unref();
  const lost = (): void => {
    if (watchdog !== child) return;
    watchdog = undefined;
  };
  // A watchdog that died (killed by someone) is replaced on the next registration, with every pid.
  stdin.on('error', lost);
  child.once('exit', lost);
  child.once('error', lost);
  for (const pid of watched) stdin.write(`+ ${pid}\n`);
}
