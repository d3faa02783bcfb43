/**
 * Run colours in the workspace: the runs drawn, in the order they were created, take the 20
 * colours of `DISTINCT` one each (so up to 20 runs never share one, whatever the table's sort),
 * runs beyond those a hash of their id (`colorFor`); a colour the user chose for a run wins, and
 * the distinct colours it takes are not given to another run.
 *
 * @module colors
 */

import { colorFor } from './format.js';

/** Twenty colours told apart on a white or a dark background (Tableau 20, reordered: strong first). */
export const DISTINCT = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#6b6ecf', '#dbdb8d', '#9edae5',
];

/**
 * @param {{id: string, created?: number}[]} runs the runs drawn
 * @param {Record<string, string>} [chosen] id → a colour the user chose
 * @returns {Map<string, string>} id → colour
 */
export function assignColors(runs, chosen = {}) {
  const out = new Map();
  const taken = new Set();
  for (const r of runs) {
    if (chosen[r.id]) {
      out.set(r.id, chosen[r.id]);
      taken.add(chosen[r.id].toLowerCase());
    }
  }
  const free = DISTINCT.filter((c) => !taken.has(c));
  const byAge = [...runs].filter((r) => !out.has(r.id))
    .sort((a, b) => (a.created ?? 0) - (b.created ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  byAge.forEach((r, i) => out.set(r.id, i < free.length ? free[i] : colorFor(r.id)));
  return out;
}
