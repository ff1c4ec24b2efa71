/**
 * What the page asks the server for, per stream: video only for tiles on screen, each no wider
 * than it is shown (`maxWidth`, rounded up to the server's rendition widths so small resizes do
 * not resubscribe), for the rest detections at `OFF_SCREEN_FPS` (`maxFps`: enough to keep their
 * state, counts and classes true, at a fraction of the page's work), every frame acknowledged
 * (docs/protocol.md). Changes go out as few subscribe messages as possible: one per distinct set
 * of options.
 */
import { renditionWidth } from '../renditionWidths.js';

export interface Want {
  video: boolean;
  /** Undefined: the full JPEG. */
  maxWidth?: number;
  /** Undefined: every frame. */
  maxFps?: number;
}

/** Frames a second of a tile nobody sees: each one is parsed and handled on the page's main thread. */
export const OFF_SCREEN_FPS = 2;

export interface SubscribeMessage {
  type: 'subscribe';
  streams: string[];
  video: boolean;
  maxWidth?: number;
  maxFps?: number;
  /** The page acknowledges every stream's frames (flow control). */
  ack: true;
}

/** What a tile wants: every frame and video while shown (video if the stream has it, at the rendition width of its size in device pixels); a few detections a second while not. */
export function tileWant(opts: { hasVideo: boolean; shown: boolean; devicePixels: number }): Want {
  if (!opts.shown) return { video: false, maxFps: OFF_SCREEN_FPS };
  if (!opts.hasVideo) return { video: false };
  const w = renditionWidth(Math.max(1, Math.ceil(opts.devicePixels)));
  return w === undefined ? { video: true } : { video: true, maxWidth: w };
}

const same = (a: Want | undefined, b: Want): boolean => a !== undefined && a.video === b.video && a.maxWidth === b.maxWidth && a.maxFps === b.maxFps;

/** The subscribe messages that take the server from `sent` to `wanted` (streams with equal wants together). */
export function subscribeMessages(sent: ReadonlyMap<string, Want>, wanted: ReadonlyMap<string, Want>): SubscribeMessage[] {
  const groups = new Map<string, SubscribeMessage>();
  for (const [id, want] of wanted) {
    if (same(sent.get(id), want)) continue;
    const key = `${want.video}:${want.maxWidth ?? ''}:${want.maxFps ?? ''}`;
    let m = groups.get(key);
    if (!m) {
      m = {
        type: 'subscribe',
        streams: [],
        video: want.video,
        ...(want.maxWidth !== undefined ? { maxWidth: want.maxWidth } : {}),
        ...(want.maxFps !== undefined ? { maxFps: want.maxFps } : {}),
        ack: true,
      };
      groups.set(key, m);
    }
    m.streams.push(id);
  }
  return [...groups.values()];
}
