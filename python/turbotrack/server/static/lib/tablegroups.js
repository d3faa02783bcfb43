/**
 * The runs table grouped (the workspace's "group by"): from the table's rows, already filtered and
 * sorted, the flat list of what the table draws, one header row per group followed by its runs when
 * the group is open. A header carries the group's aggregates per column: for numbers the mean,
 * lowest and highest, for other values the one value its runs share or how many they hold.
 *
 * Groups are ordered by their aggregate of the sorted column (numbers: the mean, `created`: the
 * newest; text: the shared value; `name`: the group's name), missing aggregates (and the group
 * of runs without a value) last; the runs of a
 * group keep the rows' order, so they are sorted within it. The list is plain data: the table stays
 * virtualised, a header being one more row of it.
 *
 * @module tablegroups
 */

import { NO_VALUE, groupName } from './groups.js';
import { isMissing, sortBy } from './sort.js';

/**
 * One column over a group's runs. `n`, `mean`, `min`, `max`: over its finite numbers (absent when
 * none); `distinct`: how many different values (not missing) its runs hold, its finite numbers
 * counting as one when they are all equal and as two otherwise (a column of numbers shows its
 * mean, not a count); `value`: the value when there is exactly one.
 * @typedef {{n: number, mean?: number, min?: number, max?: number, distinct: number, value?: any}} ColumnStat
 */

/**
 * A group's header row. `stat(col)`: the column over the group's runs, worked out when first
 * asked (a header scrolled into sight, the sorted column) and kept.
 * @typedef {{kind: 'group', name: string, ids: string[], open: boolean, color: string,
 *   stat: (col: string) => ColumnStat}} GroupItem
 */

/**
 * What the grouped table lists: group headers and the runs table's rows (`runRow`).
 * @typedef {GroupItem | Record<string, any>} TableItem
 */

/**
 * Whether a table item is a group's header (a run's row has no `kind`).
 * @param {TableItem} item
 * @returns {item is GroupItem}
 */
export function isGroup(item) {
  return item.kind === 'group';
}

/**
 * What a value is told apart by when counting a column's different values: itself (a Set tells
 * `1` from `'1'`), a list or dict by its JSON text behind a mark.
 * @param {any} v
 * @returns {any}
 */
function valueKey(v) {
  return typeof v === 'object' ? `\u0000${JSON.stringify(v)}` : v;
}

/**
 * One column over some rows.
 * @param {Record<string, any>[]} rows
 * @param {string} col
 * @returns {ColumnStat}
 */
export function columnStat(rows, col) {
  let n = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const seen = new Set();
  let value;
  for (const row of rows) {
    const v = row[col];
    if (typeof v === 'number' && Number.isFinite(v)) {
      n++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      continue; // not counted one by one: a column of numbers shows its mean (10,000 runs x 40 columns)
    }
    if (isMissing(v) || (Array.isArray(v) && !v.length)) continue;
    const key = valueKey(v);
    if (!seen.has(key)) {
      seen.add(key);
      value = v;
    }
  }
  const numbers = n === 0 ? 0 : min === max ? 1 : 2;
  /** @type {ColumnStat} */
  const out = { n, distinct: seen.size + numbers };
  if (n) Object.assign(out, { mean: sum / n, min, max });
  if (out.distinct === 1) out.value = numbers ? min : value;
  return out;
}

/**
 * The value a group is sorted by for a column: the mean of its numbers (`created`: the newest),
 * else the value its runs share, else nothing (sorted last).
 * @param {ColumnStat|undefined} stat
 * @param {string} col
 * @returns {any}
 */
export function sortValue(stat, col) {
  if (!stat) return undefined;
  if (stat.n) return col === 'created' ? stat.max : stat.mean;
  return stat.distinct === 1 ? stat.value : undefined;
}

/**
 * The table's items for grouped rows.
 * @param {Record<string, any>[]} rows the table's rows, filtered and sorted
 * @param {{groupBy: string, sort: {col: string, dir: 'asc'|'desc'}, open: Iterable<string>,
 *   colors?: Map<string, string>}} how `groupBy` the column that groups ('' none: the rows as they
 *   are); `open` the names of the groups shown with their runs; `colors` each group's colour
 *   (lib/groups.js groupColors)
 * @returns {{items: TableItem[], groups: GroupItem[]}} the items in table order, and the groups in it
 */
export function tableItems(rows, { groupBy, sort, open, colors = new Map() }) {
  if (!groupBy) return { items: rows, groups: [] };
  const isOpen = new Set(open);
  /** @type {Map<string, Record<string, any>[]>} */
  const members = new Map();
  for (const row of rows) {
    const name = groupName(row[groupBy]);
    let list = members.get(name);
    if (!list) members.set(name, (list = []));
    list.push(row);
  }
  /** @type {GroupItem[]} */
  const unsorted = [];
  for (const [name, list] of members) {
    /** @type {Map<string, ColumnStat>} */
    const known = new Map();
    const stat = (/** @type {string} */ col) => {
      let st = known.get(col);
      if (!st) known.set(col, (st = columnStat(list, col)));
      return st;
    };
    unsorted.push({ kind: 'group', name, ids: list.map((r) => r.id), open: isOpen.has(name), color: colors.get(name) || '', stat });
  }
  const groups = sort.col === 'name'
    ? sortBy(unsorted, (g) => (g.name === NO_VALUE ? undefined : g.name), sort.dir)
    : sortBy(unsorted, (g) => sortValue(g.stat(sort.col), sort.col), sort.dir);
  /** @type {TableItem[]} */
  const items = [];
  for (const g of groups) {
    items.push(g);
    if (g.open) for (const row of /** @type {Record<string, any>[]} */ (members.get(g.name))) items.push(row);
  }
  return { items, groups };
}
