/**
 * What a result was measured on, so two result files can be compared honestly: CPU model and
 * cores, memory, GPUs, the execution providers whose libraries are installed, and the versions of
 * ffmpeg, ONNX Runtime and Node. The load average at the start and end says how busy the machine
 * was (other work on the same cores makes every number noisy).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXECUTION_PROVIDERS } from '../src/config/schema.js';
import { ffmpegPath } from '../src/ingest/ffmpeg.js';

export interface Machine {
  cpuModel: string;
  /** Logical CPUs the OS reports. */
  cores: number;
  memoryGB: number;
  /** One line per GPU (nvidia-smi), empty when none was found. */
  gpus: string[];
  /** Execution providers whose ONNX Runtime libraries are installed here ('cpu' always). */
  providersInstalled: string[];
  ffmpeg: string;
  onnxruntime: string;
  node: string;
  os: string;
  /** 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number; end?: number };
}

const r2 = (v: number): number => Math.round(v * 100) / 100;

function run(cmd: string, args: string[], timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout) => resolve(err ? undefined : stdout.toString()));
  });
}

/** nvidia-smi's GPU list, else the NVIDIA driver's /proc entries, else none. */
async function gpus(): Promise<string[]> {
  const smi = await run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
  if (smi !== undefined) return smi.split('\n').map((l) => l.trim()).filter(Boolean);
  const dir = '/proc/driver/nvidia/gpus';
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((id) => {
    const model = /^Model:\s*(.+)$/m.exec(readFileSync(join(dir, id, 'information'), 'utf8'));
    return model ? [model[1].trim()] : [];
  });
}

/** Providers whose shared libraries sit next to onnxruntime-node's binding (Linux layout). */
function providersInstalled(): string[] {
  const out = ['cpu'];
  if (process.platform !== 'linux') return out;
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', 'linux', process.arch);
  } catch {
    return out;
  }
  for (const p of EXECUTION_PROVIDERS) if (p !== 'cpu' && existsSync(join(dir, `libonnxruntime_providers_${p}.so`))) out.push(p);
  return out;
}

export async function describeMachine(): Promise<Machine> {
  const list = cpus();
  // "ffmpeg version <version> Copyright ...": the version and build, without the notice.
  const ffmpeg = (await run(ffmpegPath(), ['-version']))?.split('\n')[0]?.replace(/\s+Copyright.*$/, '').trim() ?? 'unknown (ffmpeg -version failed)';
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGB: r2(totalmem() / 2 ** 30),
    gpus: await gpus(),
    providersInstalled: providersInstalled(),
    ffmpeg,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common ?? 'unknown',
    node: process.version,
    os: `${process.platform}-${process.arch} ${release()}`,
    loadAverage: { start: r2(loadavg()[0]) },
  };
}

/** The fields in which two machines differ, as "field: a -> b" lines (load averages excluded). */
export function machineDifferences(a: Partial<Machine>, b: Partial<Machine>): string[] {
  const keys: (keyof Machine)[] = ['cpuModel', 'cores', 'memoryGB', 'gpus', 'providersInstalled', 'ffmpeg', 'onnxruntime', 'node', 'os'];
  const show = (v: unknown): string => (v === undefined ? 'not recorded' : Array.isArray(v) ? v.join(', ') || 'none' : String(v));
  return keys.filter((k) => show(a[k]) !== show(b[k])).map((k) => `${k}: ${show(a[k])} -> ${show(b[k])}`);
}
