/**
 * Parameters against a result (the workspace's "Parameters" section): parallel coordinates (one
 * vertical axis per column, each run a line through its values) and each parameter's importance as
 * its correlation with the chosen summary metric. Pure: positions in [0, 1], the view scales them.
 *
 * @module params
 */

/**
 * @typedef {{col: string, kind: 'num'|'cat', min: number, max: number, cats: string[], log?: boolean}} Axis
 *   a numeric axis spans [min, max], on a log scale when its values are all positive and span two
 *   decades or more (learning rates); a categorical one spaces its values (sorted) evenly
 */

/** @param {any} v */
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/**
 * The axes for these columns over these rows; a column with no value in any row is left out.
 * @param {Record<string, any>[]} rows
 * @param {string[]} cols
 * @returns {Axis[]}
 */
export function axesFor(rows, cols) {
  /** @type {Axis[]} */
  const out = [];
  for (const col of cols) {
    const vals = rows.map((r) => r[col]).filter((v) => v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v)));
    if (!vals.length) continue;
    if (vals.every(isNum)) {
      const min = Math.min(...vals);
      const max = Math.max(...vals);
      out.push({ col, kind: 'num', min, max, cats: [], log: min > 0 && max / min >= 100 });
    } else {
      const cats = [...new Set(vals.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))))].sort();
      out.push({ col, kind: 'cat', min: 0, max: cats.length - 1, cats });
    }
  }
  return out;
}

/**
 * Where a value sits on its axis, 0 (bottom) to 1 (top); null when it has none (or an infinity).
 * @param {Axis} axis
 * @param {any} v
 * @returns {number|null}
 */
export function position(axis, v) {
  if (v === null || v === undefined) return null;
  if (axis.kind === 'num') {
    if (!isNum(v)) return null;
    if (axis.max === axis.min) return 0.5;
    if (axis.log) return v > 0 ? Math.log(v / axis.min) / Math.log(axis.max / axis.min) : null;
    return (v - axis.min) / (axis.max - axis.min);
  }
  const i = axis.cats.indexOf(typeof v === 'object' ? JSON.stringify(v) : String(v));
  if (i < 0) return null;
  return axis.cats.length === 1 ? 0.5 : i / (axis.cats.length - 1);
}

/**
 * Pearson's correlation of two lists over the pairs where both are finite numbers; null with
 * fewer than 3 such pairs or no spread.
 * @param {any[]} xs
 * @param {any[]} ys
 * @returns {number|null}
 */
export function correlation(xs, ys) {
  const px = [];
  const py = [];
  for (let i = 0; i < xs.length; i++) if (isNum(xs[i]) && isNum(ys[i])) { px.push(xs[i]); py.push(ys[i]); }
  const n = px.length;
  if (n < 3) return null;
  const mx = px.reduce((a, b) => a + b, 0) / n;
  const my = py.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (px[i] - mx) * (py[i] - my);
    sxx += (px[i] - mx) ** 2;
    syy += (py[i] - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Each parameter's correlation with the metric, the strongest (by absolute value) first, each
 * taken where its axis puts it: a log axis (learning rates) through its logs, a categorical
 * parameter through its values' order (sorted), so only numeric and two-valued ones mean much. Parameters without a correlation are left out.
 * @param {Record<string, any>[]} rows
 * @param {string[]} params config columns
 * @param {string} metric a summary column
 * @returns {{col: string, r: number, n: number}[]}
 */
export function importance(rows, params, metric) {
  const ys = rows.map((r) => r[metric]);
  const out = [];
  for (const axis of axesFor(rows, params)) {
    const xs = rows.map((r) => position(axis, r[axis.col])); // on its axis: a log axis correlates its logs
    const r = correlation(xs, ys);
    if (r !== null) out.push({ col: axis.col, r, n: xs.filter((x, i) => isNum(x) && isNum(ys[i])).length });
  }
  return out.sort((a, b) => Math.abs(b.r) - Math.abs(a.r) || (a.col < b.col ? -1 : 1));
}
