/**
 * Which parameters go with a summary metric, from the runs alone (no model fitted):
 * - `pearson`: Pearson's correlation of a numeric parameter with the metric (linear);
 * - `spearman`: Spearman's rank correlation (Pearson's of the ranks, ties given their mean rank):
 *   any monotonic relation, robust to outliers and to a log-spaced sweep;
 * - `importance`: the correlation ratio η² = between-group variance / total variance of the metric,
 *   the groups being a categorical parameter's values or a numeric one's quantile bins (at most
 *   `MAX_BINS`, at least `MIN_PER_GROUP` runs a bin on average): the share of the metric's variance
 *   the parameter accounts for, 0 to 1, for numeric and categorical parameters alike, and for
 *   relations that are not monotonic. A parameter with fewer than `MIN_RUNS` runs holding both it and
 *   the metric, or a single value, gets nulls.
 *
 * @module importance
 */

import { numeric } from './fields.js';

export const MAX_BINS = 10;
export const MIN_PER_GROUP = 3;
export const MIN_RUNS = 3;

/**
 * @param {number[]} xs
 * @param {number[]} ys (same length)
 * @returns {number|null} null when either has no variance or fewer than 2 values
 */
export function pearson(xs, ys) {
  const n = xs.length;
  if (n < 2 || ys.length !== n) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * Ranks from 1, tied values sharing their mean rank.
 * @param {number[]} xs
 * @returns {number[]}
 */
export function ranks(xs) {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const out = new Array(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]] === xs[idx[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]] = r;
    i = j + 1;
  }
  return out;
}

/**
 * @param {number[]} xs
 * @param {number[]} ys
 */
export function spearman(xs, ys) {
  return pearson(ranks(xs), ranks(ys));
}

/**
 * η²: the share of the variance of `ys` between the groups `labels` (same length) make.
 * @param {(string|number)[]} labels
 * @param {number[]} ys
 * @returns {number|null}
 */
export function etaSquared(labels, ys) {
  const n = ys.length;
  if (n < 2) return null;
  const mean = ys.reduce((a, b) => a + b, 0) / n;
  let total = 0;
  for (const y of ys) total += (y - mean) ** 2;
  if (total === 0) return null;
  /** @type {Map<string|number, {sum: number, n: number}>} */
  const groups = new Map();
  labels.forEach((l, i) => {
    const g = groups.get(l) || { sum: 0, n: 0 };
    g.sum += ys[i];
    g.n++;
    groups.set(l, g);
  });
  if (groups.size < 2) return null;
  let between = 0;
  for (const g of groups.values()) between += g.n * (g.sum / g.n - mean) ** 2;
  return Math.min(1, between / total);
}

/**
 * Quantile bins of numeric values: each value's bin number, at most `bins` bins, equal values in
 * one bin.
 * @param {number[]} xs
 * @param {number} bins
 * @returns {number[]}
 */
export function quantileBins(xs, bins) {
  const r = ranks(xs);
  return r.map((rank) => Math.min(bins - 1, Math.floor(((rank - 1) / xs.length) * bins)));
}

/**
 * @typedef {{param: string, kind: 'number'|'category', n: number, pearson: number|null,
 *   spearman: number|null, importance: number|null}} Importance
 */

/**
 * The parameters against one metric, the most important first (nulls last).
 * @param {import('./fields.js').Row[]} rows runs-table rows
 * @param {string[]} params field keys (`config.lr`)
 * @param {string} metric a field key (`summary.val/acc.max`)
 * @returns {Importance[]}
 */
export function importance(rows, params, metric) {
  /** @type {Importance[]} */
  const out = [];
  for (const param of params) {
    if (param === metric) continue;
    const xs = [];
    const ys = [];
    const cats = [];
    for (const r of rows) {
      const y = numeric(r[metric]);
      if (y === null) continue;
      const v = r[param];
      const x = numeric(v);
      if (x !== null) {
        xs.push(x);
        ys.push(y);
      } else if (typeof v === 'string') {
        cats.push(v);
        ys.push(y);
      }
    }
    const kind = cats.length > xs.length ? 'category' : 'number';
    /** @type {Importance} */
    const item = { param, kind, n: ys.length, pearson: null, spearman: null, importance: null };
    if (kind === 'number' && !cats.length && xs.length >= MIN_RUNS) {
      item.pearson = pearson(xs, ys);
      item.spearman = spearman(xs, ys);
      const bins = Math.min(MAX_BINS, Math.floor(xs.length / MIN_PER_GROUP));
      item.importance = bins >= 2 ? etaSquared(quantileBins(xs, bins), ys) : null;
    } else if (kind === 'category' && !xs.length && cats.length >= MIN_RUNS) {
      const distinct = new Set(cats).size;
      item.importance = distinct * MIN_PER_GROUP <= cats.length + distinct ? etaSquared(cats, ys) : null;
    }
    out.push(item);
  }
  const score = (/** @type {Importance} */ i) => i.importance ?? (i.spearman === null ? -1 : Math.abs(i.spearman) ** 2 - 1);
  return out.sort((a, b) => score(b) - score(a) || a.param.localeCompare(b.param));
}
