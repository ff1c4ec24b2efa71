/**
 * The widths a smaller copy of a stream's JPEGs (a rendition) may have, for subscriptions with
 * `maxWidth` (docs/protocol.md). A client's maxWidth is rounded up to the next of these, so clients
 * whose tiles are about the same size share one rendition. The server and the dashboard both use
 * it (no imports: the dashboard bundles it).
 */
export const RENDITION_WIDTHS: readonly number[] = [160, 240, 320, 480, 640, 800, 960, 1280, 1600, 1920, 2560, 3840];

/** The rendition width for a client that shows at most `maxWidth` pixels; undefined past the largest (the full JPEG). */
export function renditionWidth(maxWidth: number): number | undefined {
  return RENDITION_WIDTHS.find((w) => w >= maxWidth);
}
