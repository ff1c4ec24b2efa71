/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a server binary that must be told its
 * port (redis-server, mosquitto). Another process may take it first: the caller notices the
 * server not starting. Tests use it too (test/helpers/localDaemon.ts).
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
