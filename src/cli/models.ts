/** `streamlens models`: build the project's own models, list what is in models/, fetch official weights. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, UsageError, type Command } from './command.js';
import { BUILTIN_MODELS, MODEL_DESCRIPTIONS, ensureModel, isBuiltinModel, modelsDir, readMetadata, type BuiltinModel } from '../tools/modelgen/index.js';
import { writeModelFile } from '../tools/modelgen/onnxBuilder.js';

const help = `Usage: streamlens models <build|list|fetch> [options]

  models build [name...] [--imgsz N] [--batch dynamic|N]
      Build built-in models into models/<name>-<imgsz>[-b<batch>].onnx (cached; default: all).
      Built-in: ${BUILTIN_MODELS.join(', ')}
  models list
      The .onnx/.pt files in models/ with size, task, input size and classes.
  models fetch yolov10n [--out models/yolov10n.pt] [--sha256 HEX] [--url URL] [--allow-unverified]
      Download the official YOLOv10n weights (Ultralytics publishes PyTorch .pt files, not ONNX)
      and verify their SHA-256 against --sha256 or the digest GitHub publishes for the release
      asset. --url fetches the same file from a mirror. Then export to ONNX with Ultralytics:
        pip install ultralytics && yolo export model=models/yolov10n.pt format=onnx dynamic=True

Exit status: 0 done, 1 failed (reason on stderr), 2 bad usage.`;

/** Official weights: Ultralytics' assets release (the URL its own downloader uses). */
const OFFICIAL: Record<string, { url: string; repo: string; tag: string; asset: string }> = {
  yolov10n: {
    url: 'https://github.com/ultralytics/assets/releases/download/v8.3.0/yolov10n.pt',
    repo: 'ultralytics/assets',
    tag: 'v8.3.0',
    asset: 'yolov10n.pt',
  },
};

const EXPORT_HINT = 'pip install ultralytics && yolo export model=yolov10n.pt format=onnx dynamic=True (see models/README.md)';

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function parseImgsz(raw: string | undefined): number {
  if (raw === undefined) return 640;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 64 || v % 32 !== 0) throw new UsageError(`--imgsz must be a multiple of 32 and at least 64, got "${raw}"`);
  return v;
}

function parseBatch(raw: string | undefined): 'dynamic' | number {
  if (raw === undefined || raw === 'dynamic') return 'dynamic';
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`--batch must be "dynamic" or a positive integer, got "${raw}"`);
  return v;
}

async function build(names: string[], values: { imgsz?: string; batch?: string }): Promise<number> {
  const imgsz = parseImgsz(values.imgsz);
  const batch = parseBatch(values.batch);
  const unknown = names.filter((n) => !isBuiltinModel(n));
  if (unknown.length) throw new UsageError(`unknown model ${unknown.map((n) => `'${n}'`).join(', ')} (built-in: ${BUILTIN_MODELS.join(', ')})`);
  for (const name of (names.length ? names : BUILTIN_MODELS) as BuiltinModel[]) {
    const t0 = performance.now();
    const path = await ensureModel(name, { imgsz, batch });
    const ms = performance.now() - t0;
    process.stdout.write(`${name.padEnd(17)} ${formatBytes(statSync(path).size).padStart(10)}  ${path}  (${ms.toFixed(0)} ms)\n`);
  }
  return 0;
}

