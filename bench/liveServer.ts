/**
 * The real live server (StreamHub + HTTP + /ws) started in this process on 127.0.0.1:0 for the
 * live, capacity, fan-out and HTTP sections, plus a recorder of the results it publishes.
 */
import { dirname } from 'node:path';
import type { Subscription } from 'rxjs';
import { parseConfig, parseStream, streamContext, type ServeConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import type { ExecutionProvider } from '../src/config/schema.js';
import { StreamHub } from '../src/pipeline/streamHub.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import type { FrameResult } from '../src/types.js';
import { performance } from 'node:perf_hooks';
import { sleep } from './stats.js';

export interface LiveServerOptions {
  modelPath: string;
  /** Folders holding the files the streams read (the server only reads files under media folders). */
  mediaFolders: string[];
  /** The model's execution providers, in fallback order (default: CPU). */
  providers?: ExecutionProvider[];
  maxBatch?: number;
  maxWaitMs?: number;
  maxClients?: number;
  stuckClientTimeoutMs?: number;
  maxBodyBytes?: number;
}

export interface BenchServer {
  server: RunningServer;
  config: ServeConfig;
  addStream(fields: Record<string, unknown>): Promise<void>;
  /**
   * Resolves once every stream has sent a result (a camera URL takes a while to connect and probe),
   * or after `timeoutMs`: a stream that never starts is then measured as delivering nothing.
   */
  started(ids: readonly string[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBenchServer(o: LiveServerOptions): Promise<BenchServer> {
  const config = parseConfig(
    {
      server: {
        host: '127.0.0.1',
        port: 0,
        mediaFolders: [...new Set(o.mediaFolders)],
        maxClients: o.maxClients ?? 256,
        stuckClientTimeoutMs: o.stuckClientTimeoutMs ?? 10_000,
        maxBodyBytes: o.maxBodyBytes ?? 64 * 1024,
      },
      models: { [o.modelPath]: { providers: o.providers ?? ['cpu'], maxBatch: o.maxBatch ?? 4, maxWaitMs: o.maxWaitMs ?? 5 } },
      streams: [],
    },
    dirname(o.modelPath),
  );
  const log = createLogger({ bench: true }, 'error');
  const server = await startServer({ config, hub: StreamHub.forConfig(config, log), version: 'bench', log });
  return {
    server,
    config,
    async addStream(fields) {
      await server.hub.add(parseStream(fields, streamContext(config)));
    },
    async started(ids, timeoutMs = 60_000) {
      const end = performance.now() + timeoutMs;
      while (performance.now() < end && !ids.every((id) => (server.hub.stats(id)?.framesSent ?? 0) > 0)) await sleep(100);
    },
    close: () => server.close(),
  };
}

/** Records every published result, with the time spent serialising it the way the gateway does. */
export class ResultRecorder {
  readonly results: FrameResult[] = [];
  private sub: Subscription | undefined;
  private recording = false;

  constructor(server: RunningServer) {
    this.sub = server.hub.results$.subscribe((r) => {
      if (this.recording) this.results.push(r);
    });
  }

  start(): void {
    this.results.length = 0;
    this.recording = true;
  }

  stop(): FrameResult[] {
    this.recording = false;
    return [...this.results];
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
