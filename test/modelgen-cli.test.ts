import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

function streamlens(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { cwd: root }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function serve(body: Uint8Array): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}/yolov10n.pt` };
}

describe('streamlens models', () => {
  it('build writes the named model and list shows it with its metadata', async () => {
    const b = await streamlens(['models', 'build', 'synthetic-det-v8', '--imgsz', '320']);
    expect(b.code).toBe(0);
    const path = join(root, 'models', 'synthetic-det-v8-320.onnx');
    expect(b.stdout).toContain(path);
    const l = await streamlens(['models', 'list']);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/synthetic-det-v8-320\.onnx\s+[\d.]+ KiB\s+task detect, imgsz \[320, 320\], 4 classes/);
  });

  it('rejects unknown models and bad options with exit 2', async () => {
    expect((await streamlens(['models', 'build', 'nope'])).stderr).toMatch(/unknown model 'nope'/);
    const r = await streamlens(['models', 'build', 'synthetic-det', '--imgsz', '100']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--imgsz must be a multiple of 32/);
  });

  it('fetch refuses an .onnx target: official weights are .pt and need the Ultralytics export', async () => {
    const r = await streamlens(['models', 'fetch', 'yolov10n', '--out', 'models/yolov10n.onnx']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/published as \.pt.*yolo export model=yolov10n\.pt format=onnx/);
  });

  it('fetch verifies the checksum: a match is written, a mismatch is not', async () => {
    const body = new Uint8Array(4096).map((_, i) => (i * 31) & 255);
    const sha = createHash('sha256').update(body).digest('hex');
    const { server, url } = await serve(body);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'fetch-'));
      const good = join(dir, 'good.pt');
      const ok = await streamlens(['models', 'fetch', 'yolov10n', '--url', url, '--sha256', sha, '--out', good]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`sha256 ${sha} verified`);
      expect(createHash('sha256').update(readFileSync(good)).digest('hex')).toBe(sha);
      const bad = join(dir, 'bad.pt');
      const wrong = await streamlens(['models', 'fetch', 'yolov10n', '--url', url, '--sha256', '0'.repeat(64), '--out', bad]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/checksum mismatch/);
      expect(existsSync(bad)).toBe(false);
    } finally {
      server.close();
    }
  });

  it('fetch fails with one line saying what to do when the download is impossible', async () => {
    const { server, url } = await serve(new Uint8Array(0));
    server.close();
    await new Promise((r) => server.once('close', r));
    const out = join(mkdtempSync(join(tmpdir(), 'fetch-')), 'w.pt');
    const r = await streamlens(['models', 'fetch', 'yolov10n', '--url', url, '--sha256', 'a'.repeat(64), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot download .*pip install ultralytics && yolo export model=yolov10n\.pt format=onnx/);
    expect(existsSync(out)).toBe(false);
  });
});
