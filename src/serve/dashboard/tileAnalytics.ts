/**
 * A tile's analytics: its zones and lines with live counts drawn over the frame, and the editor
 * that draws new ones. Fed by GET /api/streams/:id/analytics (the settings) and the `stats`
 * messages (the counts).
 */
import { AnalyticsEditor } from './analyticsEditor.js';
import { drawAnalytics } from './analyticsLayer.js';
import type { StreamTile } from './streamTile.js';
import type { AnalyticsCounts, AnalyticsView, WireAnalyticsConfig } from './wire.js';

export class TileAnalytics {
  private config: WireAnalyticsConfig | undefined;
  private counts: AnalyticsCounts | undefined;
  private readonly editor: AnalyticsEditor;

  constructor(
    private readonly tile: StreamTile,
    save: (config: WireAnalyticsConfig) => Promise<AnalyticsView | string>,
  ) {
    this.editor = new AnalyticsEditor({
      canvas: tile.canvas,
      sourceSize: () => tile.sourceSize(),
      config: () => this.config,
      save: async (config) => {
        const answer = await save(config);
        if (typeof answer === 'string') return answer;
        this.setView(answer);
        return undefined;
      },
      invalidate: () => tile.invalidate(),
    });
    tile.addTools(this.editor.toolbar);
    tile.addLayer((ctx, frame) => drawAnalytics(ctx, { config: this.config, counts: this.counts, draft: this.editor.draft, ...frame }));
  }

  setView(view: AnalyticsView): void {
    this.config = view.config;
    this.tile.element.dataset.zones = String(view.config.zones?.length ?? 0);
    this.tile.element.dataset.lines = String(view.config.lines?.length ?? 0);
    this.setCounts(view.counts);
    this.tile.invalidate();
  }

  setCounts(counts: AnalyticsCounts | undefined): void {
    const text = JSON.stringify(counts);
    if (!counts || text === JSON.stringify(this.counts)) return;
    this.counts = counts;
    // What is drawn, readable without the canvas (tests, accessibility tools).
    this.tile.element.dataset.counts = text;
    this.tile.invalidate();
  }
}
