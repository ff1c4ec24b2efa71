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
import { EXECUTION_PROVIDERS, type ExecutionProvider, type SessionSettings } from '../config/schema.js';


export interface OpenedSession {
  session: ort.InferenceSession;
  activeProvider: ExecutionProvider;
  /** One line per provider that could not be used. */
  warnings: string[];
}

/**
 * The model's settings as ONNX Runtime options. intraOpThreads 0 is ONNX Runtime's own "choose"
 * (one thread per physical core). allowSpinning: idle intra-op threads busy-wait for the next
 * parallel section (ONNX Runtime's default, true), which suits a CPU the session has to itself;
 * when decoding shares the cores, spinning burns the cycles ffmpeg needs.
 */
export function sessionOptions(cfg: SessionSettings, provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  // Session config entries (onnxruntime_session_options_config_keys.h), strings in the Node binding.
  const spin = cfg.allowSpinning ? '1' : '0';
  return {
    executionProviders: [provider === 'cpu' ? provider : { name: provider, deviceId: cfg.deviceId }],
    graphOptimizationLevel: cfg.graphOptimizationLevel,
    intraOpNumThreads: cfg.intraOpThreads,
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}

/** Opens the model with the first of `cfg.providers` that works; names are checked here too (the worker's config crossed a thread). */
export async function openSession(modelPath: string, cfg: SessionSettings): Promise<OpenedSession> {
  const providers = cfg.providers;
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
