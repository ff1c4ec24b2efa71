/**
 * A TCP port on 127.0.0.1 that refuses connections for as long as it is held. A socket is bound to
 * it and never listens, so connecting gets a reset (ECONNREFUSED) and no other process can take the
 * port meanwhile (binding, noting the port and closing would leave it free for anyone; fixed ports
 * such as 1 or 9 may be open on some hosts). Node cannot bind TCP without listening, so a python3
 * child holds the socket; it exits when its stdin closes, also when this process dies.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const HOLD = `import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

export interface ClosedPort {
  port: number;
  release(): Promise<void>;
}

export async function holdClosedPort(): Promise<ClosedPort> {
  const child = spawn(process.env.PYTHON ?? 'python3', ['-c', HOLD], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    void exited.then(() => reject(new Error('python3 exited before binding a port')));
    createInterface({ input: child.stdout }).once('line', (line) => resolve(Number(line)));
  });
  return {
    port,
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
