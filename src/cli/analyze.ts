/**
 * `streamlens analyze`: every frame of one or many recordings through the model (and tracker) into
 * result files, an HTML report and an annotated video.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { choiceListOption, numberOption, runCommand, UsageError, type Command } from './command.js';
import { ProgressBar, summaryLine } from '../output/progress.js';
import { BatchProgress } from '../output/batchProgress.js';
import { resolveModelArg } from './modelArg.js';
import { ConfigError, parseAnalytics, parseMotion } from '../config.js';
import { DEFAULT_MODEL, DEFAULT_MOTION, DEFAULT_STREAM, EXECUTION_PROVIDERS, type AnalyticsSettings, type MotionConfig } from '../config/schema.js';
import { urlScheme } from '../ingest/sourceUrl.js';
import { FILE_SINKS, isResultFormat, RESULT_FORMATS, type OutputKind } from '../output/sinks.js';
import { X264_PRESETS } from '../ingest/ffmpeg.js';
import { DEFAULT_CRF, DEFAULT_PRESET } from '../output/render/videoRenderer.js';
import { log } from '../log.js';
import { analyzeInto, runPool, sharedOptions, type AnalysisChoices, type OutputChoice, type SharedOptions } from './analyzeJobs.js';
import { JobQueue, type AnalyzeJobData } from '../cluster/jobQueue.js';
import { isBuiltinModel } from '../tools/modelgen/index.js';
import { expandInputs, outputBaseNames } from './analyzeInputs.js';

const help = `Usage: streamlens analyze <input> --model <model> [--out <file>] [--render <video>] [--report <html>] [--analytics <json> --events <file>] [options]
       streamlens analyze <input>... --model <model> --out-dir <dir> [--format <list>] [--render] [--report] [options]

Runs every decoded frame of recorded videos (files or URLs ffmpeg can read) through the model
and writes what was found:
  --out <file>          results, written incrementally: one JSON line per frame (jsonl),
                        MOTChallenge rows (mot) or a COCO file (coco)
  --render <video>      the video with boxes, labels, scores, track ids and trails, masks and the
                        analytics zones and lines drawn on every frame (H.264, source size and
                        frame rate, the source's audio copied)
  --report <html>       one self-contained HTML page: the input, the speed, detections per class
                        over time, every track with a picture of its best detection, line/zone
                        counts and events (linked into the rendered video when there is one)
  --events <file>       the events of the --analytics zones and lines, one JSON object per line,
                        in order (docs/analytics.md); with --out-dir: --format events

Many inputs: files, folders (their video files) and glob patterns; each input goes to
<dir>/<name>.<ext> for every chosen output (jsonl, txt, coco.json, mp4, html). A failing input
is reported and the others go on; the exit status is then 1 and names it.

Options:
  --model <model>       ONNX file, or a built-in model name (synthetic-det, synthetic-seg, ...)
  --format <fmt>        ${RESULT_FORMATS.join(' | ')} (default: mot when --out ends in .txt, else jsonl);
                        with --out-dir a comma-separated list (default jsonl, or none when
                        --render or --report is given)
  --out-dir <dir>       many-input mode (created when missing); --render and --report then take
                        no value
  --analytics <json>    zones and lines (the JSON of a stream's "analytics"): events, counts, and
                        the zones and lines drawn in --render and --report; needs the tracker
  --crf <n>             rendered video quality, x264 CRF 0..51 (default ${DEFAULT_CRF}; lower is better and bigger)
  --preset <name>       rendered video x264 preset, ${X264_PRESETS[0]} ... ${X264_PRESETS[X264_PRESETS.length - 1]} (default
                        ${DEFAULT_PRESET}: half the CPU of veryfast; veryfast --crf 23 makes files about half
                        the size for twice the encoder's CPU)
  --jobs <n>            inputs analysed at the same time (default 1); each gets its share of the
                        cores for ONNX Runtime unless --threads says otherwise
  --conf <x>            confidence threshold (default ${DEFAULT_STREAM.conf})
  --classes <ids>       comma-separated class ids to keep (default: all)
  --batch <n>           frames per inference call (default ${DEFAULT_MODEL.maxBatch}; 1 for fixed-batch models)
  --no-track            do not run the tracker (no track ids, trails or track list)
  --motion              motion gating: run the detector only on frames with motion, on moving or
                        just lost tracked objects and every keyframe; other frames carry the last
                        detections forward ("inferred": false in jsonl). docs/motion.md
  --motion-threshold <n>          colour change that counts, levels 1..255 (default ${DEFAULT_MOTION.threshold})
  --motion-min-area <x>           smallest moving region, fraction of the frame (default ${DEFAULT_MOTION.minArea})
  --motion-keyframe-seconds <s>   the detector runs at least this often (default ${DEFAULT_MOTION.keyframeSeconds})
  --motion-background-seconds <s> time constant of the background (default ${DEFAULT_MOTION.backgroundSeconds})
  --motion-regions                also run the detector on windows of the source frame around the
                                  motion, at its own pixels (small objects in 4K; more detector runs)
  --motion-mask <json>            polygons whose changes are not motion (a burnt-in clock, trees):
                                  a file {"mask": [[[x, y], ...], ...], "coordinates": "pixels"|"normalized"}
  --providers <list>    execution providers in order of preference (default ${DEFAULT_MODEL.providers.join(',')})
  --threads <n>         ONNX Runtime intra-op threads (default 0: ONNX Runtime's choice; with
                        --jobs N, the cores divided by N)
  --decode-nice <n>     ffmpeg's niceness 0..19 for decoding and encoding (default 19: ffmpeg
                        takes the cycles inference leaves; 0 runs it at the same priority)
  --queue <redis-url>   do not analyse here: add one job per input to the queue on that Redis
                        (needs --out-dir; paths must be the same on every worker: shared
                        storage) and print the job ids; \`streamlens worker\` runs them, writing
                        each output under a temporary name renamed when complete
  --wait                with --queue: show the jobs' progress until all are done (exit 1 when
                        one failed)
  -h, --help            this help

Exit status: 0 done, 1 failed (reason on stderr; with many inputs: some failed), 2 bad usage,
130 interrupted.`;


/** With --out-dir, --render and --report are switches: they must not swallow the next input. */
function switchesInDirMode(argv: string[]): string[] {
  if (!argv.some((a) => a === '--out-dir' || a.startsWith('--out-dir='))) return argv;
  return argv.map((a) => (a === '--render' || a === '--report' ? `${a}=` : a));
}

