/** The client-side object filter: a confidence floor and the classes the viewer switched off. */
import type { WireObject } from './wire.js';

export interface ObjectFilter {
  minScore: number;
  /** Labels switched off; labels seen later are shown until switched off. */
  hiddenLabels: ReadonlySet<string>;
}

export function visibleObjects(objects: readonly WireObject[], filter: ObjectFilter): WireObject[] {
  return objects.filter((o) => o.score >= filter.minScore && !filter.hiddenLabels.has(o.label));
}
