/**
 * Runs side by side (the workspace's "Compare runs"): every config and summary column any of them
 * has, one line each, its values per run, and whether they differ (a missing value differs from any
 * value; NaN equals NaN; lists and dicts compare by content).
 *
 * @module comparelines
 */

/** @param {any} v @returns {string} a value's identity for comparing */
function ident(v) {
  if (v === undefined || v === null) return '\u0000none';
  if (typeof v === 'number' && Number.isNaN(v)) return '\u0000nan';
  return typeof v === 'object' ? `\u0000${JSON.stringify(v)}` : `${typeof v}\u0000${String(v)}`;
}

/**
 * @param {Record<string, any>[]} rows runs table rows (`runRow`), 2 to 5 of them
 * @returns {{key: string, values: any[], differs: boolean}[]} config lines first, then summary, each sorted
 */
export function compareRuns(rows) {
  const keys = new Set();
  for (const r of rows) for (const k in r) if (k.startsWith('config.') || k.startsWith('summary.')) keys.add(k);
  const sorted = [...keys].sort((a, b) => (a.startsWith('config.') === b.startsWith('config.') ? (a < b ? -1 : 1) : a.startsWith('config.') ? -1 : 1));
  return sorted.map((key) => {
    const values = rows.map((r) => r[key]);
    const first = ident(values[0]);
    return { key, values, differs: values.some((v) => ident(v) !== first) };
  });
}
