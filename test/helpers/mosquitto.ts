/**
 * A real MQTT broker for tests: Debian's mosquitto (scripts/install-test-deps.sh) on 127.0.0.1,
 * started on a free port and restartable on the same port (a broker outage mid-stream). Without
 * `persistence` a restart loses retained messages and sessions, as a default mosquitto does; with
 * it, a persistent subscriber (MqttRecorder with a clientId) misses nothing across the restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';

const MOSQUITTO = process.env.MOSQUITTO_PATH || '/usr/sbin/mosquitto';
/** util-linux's setpriv: the broker gets SIGKILL when the test worker dies, so none is left holding a port. */
const SETPRIV = '/usr/bin/setpriv';
const IS_ROOT = process.getuid?.() === 0;

export interface Mosquitto {
  url: string;
  port: number;
  /** SIGTERM and wait for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()). */
  start(): Promise<void>;
  /** stop() and remove its folder. */
  close(): Promise<void>;
  /** Messages the broker logged (stderr), for failure messages. */
  log(): string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startMosquitto(opts: { persistence?: boolean; timeoutMs?: number } = {}): Promise<Mosquitto> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'streamlens-mosquitto-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';

  const launch = async (): Promise<void> => {
    const conf = join(dir, 'mosquitto.conf');
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      ...(opts.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
      // As root mosquitto would switch to its own user, which clears the parent-death signal and
      // cannot write the persistence file here; a test broker on loopback may stay root.
      ...(IS_ROOT ? ['user root'] : []),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
    ];
    writeFileSync(conf, lines.join('\n') + '\n');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = existsSync(SETPRIV)
        ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', MOSQUITTO, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      running.add(c);
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      void gone.then(() => running.delete(c));
      c.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      // Ready when the port accepts; a broker that exited could not bind (a previous one still holds it).
      let up = false;
      while (!up && c.exitCode === null && c.signalCode === null && Date.now() < deadline) {
        up = await accepts(port);
        if (!up) await new Promise((r) => setTimeout(r, 50));
      }
      if (up && c.exitCode === null) {
        child = c;
        exited = gone;
        return;
      }
      c.kill('SIGKILL');
      await gone;
      if (Date.now() >= deadline) throw new Error(`mosquitto did not start on port ${port}: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  await launch();
  return {
    get url() {
      return `mqtt://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      child = undefined;
    },
    start: launch,
    async close() {
      await this.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => stderr,
  };
}

/** A subscriber that records every message (topic, payload, retain flag) it receives. */
export class MqttRecorder {
  readonly messages: Array<{ topic: string; payload: string; retain: boolean }> = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload: payload.toString(), retain: packet.retain }));
  }

  /** With a `clientId` the session is persistent (QoS 1 messages wait for it while it is away). */
  static async connect(url: string, topics: string[], clientId?: string): Promise<MqttRecorder> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 100, connectTimeout: 5000, ...(clientId ? { clientId, clean: false } : {}) });
    const recorder = new MqttRecorder(client);
    await client.subscribeAsync(topics, { qos: 1 });
    return recorder;
  }

  on(topic: string): string[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => m.payload);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
