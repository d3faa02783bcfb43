/**
 * Media compared across runs: the media keys the runs logged (from their summaries' typed values),
 * the steps any run logged a key at, and each run's item at a chosen step (its last at or before
 * that step; its first when it logged none that early).
 *
 * @module mediacompare
 */

export const MEDIA_TYPES = ['image-file', 'table-file', 'histogram', 'plot', 'html-file', 'audio-file', 'video-file'];

/**
 * The kind of a typed value, or null.
 * @param {any} v
 * @returns {string|null}
 */
export function kindOf(v) {
  return v && typeof v === 'object' && !Array.isArray(v) && MEDIA_TYPES.includes(v._type) ? v._type : null;
}

/**
 * Every media key of some runs (API RUNs), with its kind: `[{key, kind, runs: n}]`, by key.
 * @param {{summary?: Record<string, any>}[]} runs
 * @returns {{key: string, kind: string, runs: number}[]}
 */
export function mediaKeys(runs) {
  /** @type {Map<string, {key: string, kind: string, runs: number}>} */
  const found = new Map();
  for (const run of runs) {
    for (const [key, v] of Object.entries(run.summary || {})) {
      const kind = kindOf(v);
      if (!kind) continue;
      const f = found.get(key) || { key, kind, runs: 0 };
      f.runs++;
      found.set(key, f);
    }
  }
  return [...found.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * The sorted union of the steps in some runs' rows.
 * @param {{_step?: number}[][]} perRun
 * @returns {number[]}
 */
export function unionSteps(perRun) {
  const s = new Set();
  for (const rows of perRun) for (const r of rows) if (typeof r._step === 'number') s.add(r._step);
  return [...s].sort((a, b) => a - b);
}

/**
 * A run's row at `step`: the last with `_step <= step`, else its first; null when it has none.
 * @template {{_step?: number}} R
 * @param {R[]} rows in step order
 * @param {number} step
 * @returns {R|null}
 */
export function rowAt(rows, step) {
  if (!rows.length) return null;
  let lo = 0;
  let hi = rows.length - 1;
  if ((rows[0]._step ?? 0) > step) return rows[0];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((rows[mid]._step ?? 0) <= step) lo = mid;
    else hi = mid - 1;
  }
  return rows[lo];
}
