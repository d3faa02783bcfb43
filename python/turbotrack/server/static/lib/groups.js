/**
 * Grouped runs (the workspace's "group by"): runs sharing a value of a column (`group`,
 * `job_type`, a `config.*` key) drawn as one line, the mean of their values at each x, inside a
 * band from their lowest to their highest value there.
 *
 * @module groups
 */

/** The name of the group of runs without a value in the column. */
export const NO_VALUE = '(none)';

/**
 * @param {Record<string, any>[]} rows runs table rows (`runRow`), in the order wanted
 * @param {string} col
 * @returns {Map<string, string[]>} group name → run ids, groups in the order of their first run
 */
export function groupRuns(rows, col) {
  const out = new Map();
  for (const row of rows) {
    const v = row[col];
    const name = v === null || v === undefined || v === '' ? NO_VALUE : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (!out.has(name)) out.set(name, []);
    out.get(name).push(row.id);
  }
  return out;
}

/**
 * Mean, lowest and highest of several series at each x any of them has (a series counts at an x
 * only where it has a finite value there).
 * @param {{x: ArrayLike<number>, y: ArrayLike<number|null>}[]} series
 * @returns {{x: number[], mean: (number|null)[], min: (number|null)[], max: (number|null)[], n: number[]}}
 */
export function aggregate(series) {
  /** @type {Map<number, {sum: number, n: number, min: number, max: number}>} */
  const at = new Map();
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const y = s.y[i];
      if (typeof y !== 'number' || !Number.isFinite(y)) continue;
      const e = at.get(s.x[i]);
      if (!e) at.set(s.x[i], { sum: y, n: 1, min: y, max: y });
      else {
        e.sum += y;
        e.n++;
        if (y < e.min) e.min = y;
        if (y > e.max) e.max = y;
      }
    }
  }
  const x = [...at.keys()].sort((a, b) => a - b);
  const mean = [];
  const min = [];
  const max = [];
  const n = [];
  for (const k of x) {
    const e = /** @type {{sum: number, n: number, min: number, max: number}} */ (at.get(k));
    mean.push(e.sum / e.n);
    min.push(e.min);
    max.push(e.max);
    n.push(e.n);
  }
  return { x, mean, min, max, n };
}
