/** `streamlens analyze`: every frame of a recording through the model (and tracker) into a results file. */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { choiceListOption, numberOption, runCommand, UsageError, type Command } from './command.js';
import { analyzeRecording } from '../pipeline/analyzeRecording.js';
import { ProgressBar, summaryLine } from '../output/progress.js';
import { resolveModelArg } from './modelArg.js';
import { DEFAULT_MODEL, DEFAULT_STREAM, DEFAULT_TRACKER, EXECUTION_PROVIDERS } from '../config/schema.js';
import { urlScheme } from '../ingest/sourceUrl.js';
import { isResultFormat, openFileSink, RESULT_FORMATS } from '../output/sinks.js';
import { SinkSet } from '../output/sinkSet.js';
import { log } from '../log.js';

const help = `Usage: streamlens analyze <input> --model <model> --out <file> [options]

Runs every decoded frame of a recorded video (file or URL ffmpeg can read) through the model
and writes results incrementally: one JSON line per frame (jsonl) or MOTChallenge rows (mot).

Options:
  --model <model>       ONNX file, or a built-in model name (synthetic-det, synthetic-seg, ...)
  --out <file>          results file (written incrementally; complete lines only)
  --format <fmt>        jsonl | mot (default: mot when --out ends in .txt, else jsonl)
  --conf <x>            confidence threshold (default ${DEFAULT_STREAM.conf})
  --classes <ids>       comma-separated class ids to keep (default: all)
  --batch <n>           frames per inference call (default ${DEFAULT_MODEL.maxBatch}; 1 for fixed-batch models)
  --no-track            do not run the tracker (no track_id in the output)
  --providers <list>    execution providers in order of preference (default ${DEFAULT_MODEL.providers.join(',')})
  --threads <n>         ONNX Runtime intra-op threads (default 0: ONNX Runtime's choice)
  --decode-nice <n>     ffmpeg's niceness 0..19 (default 19: decoding takes the cycles inference
                        leaves; 0 runs it at the same priority)
  -h, --help            this help

Exit status: 0 done, 1 failed (reason on stderr), 2 bad usage, 130 interrupted.`;

function run(argv: string[]): Promise<number> {
  return runCommand('analyze', async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        out: { type: 'string' },
        format: { type: 'string' },
        conf: { type: 'string' },
        classes: { type: 'string' },
        batch: { type: 'string' },
        'no-track': { type: 'boolean' },
        providers: { type: 'string' },
        threads: { type: 'string' },
        'decode-nice': { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one input (a video file or URL); see --help');
    if (!values.model) throw new UsageError('--model is required (an .onnx file or a built-in model name)');
    if (!values.out) throw new UsageError('--out is required');
    const format = values.format ?? (values.out.endsWith('.txt') ? 'mot' : 'jsonl');
    if (!isResultFormat(format)) throw new UsageError(`--format must be ${RESULT_FORMATS.join(' or ')}, got "${values.format}"`);
    const conf = numberOption('conf', values.conf, DEFAULT_STREAM.conf, { min: 0, max: 1 });
    const batch = numberOption('batch', values.batch, DEFAULT_MODEL.maxBatch, { min: 1, max: 64, integer: true });
    const threads = numberOption('threads', values.threads, DEFAULT_MODEL.intraOpThreads, { min: 0, max: 256, integer: true });
    const decodeNice = numberOption('decode-nice', values['decode-nice'], 19, { min: 0, max: 19, integer: true });
    const providers = choiceListOption('providers', values.providers, EXECUTION_PROVIDERS);
    const classes = values.classes?.split(',').map((s) => {
      const v = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(v) || v < 0) throw new UsageError(`--classes must be comma-separated class ids, got "${values.classes}"`);
      return v;
    });
    const input = positionals[0];
    if (urlScheme(input) === undefined && !existsSync(input)) throw new Error(`input not found: ${input}`);
    const modelPath = await resolveModelArg(values.model);

    const progress = new ProgressBar(process.stderr);
    const started = performance.now();
    const abort = new AbortController();
    const onSignal = (): void => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const sinks = new SinkSet([openFileSink(format, values.out)], log);
    try {
      const summary = await analyzeRecording({
        input,
        onResult: (result) => sinks.write(result),
        detector: { path: modelPath, providers, intraOpThreads: threads, maxBatch: batch },
        conf,
        classes,
        batch,
        decodeNice,
        tracker: values['no-track'] ? undefined : DEFAULT_TRACKER,
        signal: abort.signal,
        onProgress: (done, total) => progress.update({ done, total, elapsedSeconds: (performance.now() - started) / 1000 }),
      });
      await sinks.close();
      progress.finish();
      process.stderr.write(summaryLine(summary.frames, summary.seconds) + (summary.interrupted ? ' (interrupted)' : '') + '\n');
      return summary.interrupted ? 130 : 0;
    } finally {
      await sinks.close().catch(() => undefined);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

export const command: Command = { summary: 'analyze a recorded video into a results file', help, run };
