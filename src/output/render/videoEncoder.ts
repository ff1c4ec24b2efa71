/**
 * Raw yuv420p frames into an H.264 file through owned ffmpeg children (args: encodeArgs and
 * muxAudioArgs in ingest/ffmpeg.ts). A couple of frames may be in flight on the pipe so drawing
 * the next frame overlaps with ffmpeg reading this one; beyond that write() waits (the pipe is the
 * backpressure). With audio, the video is encoded to a side file and the audio added by a stream
 * copy when the frames end.
 */
import { rm } from 'node:fs/promises';
import { extname } from 'node:path';
import { yuv420Bytes } from '../../ingest/yuv.js';
import { describeExit, encodeArgs, ffmpegPath, muxAudioArgs, spawnFfmpeg, type EncodeSpec, type FfmpegProcess } from '../../ingest/ffmpeg.js';

export interface VideoEncoderOptions {
  /** Copy the first audio stream of this file into the output (codec from the probe). */
  audioFrom?: { url: string; codec: string };
  /** ffmpeg's niceness 0..19 (as the decoder's: encoding takes the cycles inference leaves). */
  nice?: number;
  /** Frames written but not yet taken by the pipe before write() waits (default 2). */
  maxInFlight?: number;
}

export class VideoEncoder {
  readonly spec: EncodeSpec;
  private readonly proc: FfmpegProcess;
  private readonly pending: Promise<void>[] = [];
  private readonly maxInFlight: number;
  /** Where the encoder writes: the output itself, or a side file when audio is added afterwards. */
  private readonly videoPath: string;
  private failure: Error | undefined;
  private ended = false;

  constructor(
    spec: EncodeSpec,
    private readonly opts: VideoEncoderOptions = {},
  ) {
    this.spec = spec;
    const ext = extname(spec.out);
    this.videoPath = opts.audioFrom ? `${spec.out.slice(0, spec.out.length - ext.length)}.video-partial${ext}` : spec.out;
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.proc = spawnFfmpeg(encodeArgs({ ...spec, out: this.videoPath }), { stdin: true, nice: opts.nice, tailLines: 8 });
  }

  /** Queues one yuv420p frame (yuv420Bytes of the size); resolves once at most maxInFlight frames wait. */
  async write(yuv: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    const expected = yuv420Bytes(this.spec.width, this.spec.height);
    if (yuv.length !== expected) throw new Error(`render: frame of ${yuv.length} bytes, expected ${expected} (${this.spec.width}x${this.spec.height} yuv420p)`);
    const stdin = this.proc.stdin!;
    const written = new Promise<void>((resolve, reject) => {
      stdin.write(yuv, (err) => (err ? reject(err) : resolve()));
    });
    written.catch(() => undefined);
    this.pending.push(written);
    while (this.pending.length > this.maxInFlight) {
      try {
        await this.pending.shift();
      } catch {
        throw await this.failed(this.proc);
      }
    }
  }

  /** Ends the input and waits for ffmpeg to finish the file; on failure nothing is left behind. */
  async finish(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await Promise.all(this.pending.splice(0));
    } catch {
      throw await this.failed(this.proc);
    }
    this.proc.stdin!.end();
    if ((await this.proc.exited).code !== 0) throw await this.failed(this.proc);
    if (!this.opts.audioFrom) return;
    const mux = spawnFfmpeg(muxAudioArgs(this.videoPath, this.opts.audioFrom, this.spec.out, ffmpegPath()), { nice: this.opts.nice, tailLines: 8 });
    const status = await mux.exited;
    await rm(this.videoPath, { force: true });
    if (status.code !== 0) throw await this.failed(mux);
  }

  /** Kills ffmpeg and removes the partial file. */
  async abort(): Promise<void> {
    this.ended = true;
    await this.proc.stop(500);
    await this.removeOutputs();
  }

  /** ffmpeg stopped taking frames or exited with an error: the reason from its exit and stderr. */
  private async failed(proc: FfmpegProcess): Promise<Error> {
    if (this.failure) return this.failure;
    const status = await proc.stop(500);
    this.failure = new Error(`render: ffmpeg ${describeExit(status, proc.stderrTail())} (writing ${this.spec.out})`);
    await this.removeOutputs();
    return this.failure;
  }

  private async removeOutputs(): Promise<void> {
    await rm(this.videoPath, { force: true });
    await rm(this.spec.out, { force: true });
  }
}
