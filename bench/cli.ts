/**
 * The benchmark harness's command line (`npm run bench`, node dist/bench/main.js): one command, a
 * summary table, JSON and an HTML report. Not part of the `streamlens` CLI: bench/ is not shipped.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, UsageError, type Command } from '../src/cli/command.js';
import { formatSummary } from './summary.js';
import { renderReport } from './report.js';
import { runBench, SECTIONS, type Section } from './run.js';

const help = `Usage: npm run bench -- [--quick] [--only <sections>] [--out <dir>]
       node dist/bench/main.js [--quick] [--only <sections>] [--out <dir>]  (after npm run build)

Measures streamlens on this machine with the YOLOv10n-shaped benchmark model (built on demand) and
reproducible inputs (a seeded synthetic 1080p H.264 clip, the demo clip, ../shared/data/vtest.avi).
Baselines are measured in the same run: the session alone and ffmpeg alone (limits), and the common
Node approach (ffmpeg JPEG frames + sharp + onnxruntime-node) as a peer.

Sections (in run order):
  micro      preprocessing per 640x640 frame; postprocessing + tracking per frame with 100 objects
  limits     session alone (batch 1 and 4, at 640 and 320); ffmpeg decode + letterbox alone
  analysis   recorded-video analysis fps on the 1080p clip and vtest.avi at 640 and 320, / session
  peer       the Node peer on the 1080p clip at 640; our fps / the peer's
  live       1, 2, 4, 8 realtime streams (latest): per-stage latency, delivered fps, drops
  capacity   most 1080p streams at 5 fps each with capture->send p95 <= 250 ms
  fanout     WebSocket fan-out to 10, 100, 500 clients (metadata, video); one stuck client
  http       autocannon on POST /api/detect at concurrency 1, 8, 32, batching off and on
  tracker    ByteTracker speed and quality on the MOT15 sequences
  analytics  the analytics stage per frame: 20 tracks, 10 zones, 10 lines (target <= 0.1 ms)
  render     drawing a 1080p frame's results (CPU ms); analysis fps of the 1080p clip with
             --render against without (without, with, without)

Options:
  --quick            short inputs, fewer iterations, streams and clients (under 2 minutes)
  --only <list>      comma-separated sections to run (default: all)
  --out <dir>        results folder (default bench/results): <timestamp>.json, <timestamp>.html
                     and report.html (the latest)
  -h, --help         this help

All load targets 127.0.0.1 and is bounded in count and time. Numbers on a shared machine are noisy:
compare the ratios measured within one run.`;

function run(argv: string[]): Promise<number> {
  return runCommand('bench', async () => {
    const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, only: { type: 'string' }, out: { type: 'string' } } });
    const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
    if (unknown.length) throw new UsageError(`unknown section(s) ${unknown.join(', ')} (sections: ${SECTIONS.join(', ')})`);
    const outDir = resolve(values.out ?? 'bench/results');
    mkdirSync(outDir, { recursive: true });
    const result = await runBench({
      quick: values.quick ?? false,
      only: only as Section[] | undefined,
      outDir,
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
  });
}

export const benchCommand: Command = { summary: 'measure fps, latency, capacity and fan-out', help, run };
