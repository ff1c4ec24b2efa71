/**
 * Recorded-video analysis as a queue on Redis (BullMQ): `analyze --queue` adds one job per input,
 * `streamlens worker` runs them, `streamlens jobs` and GET /api/jobs list them.
 *
 * - A worker holds a lock on each job it runs and renews it every lockMs/2; a worker that dies
 *   stops renewing, and after lockMs another worker's stalled-job check puts the job back in the
 *   queue (BullMQ's stalled-job recovery), up to `maxStalled` times.
 * - A job that fails is retried (`attempts`, backoff) unless its failure is permanent
 *   (PermanentJobError: unreadable input, bad model): that fails it once, with its reason.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { AnalyticsSettings } from '../config.js';
import type { MotionConfig } from '../config/schema.js';

const QUEUE = 'analyze';
const PREFIX = 'streamlens';

/** One input to analyse into its outputs (paths as every worker sees them: shared storage). */
export interface AnalyzeJobData {
  input: string;
  /** Output kinds (analyze --format / --render / --report) and their final paths. */
  outputs: Array<{ kind: string; path: string }>;
  /** Model path, or a built-in model's name (built where the job runs). */
  model: string;
  options: {
    conf: number;
    classes?: number[];
    batch: number;
    track: boolean;
    providers?: string[];
    threads: number;
    decodeNice: number;
    crf: number;
    preset: string;
    /** Zones and lines (analyze --analytics), as validated where the job was added. */
    analytics?: AnalyticsSettings;
    /** Motion gating (analyze --motion) with its knobs. */
    motion?: MotionConfig;
  };
}

export interface AnalyzeJobResult {
  frames: number;
  seconds: number;
}

export interface JobProgress {
  done: number;
  total?: number;
}

/** A job as `streamlens jobs` and GET /api/jobs show it. */
export interface JobSummary {
  id: string;
  input: string;
  state: string;
  progress: JobProgress | null;
  /** Attempts that ended (failed or stalled); the running one is not counted. */
  attempts: number;
  error?: string;
  result?: AnalyzeJobResult;
  outputs: string[];
  createdAt: string;
  finishedAt?: string;
  worker?: string;
}

/** What serve needs of the queue. */
export interface JobList {
  list(): Promise<JobSummary[]>;
  close(): Promise<void>;
}

/** A failure that would happen again on any worker (bad input, bad model): the job fails now, not after retries. */
export class PermanentJobError extends Error {}

export interface QueueKnobs {
  /** Tries of a job whose failure is not permanent. */
  attempts: number;
}

export const DEFAULT_ATTEMPTS = 3;

/**
 * Workers' blocking commands need a connection that never gives up on a request; a long-lived
 * reader (a node's GET /api/jobs) fails a request fast but keeps reconnecting; a command (`jobs`,
 * `analyze --queue`) gives up on an unreachable Redis after a few seconds.
 */
function connection(url: string, role: 'worker' | 'reader' | 'command'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    connectionName: `streamlens-queue-${role}`,
    ...(role === 'command' ? { retryStrategy: (times: number) => (times > 5 ? null : 200 * times) } : {}),
  });
}

