/**
 * Result files for recorded-video analysis, as 'wait' sinks: written incrementally, one whole
 * record per write, and a write waits while the file's stream is over its high-water mark, so
 * decoding pauses rather than results piling up in memory. An interrupted run leaves only complete
 * lines behind.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { FrameResult } from '../types.js';
import { motResultLine } from '../tools/mot/formats.js';
import { detectionToJson } from './resultJson.js';
import type { ResultSink } from './sink.js';

/** `{"frame","pts","width","height","detections":[...]}` per decoded frame, in order. */
export function jsonlLine(r: FrameResult): string {
  return (
    JSON.stringify({
      frame: r.index,
      pts: Math.round(r.pts * 1e6) / 1e6,
      width: r.width,
      height: r.height,
      detections: r.detections.map(detectionToJson),
    }) + '\n'
  );
}

/** MOTChallenge results: `frame,id,x,y,w,h,score,-1,-1,-1`, 1-based frames, tracked objects only. */
export function motLines(r: FrameResult): string {
  let out = '';
  for (const d of r.detections) {
    if (d.trackId === undefined) continue;
    const [x1, y1, x2, y2] = d.box;
    out += motResultLine({ frame: r.index + 1, id: d.trackId, x: x1, y: y1, w: x2 - x1, h: y2 - y1, score: d.score });
  }
  return out;
}

/** A text file with one formatted record per result. */
export class ResultFileSink implements ResultSink {
  readonly backpressure = 'wait';
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(
    readonly name: string,
    path: string,
    private readonly format: (r: FrameResult) => string,
  ) {
    this.stream = createWriteStream(path, { flags: 'w' });
    this.stream.on('error', (err) => {
      this.failure = new Error(`cannot write ${path}: ${err.message}`);
    });
  }

  async write(result: FrameResult): Promise<void> {
    if (this.failure) throw this.failure;
    const text = this.format(result);
    if (text.length > 0 && !this.stream.write(text)) await this.settled('drain');
    if (this.failure) throw this.failure;
  }

  /** Resolves on `event` or on an error, leaving no listener behind. */
  private settled(event: 'drain' | 'close'): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off(event, done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on(event, done);
      this.stream.on('error', done);
    });
  }

  async close(): Promise<void> {
    if (!this.stream.closed) {
      this.stream.end();
      await this.settled('close');
    }
    if (this.failure) throw this.failure;
  }
}
