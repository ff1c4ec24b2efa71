/**
 * ONNX Runtime session creation with execution-provider fallback. onnxruntime-node throws at
 * session creation when an EP is unavailable ("Failed to load shared library" when the provider
 * libraries were not installed, "is unsupported" when the build lacks the EP), so each provider is
 * tried on its own, in order, and each failure becomes a warning naming the next provider tried.
 * It cannot report which EP actually runs each node; an EP that loads but takes no nodes is not
 * detectable from JavaScript.
 *
 * On Linux the GPU providers are shared libraries next to the binding, present only when
 * onnxruntime-node's install step downloaded them; when they are absent the provider is skipped
 * without asking ONNX Runtime (which would print a native error for every attempt).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXECUTION_PROVIDERS, type ExecutionProvider, type GraphOptimizationLevel } from '../config/schema.js';


export interface SessionConfig {
  /** Tried in order; default tensorrt, cuda, cpu. Names are validated here (config passes strings). */
  providers?: readonly string[];
  /** Threads inside one operator; default: ONNX Runtime's (one per physical core). */
  intraOpThreads?: number;
  interOpThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Whether idle intra-op threads spin (busy-wait) for the next parallel section. ONNX Runtime's
   * default (true) suits a CPU the session has to itself; when decoding shares the cores, spinning
   * burns the cycles ffmpeg needs. Default: ONNX Runtime's.
   */
  allowSpinning?: boolean;
  /** GPU index for cuda/tensorrt (the only provider option onnxruntime-node passes on). Default 0. */
  deviceId?: number;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  activeProvider: ExecutionProvider;
  /** One line per provider that could not be used. */
  warnings: string[];
}

export function sessionOptions(cfg: SessionConfig, provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider === 'cpu' || cfg.deviceId === undefined ? provider : { name: provider, deviceId: cfg.deviceId }],
    graphOptimizationLevel: cfg.graphOptimizationLevel ?? 'all',
  };
  if (cfg.intraOpThreads !== undefined) opts.intraOpNumThreads = cfg.intraOpThreads;
  if (cfg.interOpThreads !== undefined) opts.interOpNumThreads = cfg.interOpThreads;
  if (cfg.allowSpinning !== undefined) {
    // Session config entries (onnxruntime_session_options_config_keys.h), strings in the Node binding.
    const spin = cfg.allowSpinning ? '1' : '0';
    opts.extra = { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } };
  }
  return opts;
}

export async function openSession(modelPath: string, cfg: SessionConfig): Promise<OpenedSession> {
  const providers = (cfg.providers ?? EXECUTION_PROVIDERS) as readonly ExecutionProvider[];
  if (providers.length === 0) throw new Error('providers: at least one execution provider is needed');
  for (const p of providers) {
    if (!EXECUTION_PROVIDERS.includes(p)) throw new Error(`providers: unknown execution provider '${p}' (known: ${EXECUTION_PROVIDERS.join(', ')})`);
  }
  const warnings: string[] = [];
  const failures: string[] = [];
  for (let i = 0; i < providers.length; i++) {
    const p = providers[i];
    const missing = missingProviderLibrary(p);
    try {
      if (missing) throw new Error(`${missing} is not installed`);
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(cfg, p));
      return { session, activeProvider: p, warnings };
    } catch (err) {
      const reason = firstLine((err as Error).message);
      failures.push(`${p}: ${reason}`);
      const next = providers[i + 1];
      warnings.push(
        `execution provider '${p}' is not available on this host (${reason})` + (next ? `; falling back to '${next}'` : ''),
      );
      // The CPU provider always exists: its failure is a model problem that other providers won't fix.
      if (p === 'cpu') break;
    }
  }
  throw new Error(`cannot create an inference session for ${modelPath}: ${failures.join('; ')}`);
}

/** The first missing provider library for `p` on Linux x64/arm64, if any. */
function missingProviderLibrary(p: ExecutionProvider): string | undefined {
  if (p === 'cpu' || process.platform !== 'linux') return undefined;
  let dir: string;
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    dir = join(pkg, 'bin', 'napi-v6', 'linux', process.arch);
  } catch {
    return undefined;
  }
  if (!existsSync(join(dir, 'onnxruntime_binding.node'))) return undefined; // unknown layout: let ORT decide
  for (const lib of ['libonnxruntime_providers_shared.so', `libonnxruntime_providers_${p}.so`]) {
    if (!existsSync(join(dir, lib))) return lib;
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}
