/**
 * Where each detection's tag ("label score #id") goes so that tags never cover one another and
 * cover other objects as little as possible. Tags are placed in priority order (the caller puts
 * the highest score first): each takes the first free place around its box (above, inside the top,
 * below, the right-hand corners) that overlaps other boxes least; a tag with no free place is left
 * out and its box is drawn alone.
 */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TagRequest {
  box: Rect;
  /** The tag's size. */
  w: number;
  h: number;
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Candidate places of a tag around its box, best first, kept on the canvas. */
function candidates(r: TagRequest, width: number, height: number): Rect[] {
  const { box: b, w, h } = r;
  const places = [
    [b.x, b.y - h],
    [b.x, b.y],
    [b.x, b.y + b.h],
    [b.x + b.w - w, b.y - h],
    [b.x + b.w - w, b.y + b.h],
    [b.x, b.y + b.h - h],
  ];
  return places.map(([x, y]) => ({ x: Math.max(0, Math.min(x!, width - w)), y: Math.max(0, Math.min(y!, height - h)), w, h }));
}

/** One place per request (same order), or undefined where there is no free place. */
export function placeTags(requests: readonly TagRequest[], width: number, height: number): Array<Rect | undefined> {
  const placed: Rect[] = [];
  return requests.map((r, i) => {
    let best: Rect | undefined;
    let bestCover = Infinity;
    for (const c of candidates(r, width, height)) {
      if (placed.some((p) => overlap(c, p) > 0)) continue;
      let cover = 0;
      requests.forEach((o, j) => {
        if (j !== i) cover += overlap(c, o.box);
      });
      if (cover < bestCover) {
        best = c;
        bestCover = cover;
        if (cover === 0) break;
      }
    }
    if (best) placed.push(best);
    return best;
  });
}
