/**
 * The run fields that analysis panels put on an axis: every `config.*` and `summary.*` column of the
 * runs table's rows (`columns.runRow`), numeric (numbers, booleans as 0/1) or categorical (text, at
 * most `MAX_CATEGORIES` distinct values), and a scale from a field's values to [0, 1].
 *
 * @module fields
 */

/** A text field with more distinct values than this is no axis (a run name, a path). */
export const MAX_CATEGORIES = 40;

/**
 * @typedef {{key: string, kind: 'number'|'category', count: number}} Field
 * @typedef {{key: string, kind: 'number'|'category', lo: number, hi: number, log: boolean, cats: string[]}} Axis
 * @typedef {Record<string, any>} Row  a runs-table row: `id`, `name`, `config.<path>`, `summary.<path>`
 */

/**
 * A value as a number for an axis: a finite number, a boolean as 0/1; else null.
 * @param {any} v
 * @returns {number|null}
 */
export function numeric(v) {
  if (typeof v === 'boolean') return v ? 1 : 0;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The fields present in at least `minRuns` rows, config first then summary, each sorted.
 * @param {Row[]} rows
 * @param {number} [minRuns]
 * @returns {Field[]}
 */
export function fieldsOf(rows, minRuns = 2) {
  /** @type {Map<string, {nums: number, texts: Set<string>, other: number}>} */
  const seen = new Map();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (!k.startsWith('config.') && !k.startsWith('summary.')) continue;
      if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) continue; // missing
      let s = seen.get(k);
      if (!s) seen.set(k, (s = { nums: 0, texts: new Set(), other: 0 }));
      if (numeric(v) !== null) s.nums++;
      else if (typeof v === 'string') s.texts.add(v);
      else s.other++;
    }
  }
  /** @type {Field[]} */
  const out = [];
  for (const [key, s] of seen) {
    if (s.other) continue;
    if (s.texts.size === 0 && s.nums >= minRuns) out.push({ key, kind: 'number', count: s.nums });
    else if (s.nums === 0 && s.texts.size <= MAX_CATEGORIES) {
      const count = rows.filter((r) => typeof r[key] === 'string').length;
      if (count >= minRuns) out.push({ key, kind: 'category', count });
    }
  }
  const rank = (/** @type {Field} */ f) => (f.key.startsWith('config.') ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
}

/** A numeric axis spanning this many times its lowest value or more is on a log scale by `'auto'`. */
export const AUTO_LOG_SPAN = 100;

/**
 * The axis of a field over some rows: its range (numbers; `log` when asked and every value > 0;
 * `log: 'auto'`: when every value > 0 and they span two decades or more, a learning-rate sweep) or
 * its categories (sorted).
 * @param {Row[]} rows
 * @param {string} key
 * @param {{log?: boolean|'auto'}} [opts]
 * @returns {Axis}
 */
export function axisOf(rows, key, opts = {}) {
  const nums = [];
  const cats = new Set();
  for (const r of rows) {
    const n = numeric(r[key]);
    if (n !== null) nums.push(n);
    else if (typeof r[key] === 'string') cats.add(r[key]);
  }
  if (cats.size && !nums.length) {
    return { key, kind: 'category', lo: 0, hi: Math.max(0, cats.size - 1), log: false, cats: [...cats].sort() };
  }
  const positive = nums.length > 0 && nums.every((n) => n > 0);
  const log = positive && (opts.log === 'auto' ? Math.max(...nums) / Math.min(...nums) >= AUTO_LOG_SPAN : !!opts.log);
  const vals = log ? nums.map(Math.log10) : nums;
  let lo = vals.length ? Math.min(...vals) : 0;
  let hi = vals.length ? Math.max(...vals) : 1;
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  return { key, kind: 'number', lo, hi, log, cats: [] };
}

/**
 * Where a value falls on an axis, 0 (low end) to 1 (high end); null when it has no place there.
 * @param {Axis} axis
 * @param {any} v
 * @returns {number|null}
 */
export function position(axis, v) {
  if (axis.kind === 'category') {
    const i = typeof v === 'string' ? axis.cats.indexOf(v) : -1;
    if (i < 0) return null;
    return axis.cats.length === 1 ? 0.5 : i / (axis.cats.length - 1);
  }
  let n = numeric(v);
  if (n === null) return null;
  if (axis.log) {
    if (n <= 0) return null;
    n = Math.log10(n);
  }
  return (n - axis.lo) / (axis.hi - axis.lo);
}

/**
 * A few labelled ticks of an axis: `[{at: 0..1, label}]` (every category; 5 for numbers).
 * @param {Axis} axis
 * @param {(v: number) => string} fmt
 * @returns {{at: number, label: string}[]}
 */
export function ticks(axis, fmt) {
  if (axis.kind === 'category') return axis.cats.map((c) => ({ at: position(axis, c) ?? 0, label: c }));
  const out = [];
  for (let i = 0; i <= 4; i++) {
    const v = axis.lo + ((axis.hi - axis.lo) * i) / 4;
    out.push({ at: i / 4, label: fmt(axis.log ? 10 ** v : v) });
  }
  return out;
}

/** A field key as a label: `summary.` dropped, `config.` kept (as the runs table's headers). */
export function fieldLabel(/** @type {string} */ key) {
  return key.startsWith('summary.') ? key.slice(8) : key;
}
