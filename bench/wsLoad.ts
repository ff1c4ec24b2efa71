/**
 * WebSocket client load for the fan-out benchmarks, run as a child process so the clients' CPU is
 * not counted as the server's. Usage: node wsLoad.js '<json LoadSpec>'. Connects the clients to the
 * server (the in-process one on 127.0.0.1, or the user's with --server), prints {"ready":true} once
 * all are subscribed, waits for a "go" line on stdin, records for `seconds`, then prints one JSON
 * LoadReport line and exits. Times are this machine's clock; the parent corrects them by the
 * server's clock offset when the server is elsewhere.
 */
import WebSocket from 'ws';
import { nowMs } from '../src/clock.js';
import { wsUrl } from './serverUrl.js';

export interface LoadSpec {
  /** The server's base URL (http://host:port[/prefix]). */
  url: string;
  /** Sent as `Authorization: Bearer` on the WebSocket upgrade. */
  token?: string;
  streams: string[];
  clients: number;
  video: boolean;
  /** Also connect one client that subscribes to video and never reads (its socket is paused). */
  stuck: boolean;
  seconds: number;
}

export interface LoadReport {
  clients: number;
  /** Delivery latency (receive - server sendTs) of detections messages, ms, pooled over healthy clients. */
  delivery: number[];
  /** Receive - capture time (the message's ts), ms, pooled over healthy clients. */
  captureToClient: number[];
  /** Per healthy client: detections and video messages received in the window. */
  received: { detections: number; videos: number }[];
  /** Handshakes that failed and were retried, and the last failure's message. */
  connectRetries: number;
  lastConnectError: string;
  /** Lowest and highest frame seq any client received detections for in the window. */
  seqRange: [number, number];
  seconds: number;
}

interface Client {
  ws: WebSocket;
  detections: number;
  videos: number;
}

interface State {
  recording: boolean;
  delivery: number[];
  captureToClient: number[];
  minSeq: number;
  maxSeq: number;
}

function connect(spec: LoadSpec, state: State, video: boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(spec.url), spec.token ? { headers: { authorization: `Bearer ${spec.token}` } } : {});
    const client: Client = { ws, detections: 0, videos: 0 };
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (state.recording) client.videos++;
        return;
      }
      const t = nowMs();
      const m = JSON.parse(data.toString()) as { type: string; seq?: number; ts?: number; latency?: { total_ms: number | null } };
      if (m.type === 'subscribed') resolve(client);
      else if (m.type === 'detections' && state.recording) {
        client.detections++;
        if (m.seq !== undefined) {
          state.minSeq = Math.min(state.minSeq, m.seq);
          state.maxSeq = Math.max(state.maxSeq, m.seq);
        }
        if (m.ts !== undefined) state.captureToClient.push(t - m.ts);
        if (m.ts !== undefined && m.latency?.total_ms != null) state.delivery.push(t - (m.ts + m.latency.total_ms));
      }
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', streams: spec.streams, video })));
    ws.once('error', reject);
    // Settles nothing once subscribed; before that, a close (e.g. 1013 too many clients) is a failure.
    ws.once('close', (code, reason) => reject(new Error(`closed before subscribing: ${code} ${reason.toString()}`)));
  });
}

let connectRetries = 0;
let lastConnectError = '';

/** A refused handshake (e.g. 408 from a busy server) is retried a few times, and counted. */
async function connectWithRetry(spec: LoadSpec, state: State, video: boolean): Promise<Client> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(spec, state, video);
    } catch (err) {
      if (attempt >= 5) throw err;
      connectRetries++;
      lastConnectError = err instanceof Error ? err.message : String(err);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function main(spec: LoadSpec): Promise<LoadReport> {
  const state: State = { recording: false, delivery: [], captureToClient: [], minSeq: Infinity, maxSeq: -Infinity };
  const clients: Client[] = [];
  // Connect in small groups: hundreds of simultaneous handshakes would measure the accept path.
  for (let i = 0; i < spec.clients; i += 25) {
    const group = Array.from({ length: Math.min(25, spec.clients - i) }, () => connectWithRetry(spec, state, spec.video));
    clients.push(...(await Promise.all(group)));
  }
  let stuck: Client | undefined;
  if (spec.stuck) {
    stuck = await connectWithRetry(spec, { recording: false, delivery: [], captureToClient: [], minSeq: Infinity, maxSeq: -Infinity }, true);
    stuck.ws.pause();
  }
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  await goSignal();
  state.recording = true;
  const t0 = nowMs();
  await new Promise((r) => setTimeout(r, spec.seconds * 1000));
  state.recording = false;
  const seconds = (nowMs() - t0) / 1000;
  for (const c of clients) c.ws.terminate();
  stuck?.ws.terminate();
  return { clients: clients.length, delivery: state.delivery, captureToClient: state.captureToClient, received: clients.map((c) => ({ detections: c.detections, videos: c.videos })), seqRange: [state.minSeq, state.maxSeq], connectRetries, lastConnectError, seconds };
}

function goSignal(): Promise<void> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString();
      if (!text.includes('go')) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve();
    };
    process.stdin.on('data', onData);
  });
}

const arg = process.argv[2];
if (arg) {
  main(JSON.parse(arg) as LoadSpec).then(
    (report) => {
      process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
    },
    (err: unknown) => {
      process.stderr.write(`wsLoad: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
