/**
 * What the page asks the server for, per stream: video only for tiles on screen, each no wider
 * than it is shown (`maxWidth`, rounded up to the server's rendition widths so small resizes do
 * not resubscribe), detections for the rest, every frame acknowledged (docs/protocol.md). Changes go out as few subscribe
 * messages as possible: one per distinct set of options.
 */
import { renditionWidth } from '../renditionWidths.js';

export interface Want {
  video: boolean;
  /** Undefined: the full JPEG. */
  maxWidth?: number;
}

export interface SubscribeMessage {
  type: 'subscribe';
  streams: string[];
  video: boolean;
  maxWidth?: number;
  /** The page acknowledges every stream's frames (flow control). */
  ack: true;
}

/** What a tile wants: video while shown (and the stream has video), at the rendition width of its size in device pixels. */
export function tileWant(opts: { hasVideo: boolean; shown: boolean; devicePixels: number }): Want {
  if (!opts.hasVideo || !opts.shown) return { video: false };
  const w = renditionWidth(Math.max(1, Math.ceil(opts.devicePixels)));
  return w === undefined ? { video: true } : { video: true, maxWidth: w };
}

const same = (a: Want | undefined, b: Want): boolean => a !== undefined && a.video === b.video && a.maxWidth === b.maxWidth;

/** The subscribe messages that take the server from `sent` to `wanted` (streams with equal wants together). */
export function subscribeMessages(sent: ReadonlyMap<string, Want>, wanted: ReadonlyMap<string, Want>): SubscribeMessage[] {
  const groups = new Map<string, SubscribeMessage>();
  for (const [id, want] of wanted) {
    if (same(sent.get(id), want)) continue;
    const key = `${want.video}:${want.maxWidth ?? ''}`;
    let m = groups.get(key);
    if (!m) groups.set(key, (m = { type: 'subscribe', streams: [], video: want.video, ...(want.maxWidth !== undefined ? { maxWidth: want.maxWidth } : {}), ack: true }));
    m.streams.push(id);
  }
  return [...groups.values()];
}