function list(): number {
  const dir = modelsDir();
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.onnx') || f.endsWith('.pt')).sort() : [];
  if (files.length === 0) {
    process.stdout.write(`No models in ${dir}. Build one with \`streamlens models build\`.\n`);
  }
  for (const f of files) {
    const path = join(dir, f);
    const size = formatBytes(statSync(path).size).padStart(10);
    let info = 'PyTorch weights: export to ONNX before use';
    if (f.endsWith('.onnx')) {
      try {
        const meta = readMetadata(readFileSync(path));
        const classes = meta.names ? (meta.names.match(/\d+\s*:/g) ?? []).length : 0;
        info = `task ${meta.task ?? '?'}, imgsz ${meta.imgsz ?? '?'}, ${classes} classes${meta.end2end === 'True' ? ', end-to-end' : ''}`;
      } catch (err) {
        info = `unreadable: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    process.stdout.write(`${f.padEnd(34)} ${size}  ${info}\n`);
  }
  process.stdout.write(`\nBuilt-in (streamlens models build <name>):\n`);
  for (const name of BUILTIN_MODELS) process.stdout.write(`  ${name.padEnd(17)} ${MODEL_DESCRIPTIONS[name]}\n`);
  return 0;
}

/** The SHA-256 GitHub publishes for a release asset ("sha256:<hex>"), when it has one. */
async function publishedDigest(repo: string, tag: string, asset: string): Promise<string | undefined> {
  const res = await fetch(`https://api.github.com/repos/${repo}/releases/tags/${tag}`, {
    headers: { accept: 'application/vnd.github+json', 'user-agent': 'streamlens' },
    signal: AbortSignal.timeout(20_000),
  });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { assets?: Array<{ name: string; digest?: string | null }> };
  const digest = body.assets?.find((a) => a.name === asset)?.digest;
  return digest?.startsWith('sha256:') ? digest.slice(7).toLowerCase() : undefined;
}

async function fetchWeights(names: string[], values: { out?: string; sha256?: string; url?: string; 'allow-unverified'?: boolean }): Promise<number> {
  const name = names[0] ?? 'yolov10n';
  const source = OFFICIAL[name];
  if (!source || names.length > 1) throw new UsageError(`fetch knows: ${Object.keys(OFFICIAL).join(', ')}`);
  const out = resolve(values.out ?? join(modelsDir(), `${name}.pt`));
  if (out.endsWith('.onnx')) {
    throw new UsageError(`official ${name} weights are published as .pt, not ONNX: use --out ${basename(out, '.onnx')}.pt, then convert with: ${EXPORT_HINT}`);
  }
  const pinned = values.sha256?.toLowerCase();
  if (pinned !== undefined && !/^[0-9a-f]{64}$/.test(pinned)) throw new UsageError('--sha256 must be 64 hex digits');

  const url = values.url ?? source.url;
  let res: Response;
  let bytes: Uint8Array;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(120_000) });
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    throw new Error(`cannot download ${url} (${reason}); without internet, export on a machine that has it: ${EXPORT_HINT}`);
  }
  if (!res.ok) throw new Error(`download of ${url} failed: HTTP ${res.status}; instead, on a machine with internet: ${EXPORT_HINT}`);
  const actual = createHash('sha256').update(bytes).digest('hex');
  let expected = pinned;
  if (expected === undefined) {
    try {
      expected = await publishedDigest(source.repo, source.tag, source.asset);
    } catch {
      expected = undefined;
    }
  }
  if (expected === undefined && !values['allow-unverified']) {
    throw new Error(`downloaded ${name} (sha256 ${actual}) but found no published checksum to verify it; pass --sha256 <hex> from a source you trust, or --allow-unverified`);
  }
  if (expected !== undefined && expected !== actual) {
    throw new Error(`checksum mismatch for ${url}: expected ${expected}, got ${actual}; file not written`);
  }
  writeModelFile(out, bytes);
  const verdict = expected !== undefined ? 'verified' : 'NOT verified (--allow-unverified)';
  process.stdout.write(`${out}  ${formatBytes(bytes.length)}  sha256 ${actual} ${verdict}\n`);
  process.stdout.write(`Next: pip install ultralytics && yolo export model=${out} format=onnx dynamic=True\n`);
  return 0;
}

function run(argv: string[]): Promise<number> {
  return runCommand('models', async () => {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        imgsz: { type: 'string' },
        batch: { type: 'string' },
        out: { type: 'string' },
        sha256: { type: 'string' },
        url: { type: 'string' },
        'allow-unverified': { type: 'boolean' },
      },
    });
    const [sub, ...names] = positionals;
    switch (sub) {
      case 'build':
        return await build(names, values);
      case 'list':
        return list();
      case 'fetch':
        return await fetchWeights(names, values);
      default:
        throw new UsageError(`expected a subcommand: build, list or fetch${sub ? ` (got '${sub}')` : ''}`);
    }
  });
}

export const command: Command = {
  summary: 'build the built-in models, list models/, fetch official YOLOv10n weights',
  help,
  run,
};
