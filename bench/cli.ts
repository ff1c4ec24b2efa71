/**
 * The benchmark harness's command line (`npm run bench`, node dist/bench/main.js): one command, a
 * summary table, JSON and an HTML report; `compare OLD.json NEW.json` diffs two result files. Not
 * part of the `streamlens` CLI: bench/ is not shipped.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { choiceListOption, numberOption, runCommand, UsageError, type Command } from '../src/cli/command.js';
import { EXECUTION_PROVIDERS } from '../src/config/schema.js';
import { sourceKind } from '../src/ingest/sourceUrl.js';
import { BUILTIN_MODELS, isBuiltinModel } from '../src/tools/modelgen/index.js';
import { compareResults, DEFAULT_COMPARE, formatComparison } from './compare.js';
import { formatSummary } from './summary.js';
import { renderReport } from './report.js';
import { runBench, SECTIONS, type BenchResult, type Section } from './run.js';

const help = `Usage: npm run bench -- [options]             (or node dist/bench/main.js [options] after npm run build)
       npm run bench -- compare OLD.json NEW.json [--threshold PCT] [--min-ms MS]

Measures streamlens on this machine. By default with the YOLOv10n-shaped benchmark model (built on
demand) and reproducible inputs (a seeded synthetic 1080p H.264 clip, the demo clip,
../shared/data/vtest.avi); with --model and --source, with yours; with --server, a running server
from the outside. Baselines are measured in the same run: the session alone and ffmpeg alone
(limits), and the common Node approach (ffmpeg JPEG frames + sharp + onnxruntime-node) as a peer.

Sections (in run order):
  server     with --server only: delivered fps, end-to-end latency, fan-out, POST /api/detect
  micro      preprocessing per 640x640 frame; postprocessing + tracking per frame with 100 objects
  limits     session alone per model x provider x batch; ffmpeg decode + letterbox alone
  analysis   recorded-video analysis fps and latency per model x provider x batch, / session
  peer       the Node peer on the 1080p clip at 640; our fps / the peer's
  live       1, 2, 4, 8 realtime streams (latest): per-stage latency, delivered fps, drops
  startup    time to first frame of RTSP, live HLS, MPEG-TS over HTTP and MJPEG sources, as opened
             before issue 13 (ffprobe, then ffmpeg with nobuffer) and now (one open)
  capacity   most streams at 5 fps each with capture->send p95 <= 250 ms; the same on a mostly
             still 1080p camera without and with motion gating (target >= 3 x)
  fanout     WebSocket fan-out to 10, 100, 500 clients (metadata, video); one stuck client
  cluster    two cluster nodes on a local redis-server (needs redis-server): latency a Redis relay
             adds to a remote WebSocket subscriber against a local one (p50/p99, without and with
             video), and the relay's bytes per stream
  http       autocannon on POST /api/detect at concurrency 1, 8, 32, batching off and on
  tracker    ByteTracker speed and quality on the MOT15 sequences
  analytics  the analytics stage per frame: 20 tracks, 10 zones, 10 lines (target <= 0.1 ms)
  render     drawing a 1080p frame's results (CPU ms); analysis fps and CPU of the 1080p clip
             with --render against without (without, with, without) at 320 and 640; the CPU
             split per frame: decoder output (yuv420p vs the old rgb24), x264 per preset
  motion     motion estimate per frame (and ffmpeg's grey output as the alternative); analysis
             fps of a mostly still clip with motion gating against without (target >= 1.8 x);
             recall with gating on the same clip; recall on small targets in 4K with and
             without motion regions (not with --quick)

Options:
  --quick              short inputs, fewer iterations, streams and clients (a few minutes)
  --only <list>        comma-separated sections to run (default: all but server; with --server: server)
  --out <dir>          results folder (default bench/results): <timestamp>.json, <timestamp>.html
                       and report.html (the latest)

Your model and hardware (limits and analysis; live, capacity and http use the first model):
  --model PATH|name    an .onnx file or a built-in model by name (e.g. synthetic-det, yolov10n-bench);
                       repeatable: several models are compared side by side, as ratios to the first
  --imgsz N[,N...]     input size(s) for built-in models (a file keeps its exported size)
  --providers LIST     execution providers (${EXECUTION_PROVIDERS.join(', ')}), each measured on its own;
                       one that is not available here is reported as such (default: cpu)
  --batch N[,N...]     batch sizes of the sweep (default: session 1,4; pipeline 4); the report
                       draws throughput against latency per batch size
  --source FILE|URL    your input for analysis, live and capacity (repeatable; streams take them
                       in turn); each analysis run is bounded to 120 s (20 s with --quick)

A running server, measured from the outside (nothing is started or changed on it):
  --server URL         http://host:port of a streamlens server
  --token T            its API token (or the STREAMLENS_TOKEN environment variable)
  --streams ID[,ID]    streams to measure (default: all)
  --clients N          WebSocket clients of the fan-out run (default 10; 0: none)
  --images DIR         JPEG/PNG images for POST /api/detect load (autocannon; none: not measured)

compare: a table of every metric both files have, its change and the noise each run measured;
  exit status 1 when a metric got worse beyond 2 x that noise and by at least --threshold
  (default ${100 * DEFAULT_COMPARE.threshold}%; times also by at least --min-ms, default ${DEFAULT_COMPARE.minMs} ms).

  -h, --help           this help

Every load is bounded in count and time. Numbers on a shared machine are noisy: compare the
ratios measured within one run.`;

function listOption(name: string, raw: string | undefined, check: (v: number) => boolean, what: string): number[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  const values = items.map(Number);
  if (!items.length || items.some((s) => s === '') || !values.every((v) => Number.isInteger(v) && check(v))) throw new UsageError(`--${name} must be a comma-separated list of ${what}, got "${raw}"`);
  return [...new Set(values)];
}

function readResult(path: string): BenchResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const r = JSON.parse(text) as BenchResult;
  if (!r || typeof r !== 'object' || !r.meta?.startedAt) throw new UsageError(`${path} is not a bench result file (no meta.startedAt)`);
  return r;
}

function compare(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { threshold: { type: 'string' }, 'min-ms': { type: 'string' } } });
  if (positionals.length !== 2) throw new UsageError('compare needs two result files: compare OLD.json NEW.json');
  const options = {
    threshold: numberOption('threshold', values.threshold, 100 * DEFAULT_COMPARE.threshold, { min: 0, max: 1000 }) / 100,
    minMs: numberOption('min-ms', values['min-ms'], DEFAULT_COMPARE.minMs, { min: 0, max: 1e6 }),
  };
  const [a, b] = positionals.map(readResult);
  const c = compareResults(a, b, options);
  process.stdout.write(formatComparison(c, [`${positionals[0]} (${a.meta.startedAt})`, `${positionals[1]} (${b.meta.startedAt})`], options) + '\n');
  return c.regressions > 0 ? 1 : 0;
}

async function bench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      out: { type: 'string' },
      model: { type: 'string', multiple: true },
      imgsz: { type: 'string' },
      providers: { type: 'string' },
      batch: { type: 'string' },
      source: { type: 'string', multiple: true },
      server: { type: 'string' },
      token: { type: 'string' },
      streams: { type: 'string' },
      clients: { type: 'string' },
      images: { type: 'string' },
    },
  });
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
  if (unknown.length) throw new UsageError(`unknown section(s) ${unknown.join(', ')} (sections: ${SECTIONS.join(', ')})`);
  const imgsz = listOption('imgsz', values.imgsz, (v) => v >= 64 && v % 32 === 0, 'multiples of 32, at least 64');
  const batches = listOption('batch', values.batch, (v) => v >= 1 && v <= 64, 'integers from 1 to 64');
  const providers = choiceListOption('providers', values.providers, EXECUTION_PROVIDERS);
  const token = values.token ?? process.env.STREAMLENS_TOKEN;
  const missingModel = values.model?.find((m) => !existsSync(m) && !isBuiltinModel(m));
  if (missingModel) throw new UsageError(`--model ${missingModel}: no such file and not a built-in model (${BUILTIN_MODELS.join(', ')})`);
  const missingSource = values.source?.find((s) => sourceKind(s) === 'file' && !s.startsWith('file:') && !existsSync(s));
  if (missingSource) throw new UsageError(`--source ${missingSource}: no such file`);
  if (values.server === undefined) {
    const serverOnly = (['token', 'streams', 'clients', 'images'] as const).filter((k) => values[k] !== undefined);
    if (serverOnly.length) throw new UsageError(`--${serverOnly[0]} applies to --server`);
    if (only?.includes('server')) throw new UsageError('the server section needs --server URL');
  } else {
    if (!/^https?:\/\//.test(values.server)) throw new UsageError(`--server must be an http:// or https:// URL, got "${values.server}"`);
    const local = (['model', 'imgsz', 'providers', 'batch', 'source'] as const).filter((k) => values[k] !== undefined);
    if (local.length && !only?.some((s) => s !== 'server')) throw new UsageError(`--${local[0]} applies to the local sections; with --server, name them with --only (e.g. --only server,analysis)`);
  }
  const outDir = resolve(values.out ?? 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const result = await runBench({
    quick: values.quick ?? false,
    only: only as Section[] | undefined,
    outDir,
    models: values.model,
    imgsz,
    providers,
    batches,
    sources: values.source,
    ...(values.server !== undefined
      ? {
          server: {
            url: values.server,
            token,
            clients: numberOption('clients', values.clients, 10, { min: 0, max: 2000, integer: true }),
            images: values.images,
            streams: values.streams?.split(',').map((s) => s.trim()).filter(Boolean),
          },
        }
      : {}),
    log: (line) => process.stderr.write(line + '\n'),
  });
  const stamp = result.meta.startedAt.replace(/[:.]/g, '-');
  const html = renderReport(result);
  writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(outDir, `${stamp}.html`), html);
  writeFileSync(join(outDir, 'report.html'), html);
  process.stdout.write(formatSummary(result) + '\n');
  process.stdout.write(`results: ${join(outDir, `${stamp}.json`)}\nreport:  ${join(outDir, 'report.html')}\n`);
  return result.errors.length ? 1 : 0;
}

function run(argv: string[]): Promise<number> {
  return runCommand('bench', async () => (argv[0] === 'compare' ? compare(argv.slice(1)) : bench(argv)));
}

export const benchCommand: Command = { summary: 'measure fps, latency, capacity and fan-out; compare two runs', help, run };
