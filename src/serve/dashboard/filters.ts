/**
 * The client-side object filter (a confidence floor and the classes the viewer switched off) and
 * the page's view settings, kept in the address so a reload, a bookmark or a shared link shows the
 * same: `?score=0.40&hide=car&hide=dog&stats=0&page=2` (other parameters, like `token`, are kept).
 */
import type { WireObject } from './wire.js';

export interface ObjectFilter {
  minScore: number;
  /** Labels switched off; labels seen later are shown until switched off. */
  hiddenLabels: ReadonlySet<string>;
}

export function visibleObjects(objects: readonly WireObject[], filter: ObjectFilter): WireObject[] {
  return objects.filter((o) => o.score >= filter.minScore && !filter.hiddenLabels.has(o.label));
}

export interface ViewSettings {
  minScore: number;
  hiddenLabels: Set<string>;
  /** Stats drawn over the tiles. */
  stats: boolean;
  /** The grid's page, from 1. */
  page: number;
}

export function readViewSettings(search: string): ViewSettings {
  const p = new URLSearchParams(search);
  const score = Number(p.get('score'));
  const page = Number(p.get('page'));
  return {
    minScore: p.has('score') && Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0,
    hiddenLabels: new Set(p.getAll('hide').filter((l) => l !== '')),
    stats: p.get('stats') !== '0',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

/** `search` with the view settings written in (defaults left out); other parameters untouched. */
export function writeViewSettings(search: string, v: ViewSettings): string {
  const p = new URLSearchParams(search);
  for (const key of ['score', 'hide', 'stats', 'page']) p.delete(key);
  if (v.minScore > 0) p.set('score', v.minScore.toFixed(2));
  for (const label of [...v.hiddenLabels].sort()) p.append('hide', label);
  if (!v.stats) p.set('stats', '0');
  if (v.page > 1) p.set('page', String(v.page));
  const s = p.toString();
  return s ? `?${s}` : '';
}
