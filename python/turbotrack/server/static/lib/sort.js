/**
 * Sorting of table values: numbers by value, strings naturally, and missing values (undefined,
 * null, NaN) always last whichever the direction.
 *
 * @module sort
 */

/** Whether a value counts as missing for sorting. */
export function isMissing(v) {
  return v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v)) || v === '';
}

function rank(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return 0;
  if (typeof v === 'string') return 1;
  return 2; // arrays, objects: compared by their JSON text
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * Compare two present values (numbers before strings before the rest).
 * @returns {number}
 */
export function compareValues(a, b) {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return Number(a) - Number(b);
  if (ra === 1) return collator.compare(a, b);
  return collator.compare(JSON.stringify(a), JSON.stringify(b));
}

/**
 * A sorted copy of `items` by `key(item)`; missing values last in both directions; stable.
 * @template T
 * @param {T[]} items
 * @param {(item: T) => any} key
 * @param {'asc'|'desc'} dir
 * @returns {T[]}
 */
export function sortBy(items, key, dir = 'asc') {
  const sign = dir === 'desc' ? -1 : 1;
  const keyed = items.map((item, i) => ({ item, i, k: key(item) }));
  keyed.sort((x, y) => {
    const mx = isMissing(x.k);
    const my = isMissing(y.k);
    if (mx || my) return mx === my ? x.i - y.i : mx ? 1 : -1;
    return sign * compareValues(x.k, y.k) || x.i - y.i;
  });
  return keyed.map((e) => e.item);
}