function summary(job: Job<AnalyzeJobData, AnalyzeJobResult>, state: string): JobSummary {
  const p = job.progress;
  const progress = typeof p === 'object' && p !== null && 'done' in p ? (p as JobProgress) : null;
  return {
    id: String(job.id),
    input: job.data.input,
    state,
    progress,
    attempts: job.attemptsMade,
    ...(job.failedReason ? { error: job.failedReason } : {}),
    ...(job.returnvalue ? { result: job.returnvalue } : {}),
    outputs: job.data.outputs.map((o) => o.path),
    createdAt: new Date(job.timestamp).toISOString(),
    ...(job.finishedOn ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
    ...(job.processedBy ? { worker: job.processedBy } : {}),
  };
}

const STATES = ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'] as const;

export class JobQueue implements JobList {
  private readonly redis: Redis;
  private readonly queue: Queue<AnalyzeJobData, AnalyzeJobResult>;

  /** `command`: give up after a few seconds when Redis cannot be reached (else keep reconnecting). */
  constructor(url: string, opts: { command?: boolean } = {}) {
    this.redis = connection(url, opts.command ? 'command' : 'reader');
    this.redis.on('error', () => undefined);
    this.queue = new Queue<AnalyzeJobData, AnalyzeJobResult>(QUEUE, { connection: this.redis, prefix: PREFIX });
    this.queue.on('error', () => undefined);
  }

  async enqueue(jobs: AnalyzeJobData[], knobs: QueueKnobs = { attempts: DEFAULT_ATTEMPTS }): Promise<string[]> {
    const added = await this.queue.addBulk(
      jobs.map((data) => ({ name: 'analyze', data, opts: { attempts: knobs.attempts, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { count: 10_000 }, removeOnFail: { count: 10_000 } } })),
    );
    return added.map((j) => String(j.id));
  }

  /** Every job kept (newest first): running, waiting, done and failed. */
  async list(): Promise<JobSummary[]> {
    const out: JobSummary[] = [];
    for (const state of STATES) {
      const jobs = (await this.queue.getJobs(state, 0, 999)) as Array<Job<AnalyzeJobData, AnalyzeJobResult>>;
      for (const job of jobs) if (job) out.push(summary(job, state === 'prioritized' ? 'waiting' : state));
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : Number(b.id) - Number(a.id)));
  }

  async get(id: string): Promise<JobSummary | undefined> {
    const job = (await this.queue.getJob(id)) as Job<AnalyzeJobData, AnalyzeJobResult> | undefined;
    return job ? summary(job, await job.getState()) : undefined;
  }

  /**
   * Waits until every job in `ids` completed or failed for good; `onChange` gets each job's summary
   * when its progress or state changes.
   */
  async wait(ids: string[], onChange: (job: JobSummary) => void, pollMs = 500): Promise<JobSummary[]> {
    const last = new Map<string, string>();
    for (;;) {
      const jobs = await Promise.all(ids.map((id) => this.get(id)));
      for (const [i, job] of jobs.entries()) {
        const j = job ?? { id: ids[i], input: '?', state: 'unknown', progress: null, attempts: 0, outputs: [], createdAt: '' };
        const key = JSON.stringify([j.state, j.progress, j.attempts]);
        if (last.get(j.id) !== key) {
          last.set(j.id, key);
          onChange(j);
        }
      }
      if (jobs.every((j) => !j || j.state === 'completed' || j.state === 'failed' || j.state === 'unknown')) return jobs.flatMap((j) => j ?? []);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}

export interface WorkerKnobs {
  concurrency: number;
  /** A job's lock lasts this long unless renewed: a dead worker's job runs again after about this long, ms. */
  lockMs: number;
  /** A job whose worker died this many times fails. */
  maxStalled: number;
  /** The worker's name in job listings. */
  name: string;
  log: Logger;
}

export type JobProcessor = (data: AnalyzeJobData, job: { id: string; attempt: number; progress(p: JobProgress): void; signal: AbortSignal }) => Promise<AnalyzeJobResult>;

/** Runs jobs until close(); close waits for the running ones to finish (or aborts them with `force`). */
export class JobWorker {
  private readonly redis: Redis;
  private readonly worker: Worker<AnalyzeJobData, AnalyzeJobResult>;
  private readonly aborts = new Set<AbortController>();

  constructor(url: string, processor: JobProcessor, knobs: WorkerKnobs) {
    this.redis = connection(url, 'worker');
    this.redis.on('error', () => undefined);
    const log = knobs.log;
    this.worker = new Worker<AnalyzeJobData, AnalyzeJobResult>(
      QUEUE,
      async (job) => {
        const abort = new AbortController();
        this.aborts.add(abort);
        const attempt = job.attemptsStarted;
        log.info({ job: job.id, input: job.data.input, attempt }, 'job started');
        let last = 0;
        try {
          return await processor(job.data, {
            id: String(job.id),
            attempt,
            signal: abort.signal,
            progress: (p) => {
              // At most a few progress writes per second per job.
              const now = Date.now();
              if (now - last < 250 && p.done !== p.total) return;
              last = now;
              void job.updateProgress(p as unknown as object).catch(() => undefined);
            },
          });
        } catch (err) {
          if (err instanceof PermanentJobError) throw new UnrecoverableError(err.message);
          throw err;
        } finally {
          this.aborts.delete(abort);
        }
      },
      { connection: this.redis, prefix: PREFIX, concurrency: knobs.concurrency, lockDuration: knobs.lockMs, stalledInterval: Math.max(1000, Math.round(knobs.lockMs / 2)), maxStalledCount: knobs.maxStalled, name: knobs.name },
    );
    this.worker.on('completed', (job) => log.info({ job: job.id, input: job.data.input }, 'job completed'));
    this.worker.on('failed', (job, err) => log.warn({ job: job?.id, input: job?.data.input, err: err.message, attempts: job?.attemptsMade }, 'job failed'));
    this.worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
  }

  /** Resolves once the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stops taking jobs; running ones finish (or are aborted when `force`, and run again elsewhere). */
  async close(force = false): Promise<void> {
    if (force) for (const a of this.aborts) a.abort();
    await this.worker.close(force);
    this.redis.disconnect();
  }
}
