/**
 * Histograms over steps as a heat map: each logged histogram (bin edges + counts, edges differing
 * from step to step) is re-binned onto one shared grid of value rows, spreading every bin's count
 * over the rows it overlaps in proportion to the overlap.
 *
 * @module heatmap
 */

/**
 * @typedef {{step: number, bins: number[], values: number[]}} HistogramAtStep
 * @typedef {{steps: number[], lo: number, hi: number, rows: number, cells: Float64Array, max: number}} HeatGrid
 *   cells[c * rows + r] is the count of column c (steps[c]) in value row r (row 0 = lo)
 */

/**
 * @param {HistogramAtStep[]} hists in step order
 * @param {number} rows how many value rows
 * @param {'column'|'global'} [normalize] 'column' scales each step to its own peak (shape over time)
 * @returns {HeatGrid}
 */
export function binHistograms(hists, rows, normalize = 'column') {
  const usable = hists.filter((h) => h && Array.isArray(h.bins) && Array.isArray(h.values) && h.bins.length === h.values.length + 1);
  let lo = Infinity;
  let hi = -Infinity;
  for (const h of usable) {
    lo = Math.min(lo, h.bins[0]);
    hi = Math.max(hi, h.bins[h.bins.length - 1]);
  }
  const cells = new Float64Array(usable.length * rows);
  if (!usable.length || !(hi >= lo)) return { steps: [], lo: 0, hi: 0, rows, cells, max: 0 };
  if (hi === lo) hi = lo + 1;
  const span = (hi - lo) / rows;
  usable.forEach((h, c) => {
    for (let b = 0; b < h.values.length; b++) {
      const count = h.values[b];
      if (!count) continue;
      const a = h.bins[b];
      const z = h.bins[b + 1];
      const width = z - a;
      if (!(width > 0)) {
        const r = Math.min(rows - 1, Math.max(0, Math.floor((a - lo) / span)));
        cells[c * rows + r] += count;
        continue;
      }
      const r0 = Math.max(0, Math.floor((a - lo) / span));
      const r1 = Math.min(rows - 1, Math.floor((z - lo) / span - 1e-9));
      for (let r = r0; r <= r1; r++) {
        const top = lo + (r + 1) * span;
        const bottom = lo + r * span;
        const overlap = Math.min(z, top) - Math.max(a, bottom);
        if (overlap > 0) cells[c * rows + r] += (count * overlap) / width;
      }
    }
  });
  let max = 0;
  if (normalize === 'column') {
    for (let c = 0; c < usable.length; c++) {
      let m = 0;
      for (let r = 0; r < rows; r++) m = Math.max(m, cells[c * rows + r]);
      if (m > 0) for (let r = 0; r < rows; r++) cells[c * rows + r] /= m;
    }
    max = usable.length ? 1 : 0;
  } else {
    for (const v of cells) max = Math.max(max, v);
  }
  return { steps: usable.map((h) => h.step), lo, hi, rows, cells, max };
}

/**
 * Thin a list to at most n items, evenly spread, keeping the first and the last.
 * @template T
 * @param {T[]} items
 * @param {number} n
 * @returns {T[]}
 */
export function thin(items, n) {
  if (items.length <= n) return items;
  const out = [];
  for (let i = 0; i < n; i++) out.push(items[Math.round((i * (items.length - 1)) / (n - 1))]);
  return out;
}