interface Plan {
  /** One entry per input: the outputs it is written to. */
  jobs: Array<{ input: string; outputs: OutputChoice[] }>;
  /** Named inputs that do not exist (reported as failed). */
  missing: Array<{ arg: string; reason: string }>;
  many: boolean;
}

async function plan(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<Plan> {
  const outDir = values['out-dir'] as string | undefined;
  const render = values.render as string | undefined;
  const report = values.report as string | undefined;
  if (positionals.length === 0) throw new UsageError('expected an input (a video file, folder, glob or URL); see --help');
  if (outDir === undefined) {
    if (positionals.length > 1) throw new UsageError('several inputs need --out-dir <dir> (each input gets its own files there)');
    const out = values.out as string | undefined;
    const events = values.events as string | undefined;
    if (!out && !render && !report && !events) throw new UsageError('say where results go: --out <file>, --render <video>, --report <html> and/or --events <file>');
    const outputs: OutputChoice[] = [];
    if (events) outputs.push({ kind: 'events', path: events });
    if (out) {
      const format = (values.format as string | undefined) ?? (out.endsWith('.txt') ? 'mot' : 'jsonl');
      if (!isResultFormat(format)) throw new UsageError(`--format must be ${RESULT_FORMATS.join(', ')}, got "${format}"`);
      outputs.push({ kind: format, path: out });
    } else if (values.format !== undefined) throw new UsageError('--format names the format of --out: give --out too');
    if (render) outputs.push({ kind: 'render', path: render });
    if (report) outputs.push({ kind: 'report', path: report });
    const input = positionals[0];
    if (urlScheme(input) === undefined && !existsSync(input)) throw new Error(`input not found: ${input}`);
    return { jobs: [{ input, outputs }], missing: [], many: false };
  }
  if (values.out !== undefined) throw new UsageError('--out names one file: with --out-dir the files are named after the inputs');
  if (values.events !== undefined) throw new UsageError('--events names one file: with --out-dir use --format events (<dir>/<name>.events.jsonl)');
  if ((render && render !== '') || (report && report !== '')) throw new UsageError('with --out-dir, --render and --report take no file name (they write <dir>/<name>.mp4 and .html)');
  const kinds: OutputKind[] = [];
  const formats = values.format === undefined ? (render !== undefined || report !== undefined ? [] : ['jsonl']) : String(values.format).split(',').map((f) => f.trim());
  for (const f of formats) {
    if (!isResultFormat(f)) throw new UsageError(`--format must be a comma-separated list of ${RESULT_FORMATS.join(', ')}, got "${f}"`);
    if (!kinds.includes(f)) kinds.push(f);
  }
  if (render !== undefined) kinds.push('render');
  if (report !== undefined) kinds.push('report');
  const { inputs, missing } = await expandInputs(positionals);
  mkdirSync(outDir, { recursive: true });
  const names = outputBaseNames(inputs);
  return {
    jobs: inputs.map((input, i) => ({ input, outputs: kinds.map((kind) => ({ kind, path: join(outDir, `${names[i]}.${FILE_SINKS[kind].ext}`) })) })),
    missing,
    many: true,
  };
}

function run(argv: string[]): Promise<number> {
  return runCommand('analyze', async () => {
    const { values, positionals } = parseArgs({
      args: switchesInDirMode(argv),
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        out: { type: 'string' },
        'out-dir': { type: 'string' },
        format: { type: 'string' },
        render: { type: 'string' },
        report: { type: 'string' },
        crf: { type: 'string' },
        preset: { type: 'string' },
        jobs: { type: 'string' },
        conf: { type: 'string' },
        classes: { type: 'string' },
        batch: { type: 'string' },
        'no-track': { type: 'boolean' },
        motion: { type: 'boolean' },
        'motion-threshold': { type: 'string' },
        'motion-min-area': { type: 'string' },
        'motion-keyframe-seconds': { type: 'string' },
        'motion-background-seconds': { type: 'string' },
        'motion-regions': { type: 'boolean' },
        'motion-mask': { type: 'string' },
        providers: { type: 'string' },
        threads: { type: 'string' },
        'decode-nice': { type: 'string' },
        analytics: { type: 'string' },
        events: { type: 'string' },
        queue: { type: 'string' },
        wait: { type: 'boolean' },
      },
    });
    if (!values.model) throw new UsageError('--model is required (an .onnx file or a built-in model name)');
    const conf = numberOption('conf', values.conf, DEFAULT_STREAM.conf, { min: 0, max: 1 });
    const batch = numberOption('batch', values.batch, DEFAULT_MODEL.maxBatch, { min: 1, max: 64, integer: true });
    const threads = numberOption('threads', values.threads, DEFAULT_MODEL.intraOpThreads, { min: 0, max: 256, integer: true });
    const decodeNice = numberOption('decode-nice', values['decode-nice'], 19, { min: 0, max: 19, integer: true });
    const crf = numberOption('crf', values.crf, DEFAULT_CRF, { min: 0, max: 51, integer: true });
    const jobs = numberOption('jobs', values.jobs, 1, { min: 1, max: 64, integer: true });
    const preset = values.preset ?? DEFAULT_PRESET;
    if (!(X264_PRESETS as readonly string[]).includes(preset)) throw new UsageError(`--preset must be one of ${X264_PRESETS.join(', ')}, got "${preset}"`);
    const providers = choiceListOption('providers', values.providers, EXECUTION_PROVIDERS);
    const classes = values.classes?.split(',').map((s) => {
      const v = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(v) || v < 0) throw new UsageError(`--classes must be comma-separated class ids, got "${values.classes}"`);
      return v;
    });
    if (values.queue !== undefined && !/^rediss?:\/\/[^/\s]/.test(values.queue)) throw new UsageError(`--queue must be a redis:// or rediss:// URL, got "${values.queue}"`);
    if (values.wait && values.queue === undefined) throw new UsageError('--wait waits for queued jobs: give --queue too');
    const p = await plan(values, positionals);
    const wantsEvents = p.jobs.some((j) => j.outputs.some((o) => o.kind === 'events'));
    if (wantsEvents && !values.analytics) throw new UsageError('events need --analytics (the zones and lines that make them)');
    if (values.analytics && values['no-track']) throw new UsageError('--analytics needs the tracker (remove --no-track)');
    const analytics = values.analytics === undefined ? undefined : readAnalytics(values.analytics);
    const choices = { conf, classes, batch, track: !values['no-track'], providers, threads, decodeNice, crf, preset, jobs, analytics, motion: motionOptions(values) };
    if (values.queue !== undefined) return enqueue(values.queue, p, { ...choices, model: values.model }, values.wait === true);
    const shared = sharedOptions({ ...choices, model: await resolveModelArg(values.model) }, log);

    const abort = new AbortController();
    const onSignal = (): void => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return p.many ? await runMany(p, shared, jobs, abort.signal) : await runOne(p.jobs[0], shared, abort.signal);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

/** `--queue`: one job per input, with absolute paths (workers run elsewhere, over shared storage). */
async function enqueue(url: string, p: Plan, choices: AnalysisChoices, wait: boolean): Promise<number> {
  if (!p.many) throw new UsageError('--queue needs --out-dir <dir> (shared storage every worker writes to)');
  if (choices.jobs !== 1) throw new UsageError('--jobs: with --queue, each worker\'s --concurrency says how many run at once');
  const model = isBuiltinModel(choices.model) && !existsSync(choices.model) ? choices.model : resolve(choices.model);
  if (!existsSync(model) && !isBuiltinModel(model)) throw new Error(`model not found: ${choices.model}`);
  const jobs: AnalyzeJobData[] = p.jobs.map((j) => ({
    input: urlScheme(j.input) === undefined ? resolve(j.input) : j.input,
    outputs: j.outputs.map((o) => ({ kind: o.kind, path: resolve(o.path) })),
    model,
    options: {
      conf: choices.conf,
      classes: choices.classes,
      batch: choices.batch,
      track: choices.track,
      providers: choices.providers,
      threads: choices.threads,
      decodeNice: choices.decodeNice,
      crf: choices.crf,
      preset: choices.preset,
      analytics: choices.analytics,
      motion: choices.motion,
    },
  }));
  for (const m of p.missing) process.stderr.write(`streamlens analyze: not queued: ${m.arg} (${m.reason})\n`);
  const queue = new JobQueue(url, { command: true });
  try {
    const ids = await queue.enqueue(jobs);
    ids.forEach((id, i) => process.stdout.write(`queued job ${id}: ${jobs[i].input}\n`));
    if (!wait) return p.missing.length ? 1 : 0;
    const done = await queue.wait(ids, (job) => {
      const progress = job.progress ? ` ${job.progress.done}${job.progress.total ? `/${job.progress.total}` : ''} frames` : '';
      process.stderr.write(`job ${job.id} ${job.state}${progress}${job.error ? `: ${job.error}` : ''} (${job.input})\n`);
    });
    const failed = done.filter((j) => j.state !== 'completed');
    if (failed.length) throw new Error(`${failed.length} of ${ids.length} jobs failed: ${failed.map((j) => `${j.input} (${j.error ?? j.state})`).join('; ')}`);
    return p.missing.length ? 1 : 0;
  } finally {
    await queue.close();
  }
}

const MOTION_KNOBS = ['motion-threshold', 'motion-min-area', 'motion-keyframe-seconds', 'motion-background-seconds', 'motion-regions', 'motion-mask'] as const;

/** The motion settings of --motion and its knobs (the stream config's `motion`, docs/motion.md). */
function motionOptions(values: Record<string, string | boolean | undefined>): MotionConfig | undefined {
  const given = MOTION_KNOBS.find((k) => values[k] !== undefined);
  if (!values.motion) {
    if (given) throw new UsageError(`--${given} needs --motion`);
    return undefined;
  }
  const text = (k: Exclude<(typeof MOTION_KNOBS)[number], 'motion-regions'>): string | undefined => values[k] as string | undefined;
  const d = DEFAULT_MOTION;
  const mask = text('motion-mask');
  return {
    ...(mask ? readMotionMask(mask) : { mask: d.mask, coordinates: d.coordinates }),
    enabled: true,
    threshold: numberOption('motion-threshold', text('motion-threshold'), d.threshold, { min: 1, max: 255 }),
    minArea: numberOption('motion-min-area', text('motion-min-area'), d.minArea, { min: 0, max: 1 }),
    keyframeSeconds: numberOption('motion-keyframe-seconds', text('motion-keyframe-seconds'), d.keyframeSeconds, { min: 0, max: 3600 }),
    backgroundSeconds: numberOption('motion-background-seconds', text('motion-background-seconds'), d.backgroundSeconds, { min: 0.05, max: 3600 }),
    regions: values['motion-regions'] === true,
  };
}

/** The JSON file of option `--name`, parsed by `parse` (a ConfigError becomes a usage error naming the fields). */
function readJsonOption<T>(name: string, file: string, parse: (json: unknown) => T): T {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--${name} ${file}: ${(err as Error).message}`);
  }
  try {
    return parse(json);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--${name} ${file}: ${err.issues.map((i) => `${i.path || '(top)'}: ${i.message}`).join('; ')}`);
    throw err;
  }
}

