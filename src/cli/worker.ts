/** `streamlens worker`: runs queued analysis jobs (`analyze --queue`) from Redis. */
import { existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { numberOption, runCommand, UsageError, type Command } from './command.js';
import { analyzeInto, removePartials, sharedOptions, type OutputChoice } from './analyzeJobs.js';
import { resolveModelArg } from './modelArg.js';
import { JobWorker, PermanentJobError, type AnalyzeJobData, type JobProcessor } from '../cluster/jobQueue.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../config/schema.js';
import { OUTPUT_KINDS } from '../output/sinks.js';
import { urlScheme } from '../ingest/sourceUrl.js';
import { createLogger, levelFromEnv, type Logger } from '../log.js';

const help = `Usage: streamlens worker --queue <redis-url> [--concurrency <n>] [--lock-ms <ms>] [--name <name>]

Runs the analysis jobs that \`streamlens analyze --queue\` adds, until stopped. Each job writes
its outputs under temporary names (.<name>.part-<job>-<attempt>.<ext>) beside the final ones and
renames them when the input is done, so a reader never sees a partial file under a final name.

A worker that dies mid-job (killed, machine lost) stops renewing the job's lock; after --lock-ms
another worker takes the job again and runs it from the start (the dead attempt's temporary
files are removed). A job that fails is retried (3 attempts in all), except when the failure
would repeat anywhere (the input cannot be read or is not a video, the model cannot be loaded):
then it fails at once, with its reason (\`streamlens jobs\`).

Options:
  --queue <url>         the Redis of the queue (redis://host:port[/db])
  --concurrency <n>     jobs run at the same time (default 1); each gets its share of the cores
  --lock-ms <ms>        a job's lock, renewed every half of it (default 30000): how long a dead
                        worker's job waits before it runs elsewhere
  --name <name>         this worker's name in job listings (default <host name>-<pid>)
  -h, --help            this help

Stops on SIGINT/SIGTERM once the running jobs are done (a second signal: at once; the jobs then
run again elsewhere after --lock-ms). Logs are JSON lines on stderr (STREAMLENS_LOG_LEVEL).`;

function isOutputKind(k: string): k is OutputChoice['kind'] {
  return (OUTPUT_KINDS as readonly string[]).includes(k);
}

/** One job: the input into its outputs, atomically. Failures before the first frame are permanent. */
export function analyzeJob(log: Logger, concurrency: number): JobProcessor {
  return async (data: AnalyzeJobData, job) => {
    const outputs = data.outputs.map((o) => {
      if (!isOutputKind(o.kind)) throw new PermanentJobError(`unknown output kind "${o.kind}"`);
      return { kind: o.kind, path: o.path };
    });
    // Files an earlier attempt of this job left when its worker died.
    await removePartials(outputs, `${job.id}-`);
    if (urlScheme(data.input) === undefined && !existsSync(data.input)) throw new PermanentJobError(`input not found: ${data.input}`);
    let model: string;
    try {
      model = await resolveModelArg(data.model);
    } catch (err) {
      throw new PermanentJobError(err instanceof Error ? err.message : String(err));
    }
    for (const o of outputs) mkdirSync(dirname(o.path), { recursive: true });
    const o = data.options;
    const providers = o.providers?.filter((p): p is ExecutionProvider => (EXECUTION_PROVIDERS as readonly string[]).includes(p));
    const shared = sharedOptions({ ...o, providers, model, jobs: concurrency }, log);
    let started = false;
    try {
      const summary = await analyzeInto(data.input, outputs, shared, {
        signal: job.signal,
        atomic: { tag: `${job.id}-${job.attempt}` },
        onProgress: (done, total) => {
          started = true;
          job.progress({ done, total });
        },
      });
      if (summary.interrupted) throw new Error('interrupted: the worker is shutting down');
      return { frames: summary.frames, seconds: summary.seconds };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Probing the input and loading the model come before the first frame: those failures repeat anywhere.
      if (!started && !job.signal.aborted) throw new PermanentJobError(message);
      throw err;
    }
  };
}

function run(argv: string[]): Promise<number> {
  return runCommand('worker', async () => {
    const { values } = parseArgs({ args: argv, options: { queue: { type: 'string' }, concurrency: { type: 'string' }, 'lock-ms': { type: 'string' }, name: { type: 'string' } } });
    if (!values.queue || !/^rediss?:\/\/[^/\s]/.test(values.queue)) throw new UsageError('--queue <redis://host:port> is required');
    const concurrency = numberOption('concurrency', values.concurrency, 1, { min: 1, max: 64, integer: true });
    const lockMs = numberOption('lock-ms', values['lock-ms'], 30_000, { min: 1000, max: 3_600_000, integer: true });
    const log = createLogger({}, levelFromEnv('info'));
    const name = values.name ?? `${hostname()}-${process.pid}`;
    const worker = new JobWorker(values.queue, analyzeJob(log, concurrency), { concurrency, lockMs, maxStalled: 2, name, log });
    await worker.ready();
    process.stdout.write(`streamlens worker ${name} taking jobs from ${values.queue.replace(/\/\/[^@/]*@/, '//***@')} (concurrency ${concurrency})\n`);
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          log.warn({ signal }, 'second signal: stopping now');
          void worker.close(true).finally(() => resolve(130));
          return;
        }
        stopping = true;
        log.info({ signal }, 'finishing the running jobs, then stopping');
        worker.close().then(
          () => resolve(0),
          () => resolve(1),
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  });
}

export const command: Command = { summary: 'run queued analysis jobs (analyze --queue) from Redis', help, run };
