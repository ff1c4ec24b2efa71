/**
 * What ffmpeg says about its input before decoding (pure): the "Input #0" dump on stderr, e.g.
 *
 *   Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:clip.mp4':
 *     Duration: 00:00:02.00, start: 0.000000, bitrate: 4309 kb/s
 *     Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, top first), 640x480, 15 fps, 15 tbr, ...
 *       displaymatrix: rotation of 90.00 degrees
 *   Output #0, rawvideo, to 'pipe:1':
 *
 * Read for the first video stream of input 0 (the one `[0:v]` decodes): codec, stored size, frame
 * rate, field order (interlacing) and the display rotation a player applies; and the first audio
 * stream's codec.
 */

export interface InputHeader {
  /** Demuxer name(s) as listed ("mov,mp4,m4a,3gp,3g2,mj2", "rtsp", "hls", "mjpeg"). */
  format?: string;
  /** Seconds; undefined for live sources ("Duration: N/A"). */
  duration?: number;
  codec?: string;
  /** Stored (coded) size, before rotation; undefined until the stream has one. */
  width?: number;
  height?: number;
  /** Frames per second (fps, else tbr); 0 when not listed. */
  fps: number;
  /** Interlaced content, from the field order in the pixel format's details ("top first", ...). */
  interlaced: boolean;
  /** Clockwise degrees a player rotates the picture (0, 90, 180, 270), from the display matrix. */
  rotation: number;
  /** Codec of the first audio stream, if any. */
  audioCodec?: string;
}

/** Feeds stderr lines (text only, without ffmpeg's level tags); `done` once the dump is over. */
export class InputHeaderParser {
  readonly header: InputHeader = { fps: 0, interlaced: false, rotation: 0 };
  private inInput = false;
  private videoSeen = false;
  /** The rotation line belongs to the stream line just before it. */
  private inVideo = false;
  done = false;
  /** True once the first video stream was listed. */
  get hasVideo(): boolean {
    return this.videoSeen;
  }

  push(text: string): void {
    if (this.done) return;
    const input = /^Input #(\d+), (.+?), from /.exec(text);
    if (input) {
      this.inInput = input[1] === '0';
      if (this.inInput) this.header.format = input[2];
      return;
    }
    if (/^Output #\d+|^Stream mapping:/.test(text)) {
      this.done = true;
      return;
    }
    if (!this.inInput) return;
    const duration = /^\s*Duration: (?:(\d+):(\d{2}):(\d{2}(?:\.\d+)?)|N\/A)/.exec(text);
    if (duration) {
      if (duration[1] !== undefined) {
        const seconds = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
        if (seconds > 0) this.header.duration = seconds;
      }
      return;
    }
    const stream = /^\s*Stream #0:\d+.*?: (\w+): (.*)$/.exec(text);
    if (stream) {
      if (stream[1] === 'Audio') this.header.audioCodec ??= /^([\w-]+)/.exec(stream[2])?.[1];
      this.inVideo = stream[1] === 'Video' && !this.videoSeen;
      if (this.inVideo) {
        this.videoSeen = true;
        Object.assign(this.header, parseVideoStream(stream[2]));
      }
      return;
    }
    const rotation = /displaymatrix: rotation of (-?[\d.]+) degrees/.exec(text);
    if (rotation && this.inVideo) this.header.rotation = clockwiseRotation(Number(rotation[1]));
    // Old muxers' tag (clockwise), printed by ffmpeg 4.x beside the matrix.
    const tag = /^\s*rotate\s*:\s*(-?\d+)\s*$/.exec(text);
    if (tag && this.inVideo && this.header.rotation === 0) this.header.rotation = normaliseRotation(Number(tag[1]));
  }
}

/** `h264 (High) (avc1 / 0x31637661), yuv420p(tv, top first), 640x480 [SAR 1:1 DAR 4:3], 15 fps, 15 tbr, ...` */
export function parseVideoStream(desc: string): Pick<InputHeader, 'codec' | 'width' | 'height' | 'fps' | 'interlaced'> {
  const codec = /^([\w-]+)/.exec(desc)?.[1];
  const size = /, (\d{1,5})x(\d{1,5})[\s,[]/.exec(`${desc} `);
  const rate = /, ([\d.]+)(k?) fps/.exec(desc) ?? /, ([\d.]+)(k?) tbr/.exec(desc);
  const fps = rate ? Number(rate[1]) * (rate[2] ? 1000 : 1) : 0;
  return {
    codec,
    width: size ? Number(size[1]) : undefined,
    height: size ? Number(size[2]) : undefined,
    fps: fps > 0 && fps <= 1000 ? fps : 0,
    interlaced: /\b(top|bottom) (coded )?first\b/.test(desc),
  };
}

/**
 * A display matrix's rotation (counter-clockwise degrees, as ffmpeg prints it) as the clockwise
 * turn a player applies, to the nearest quarter: ffmpeg's autorotation turns by -angle.
 */
export function clockwiseRotation(ccwDegrees: number): number {
  return normaliseRotation(-ccwDegrees);
}

function normaliseRotation(cwDegrees: number): number {
  const quarter = Math.round(cwDegrees / 90);
  return (((quarter % 4) + 4) % 4) * 90;
}

/** The displayed size of a stored size turned by `rotation` degrees. */
export function displayedSize(width: number, height: number, rotation: number): { width: number; height: number } {
  return rotation === 90 || rotation === 270 ? { width: height, height: width } : { width, height };
}
