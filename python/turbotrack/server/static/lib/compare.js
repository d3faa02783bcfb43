/**
 * Runs side by side: every config and summary field of 2 to 5 runs (`columns.runRow` rows), one row
 * per field, marked when the runs' values differ (a field some runs lack differs too).
 *
 * @module compare
 */

export const MIN_COMPARE = 2;
export const MAX_COMPARE = 5;

/**
 * @typedef {{key: string, values: any[], differs: boolean}} CompareRow
 */

/**
 * A value as comparable text: NaN equals NaN, -0 equals 0, lists and dicts by their JSON.
 * @param {any} v
 * @returns {string}
 */
export function sameKey(v) {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v === 0 ? 0 : v);
  if (typeof v === 'object') return `j:${JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x))}`;
  return `${typeof v}:${String(v)}`;
}

/**
 * @param {import('./fields.js').Row[]} rows the runs, in column order
 * @param {{onlyDiff?: boolean, prefixes?: string[]}} [opts] onlyDiff: only the fields that differ;
 *   prefixes: which fields (default config. and summary.)
 * @returns {CompareRow[]} config fields first, then summary, each sorted
 */
export function compareRuns(rows, opts = {}) {
  const prefixes = opts.prefixes || ['config.', 'summary.'];
  const keys = new Set();
  for (const r of rows) for (const k of Object.keys(r)) if (prefixes.some((p) => k.startsWith(p))) keys.add(k);
  const order = (/** @type {string} */ k) => prefixes.findIndex((p) => k.startsWith(p));
  const sorted = [...keys].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  /** @type {CompareRow[]} */
  const out = [];
  for (const key of sorted) {
    const values = rows.map((r) => r[key]);
    const differs = new Set(values.map(sameKey)).size > 1;
    if (!opts.onlyDiff || differs) out.push({ key, values, differs });
  }
  return out;
}

/**
 * The picked run ids after toggling `id` (any number may be picked: bulk actions take them all).
 * @param {string[]} picked
 * @param {string} id
 * @returns {string[]}
 */
export function togglePick(picked, id) {
  return picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id];
}

/**
 * Every id picked: those already picked first, in their order, then the rest in `ids`' order.
 * @param {string[]} picked
 * @param {string[]} ids
 * @returns {string[]}
 */
export function pickAll(picked, ids) {
  return [...picked, ...ids.filter((id) => !picked.includes(id))];
}

/**
 * The picked that a comparison shows: the first MAX_COMPARE.
 * @template T
 * @param {T[]} picked
 * @returns {T[]}
 */
export function compared(picked) {
  return picked.slice(0, MAX_COMPARE);
}