/** The zones and lines of `--analytics FILE`, validated like a stream's (errors name the field). */
const readAnalytics = (file: string): AnalyticsSettings => readJsonOption('analytics', file, parseAnalytics);

/** The mask of `--motion-mask FILE`: a stream's motion `mask` and `coordinates`, validated like a stream's. */
function readMotionMask(file: string): Pick<MotionConfig, 'mask' | 'coordinates'> {
  return readJsonOption('motion-mask', file, (json) => {
    const other = json && typeof json === 'object' && !Array.isArray(json) ? Object.keys(json).filter((k) => k !== 'mask' && k !== 'coordinates') : [];
    if (other.length) throw new UsageError(`--motion-mask ${file}: only "mask" and "coordinates" belong here (${other.join(', ')}: use the --motion-* options)`);
    const { mask, coordinates } = parseMotion(json);
    return { mask, coordinates };
  });
}

async function runOne(job: Plan['jobs'][number], shared: SharedOptions, signal: AbortSignal): Promise<number> {
  const progress = new ProgressBar(process.stderr);
  const started = performance.now();
  const summary = await analyzeInto(job.input, job.outputs, shared, {
    signal,
    onProgress: (done, total) => progress.update({ done, total, elapsedSeconds: (performance.now() - started) / 1000 }),
  });
  progress.finish();
  const gated = shared.motion ? `; detector on ${summary.inferred} (${summary.frames ? Math.round((100 * summary.inferred) / summary.frames) : 0} %)` : '';
  process.stderr.write(summaryLine(summary.frames, summary.seconds) + gated + (summary.interrupted ? ' (interrupted)' : '') + '\n');
  for (const w of summary.warnings) process.stderr.write(`streamlens analyze: warning: ${w}\n`);
  return summary.interrupted ? 130 : 0;
}

