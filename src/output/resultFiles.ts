/**
 * Result files for recorded-video analysis, as 'wait' sinks: written incrementally, one whole
 * record per write, and a write waits while the file's stream is over its high-water mark, so
 * decoding pauses rather than results piling up in memory. An interrupted run leaves only complete
 * lines behind.
 */
import type { FrameResult } from '../types.js';
import { motResultLine } from '../tools/mot/formats.js';
import { detectionToJson, motionToJson } from './resultJson.js';
import type { ResultSink } from './sink.js';
import { TextFile } from './textFile.js';

/**
 * `{"frame","pts","width","height","detections":[...]}` per decoded frame, in order; with motion
 * gating also `"motion": {"changed", "reason", "regions"}` (`regions` where something moved) and,
 * on frames whose detections were carried forward, `"inferred": false`.
 */
export function jsonlLine(r: FrameResult): string {
  return (
    JSON.stringify({
      frame: r.index,
      pts: Math.round(r.pts * 1e6) / 1e6,
      width: r.width,
      height: r.height,
      ...(r.inferred === false ? { inferred: false } : {}),
      ...(r.motion ? { motion: motionToJson(r.motion) } : {}),
      detections: r.detections.map(detectionToJson),
    }) + '\n'
  );
}

/** Analytics events (docs/analytics.md), one JSON object per line, in the order they happened. */
export function eventLines(r: FrameResult): string {
  let out = '';
  for (const e of r.events ?? []) out += JSON.stringify(e) + '\n';
  return out;
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
  private readonly file: TextFile;

  constructor(
    readonly name: string,
    path: string,
    private readonly format: (r: FrameResult) => string,
  ) {
    this.file = new TextFile(path);
  }

  write(result: FrameResult): Promise<void> {
    return this.file.write(this.format(result));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
