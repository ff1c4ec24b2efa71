/**
 * How many tiles a page of the grid holds and in how many columns, so the grid fills the space it
 * has without scrolling: the arrangement whose videos come out largest, and pages when even the
 * best one would make tiles smaller than `minVideoWidth`.
 */
export interface GridSpace {
  /** Size of the grid's area, CSS px. */
  width: number;
  height: number;
  /** Space between tiles, px. */
  gap: number;
  /** Height a tile's header takes above its video, px. */
  headHeight: number;
  /** Width / height of the videos (the common one). */
  aspect: number;
  /** Narrowest video worth showing; fewer tiles per page below it. */
  minVideoWidth: number;
}

export interface GridFit {
  cols: number;
  rows: number;
  /** Tiles on one page (cols x rows may have a few cells more). */
  perPage: number;
  pages: number;
  /** Width of the video in each tile, px. */
  videoWidth: number;
}

/** The arrangement of `count` tiles (one page) that gives the widest videos. */
function arrange(count: number, s: GridSpace): { cols: number; rows: number; videoWidth: number } {
  let best = { cols: 1, rows: count, videoWidth: -1 };
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    const cellW = (s.width - s.gap * (cols - 1)) / cols;
    const cellH = (s.height - s.gap * (rows - 1)) / rows;
    const videoWidth = Math.max(0, Math.min(cellW, (cellH - s.headHeight) * s.aspect));
    // Ties (the height limits both): fewer empty cells.
    if (videoWidth > best.videoWidth + 0.5 || (Math.abs(videoWidth - best.videoWidth) <= 0.5 && cols * rows < best.cols * best.rows)) best = { cols, rows, videoWidth };
  }
  return best;
}

export function fitGrid(count: number, space: GridSpace): GridFit {
  const n = Math.max(1, count);
  let perPage = n;
  let a = arrange(perPage, space);
  while (perPage > 1 && a.videoWidth < space.minVideoWidth) a = arrange(--perPage, space);
  return { cols: a.cols, rows: a.rows, perPage, pages: Math.ceil(n / perPage), videoWidth: Math.floor(a.videoWidth) };
}

/** The largest rectangle of `aspect` inside `width` x `height` (CSS `object-fit: contain`). */
export function containSize(width: number, height: number, aspect: number): { width: number; height: number } {
  if (width <= 0 || height <= 0 || !(aspect > 0)) return { width: 0, height: 0 };
  return width / height > aspect ? { width: height * aspect, height } : { width, height: width / aspect };
}
