/**
 * A text file written through a stream with backpressure: write() waits while the stream's buffer
 * is over its mark, so a writer that produces faster than the disk takes holds memory flat. A write
 * error is kept and thrown by the next write or by close().
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export class TextFile {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'w' });
    this.stream.on('error', (err) => {
      this.failure ??= new Error(`cannot write ${path}: ${err.message}`);
    });
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (text.length > 0 && !this.stream.write(text)) await this.settled('drain');
    if (this.failure) throw this.failure;
  }

  /** Appends the whole content of another (closed) file. */
  async append(path: string): Promise<void> {
    for await (const chunk of createReadStream(path)) {
      if (this.failure) throw this.failure;
      if (!this.stream.write(chunk)) await this.settled('drain');
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (!this.stream.closed) {
      this.stream.end();
      await this.settled('close');
    }
    if (this.failure) throw this.failure;
  }

  /** Resolves on `event` or on an error, leaving no listener behind. */
  private async settled(event: 'drain' | 'close'): Promise<void> {
    const ac = new AbortController();
    try {
      await Promise.race([once(this.stream, event, { signal: ac.signal }), once(this.stream, 'error', { signal: ac.signal })]);
    } catch {
      // The error itself is recorded by the constructor's listener.
    } finally {
      ac.abort();
    }
  }
}
