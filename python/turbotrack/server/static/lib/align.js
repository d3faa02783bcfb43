/**
 * Lining up series for uPlot, which wants one shared x array: each run's (x, y) points are merged
 * onto the sorted union of all x values, with null where a run has no point (lines span the gaps).
 *
 * @module align
 */

/**
 * @param {{x: ArrayLike<number>, y: ArrayLike<number|null>}[]} series each sorted by x
 * @returns {(number|null)[][]} [xs, ys_0, ys_1, ...]
 */
export function alignSeries(series) {
  if (series.length === 1) return [Array.from(series[0].x), Array.from(series[0].y)];
  const all = new Set();
  for (const s of series) for (let i = 0; i < s.x.length; i++) all.add(s.x[i]);
  const xs = Float64Array.from(all).sort();
  const index = new Map();
  for (let i = 0; i < xs.length; i++) index.set(xs[i], i);
  const out = [Array.from(xs)];
  for (const s of series) {
    const ys = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) ys[index.get(s.x[i])] = s.y[i];
    out.push(ys);
  }
  return out;
}

/**
 * The (x, y) points of one key from a columnar history answer (decoded by `nonfinite.js`), without
 * rows where either is missing or not a number, sorted by x. A NaN or infinite y is kept (the chart
 * leaves a gap there, its count says it was logged); x must be finite. When the answer carries the
 * key's `bands` (asked with `bands=1` and downsampled), `band` holds, aligned with `x`, the min and
 * max of the bucket each point stands for (null where the bucket holds no value).
 * @param {{columns: Record<string, any[]>, bands?: Record<string, {min: any[], max: any[]}>}} hist
 * @param {string} xKey
 * @param {string} yKey
 * @returns {{x: number[], y: number[], band?: {min: (number|null)[], max: (number|null)[]}}}
 */
export function pointsOf(hist, xKey, yKey) {
  const xs = hist.columns[xKey] || [];
  const ys = hist.columns[yKey] || [];
  const bands = hist.bands && hist.bands[yKey];
  const num = (/** @type {any} */ v) => (typeof v === 'number' ? v : null);
  const pts = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x)) {
      pts.push(bands ? [x, y, num(bands.min[i]), num(bands.max[i])] : [x, y]);
    }
  }
  let sorted = true;
  for (let i = 1; i < pts.length; i++) if (pts[i][0] < pts[i - 1][0]) { sorted = false; break; }
  if (!sorted) pts.sort((a, b) => a[0] - b[0]);
  const out = { x: pts.map((p) => p[0]), y: pts.map((p) => p[1]) };
  if (!bands) return out;
  return { ...out, band: { min: pts.map((p) => p[2]), max: pts.map((p) => p[3]) } };
}
