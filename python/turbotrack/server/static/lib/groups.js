/**
 * Grouped runs (the workspace's "group by"): runs sharing a value of a column (`group`,
 * `job_type`, a `config.*` key) drawn as one line, the mean of their values at each x, inside a
 * band from their lowest to their highest value there.
 *
 * @module groups
 */

import { DISTINCT } from './colors.js';

/** The name of the group of runs without a value in the column. */
export const NO_VALUE = '(none)';

/**
 * The name of the group a value of the grouping column puts a run in.
 * @param {any} v
 * @returns {string}
 */
export function groupName(v) {
  return v === null || v === undefined || v === '' ? NO_VALUE : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * @param {Record<string, any>[]} rows runs table rows (`runRow`), in the order wanted
 * @param {string} col
 * @returns {Map<string, string[]>} group name → run ids, groups in the order of their first run
 */
export function groupRuns(rows, col) {
  const out = new Map();
  for (const row of rows) {
    const name = groupName(row[col]);
    if (!out.has(name)) out.set(name, []);
    out.get(name).push(row.id);
  }
  return out;
}

const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * The colour of each group, the one place that decides it (the charts' lines and bands and the
 * runs table's group rows both ask here): the groups' names in natural order (`NO_VALUE` last)
 * take the colours of `DISTINCT` one each, so a group keeps its colour whatever the sort, the
 * filter or the runs hidden.
 * @param {Iterable<string>} names the groups' names (repeats are fine)
 * @returns {Map<string, string>} name → colour
 */
export function groupColors(names) {
  const all = [...new Set(names)].sort((a, b) => (a === NO_VALUE ? 1 : b === NO_VALUE ? -1 : byName.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0)));
  return new Map(all.map((name, i) => [name, DISTINCT[i % DISTINCT.length]]));
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
