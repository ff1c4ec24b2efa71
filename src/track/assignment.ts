/**
 * Optimal linear assignment (minimum total cost) on a dense, possibly rectangular cost matrix, with an
 * optional cost limit. This is the shortest-augmenting-path Hungarian method with row/column potentials
 * (Kuhn-Munkres in the Jonker-Volgenant formulation), O(n^2 m) for n <= m.
 *
 * Cost limit semantics (as lapjv's `cost_limit` in ByteTrack): a pair whose cost is at or above the limit
 * is never assigned, and the solver minimises  sum(cost of assigned pairs) + limit * (number of rows and
 * columns left unassigned) / 2,  i.e. a pair is only worth assigning when it beats leaving both of its
 * ends unassigned (a pair exactly at the limit gains nothing and is left out). Implemented exactly by
 * minimising  sum(min(cost - limit, 0))  over full assignments and dropping the pairs at or above the
 * limit afterwards.
 */

/** Reusable solver: keeps its work buffers between calls so the tracker's hot path does not allocate. */
export class AssignmentSolver {
  private capacityRows = 0;
  private capacityCols = 0;
  private work = new Float64Array(0);
  private rowPotential = new Float64Array(0);
  private colPotential = new Float64Array(0);
  private minSlack = new Float64Array(0);
  private colToRow = new Int32Array(0);
  private previousCol = new Int32Array(0);
  private colUsed = new Uint8Array(0);

  /**
   * Solves the assignment for `cost` (row-major, rows x cols). Writes, for each row, the assigned column
   * or -1 into `rowToCol` (length >= rows) and returns the number of assigned pairs.
   * Costs must not be NaN; +Infinity is allowed only together with a finite `costLimit` (it is above it).
   */
  solve(cost: ArrayLike<number>, rows: number, cols: number, rowToCol: Int32Array, costLimit = Infinity): number {
    rowToCol.fill(-1, 0, rows);
    if (rows === 0 || cols === 0) return 0;
    // The method needs at most as many rows as columns: solve the transpose when there are more rows.
    const transposed = rows > cols;
    const n = transposed ? cols : rows;
    const m = transposed ? rows : cols;
    this.ensureCapacity(n, m);
    const a = this.work;
    const limited = costLimit !== Infinity;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const c = transposed ? cost[j * cols + i]! : cost[i * cols + j]!;
        a[i * m + j] = limited ? Math.min(c - costLimit, 0) : c;
      }
    }
    this.hungarian(n, m);
    let assigned = 0;
    for (let j = 0; j < m; j++) {
      const i = this.colToRow[j + 1]! - 1;
      if (i < 0) continue;
      const row = transposed ? j : i;
      const col = transposed ? i : j;
      if (limited && !(cost[row * cols + col]! < costLimit)) continue;
      rowToCol[row] = col;
      assigned++;
    }
    return assigned;
  }

  /** Assigns every one of the n rows of `work` (n x m, n <= m) to a distinct column at minimum total cost. */
  private hungarian(n: number, m: number): void {
    const a = this.work;
    const u = this.rowPotential;
    const v = this.colPotential;
    const p = this.colToRow; // 1-based row assigned to column j (1..m); column 0 is the virtual start.
    const way = this.previousCol;
    const minv = this.minSlack;
    const used = this.colUsed;
    u.fill(0, 0, n + 1);
    v.fill(0, 0, m + 1);
    p.fill(0, 0, m + 1);
    for (let i = 1; i <= n; i++) {
      p[0] = i;
      let j0 = 0;
      minv.fill(Infinity, 0, m + 1);
      used.fill(0, 0, m + 1);
      do {
        used[j0] = 1;
        const i0 = p[j0]!;
        const rowBase = (i0 - 1) * m - 1;
        const ui0 = u[i0]!;
        let delta = Infinity;
        let j1 = 0;
        for (let j = 1; j <= m; j++) {
          if (used[j]) continue;
          const reduced = a[rowBase + j]! - ui0 - v[j]!;
          if (reduced < minv[j]!) {
            minv[j] = reduced;
            way[j] = j0;
          }
          if (minv[j]! < delta) {
            delta = minv[j]!;
            j1 = j;
          }
        }
        for (let j = 0; j <= m; j++) {
          if (used[j]) {
            u[p[j]!]! += delta;
            v[j]! -= delta;
          } else {
            minv[j]! -= delta;
          }
        }
        j0 = j1;
      } while (p[j0] !== 0);
      do {
        const j1 = way[j0]!;
        p[j0] = p[j1]!;
        j0 = j1;
      } while (j0 !== 0);
    }
  }

  private ensureCapacity(n: number, m: number): void {
    if (n <= this.capacityRows && m <= this.capacityCols) return;
    this.capacityRows = Math.max(n, this.capacityRows);
    this.capacityCols = Math.max(m, this.capacityCols);
    const rowsCap = this.capacityRows;
    const colsCap = this.capacityCols;
    this.work = new Float64Array(rowsCap * colsCap);
    this.rowPotential = new Float64Array(rowsCap + 1);
    this.colPotential = new Float64Array(colsCap + 1);
    this.minSlack = new Float64Array(colsCap + 1);
    this.colToRow = new Int32Array(colsCap + 1);
    this.previousCol = new Int32Array(colsCap + 1);
    this.colUsed = new Uint8Array(colsCap + 1);
  }
}

/** One-off convenience: the row -> column assignment (-1 = unassigned) minimising total cost. */
export function solveAssignment(cost: ArrayLike<number>, rows: number, cols: number, costLimit = Infinity): Int32Array {
  const rowToCol = new Int32Array(rows);
  new AssignmentSolver().solve(cost, rows, cols, rowToCol, costLimit);
  return rowToCol;
}
