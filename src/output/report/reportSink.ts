/**
 * The analysis report as a 'wait' sink: results (with their source frames, for the thumbnails)
 * go into a ReportCollector while the run goes on; close() writes the HTML file. An interrupted run
 * still gets a report of what was analysed.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { FrameResult } from '../../types.js';
import { wrapImage } from '../render/image.js';
import { matrixOf } from '../render/yuv.js';
import type { ResultSink } from '../sink.js';
import { ReportCollector, type CollectorOptions } from './collector.js';
import { renderReport, type ReportMeta } from './html.js';

export class ReportSink implements ResultSink {
  readonly name = 'report';
  readonly backpressure = 'wait';
  private readonly collector: ReportCollector;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly meta: ReportMeta,
    options?: CollectorOptions,
  ) {
    this.collector = new ReportCollector(options);
  }

  write(result: FrameResult): void {
    const s = result.source;
    // Boxes of a source that changed resolution do not fit its (first-size) pixels: no crop then.
    const fits = s && s.width === result.width && s.height === result.height;
    this.collector.add(result, fits ? wrapImage(s.width, s.height, s.yuv, matrixOf(this.meta.input.colorSpace)) : undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const html = renderReport(this.meta, await this.collector.finish());
    // Whole or not at all: a reader never opens half a report.
    const partial = `${this.path}.partial`;
    try {
      await writeFile(partial, html);
      await rename(partial, this.path);
    } catch (err) {
      throw new Error(`cannot write ${this.path}: ${(err as Error).message}`);
    }
  }
}
