/**
 * A real MQTT broker for tests: Debian's mosquitto (scripts/install-test-deps.sh) on 127.0.0.1,
 * started on a free port and restartable on the same port (a broker outage mid-stream). Without
 * `persistence` a restart loses retained messages and sessions, as a default mosquitto does; with
 * it, a persistent subscriber (MqttRecorder with a clientId) misses nothing across the restart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startLocalDaemon } from './localDaemon.js';

const MOSQUITTO = process.env.MOSQUITTO_PATH || '/usr/sbin/mosquitto';
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

export async function startMosquitto(opts: { persistence?: boolean; timeoutMs?: number } = {}): Promise<Mosquitto> {
  const daemon = await startLocalDaemon({
    name: 'mosquitto',
    binary: MOSQUITTO,
    args: (port, dir) => {
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
      return ['-c', conf];
    },
    timeoutMs: opts.timeoutMs,
  });
  return { url: `mqtt://127.0.0.1:${daemon.port}`, port: daemon.port, stop: daemon.stop, start: daemon.start, close: daemon.close, log: daemon.log };
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