async function runMany(p: Plan, shared: SharedOptions, jobs: number, signal: AbortSignal): Promise<number> {
  const names = [...p.jobs.map((j) => j.input), ...p.missing.map((m) => m.arg)];
  const progress = new BatchProgress(names, process.stderr);
  const failed: Array<{ input: string; reason: string }> = [];
  p.missing.forEach((m, k) => {
    failed.push({ input: m.arg, reason: m.reason });
    progress.fail(p.jobs.length + k, m.reason);
  });
  let interrupted = false;
  const warnings: string[] = [];
  await runPool(
    p.jobs.length,
    jobs,
    async (i) => {
      progress.start(i);
      const job = p.jobs[i];
      const summary = await analyzeInto(job.input, job.outputs, shared, { signal, onProgress: (done, total) => progress.update(i, done, total) });
      interrupted ||= summary.interrupted;
      warnings.push(...summary.warnings);
      progress.finish(i, job.outputs.map((o) => o.path).join(', ') + (summary.interrupted ? ' (interrupted)' : ''));
    },
    (i, reason) => {
      failed.push({ input: p.jobs[i].input, reason });
      progress.fail(i, reason);
    },
    signal,
  );
  progress.close();
  for (const w of warnings) process.stderr.write(`streamlens analyze: warning: ${w}\n`);
  if (interrupted || signal.aborted) return 130;
  if (failed.length) throw new Error(`${failed.length} of ${names.length} inputs failed: ${failed.map((f) => `${f.input} (${f.reason})`).join('; ')}`);
  return 0;
}

export const command: Command = { summary: 'analyze recorded videos into result files, an HTML report and an annotated video', help, run };
