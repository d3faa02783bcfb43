/**
 * The runs table as CSV (RFC 4180): a header of column keys, one line per run; text quoted when it
 * holds a comma, a quote or a line break (quotes doubled), lists (tags) joined by `;`, a missing
 * value empty, NaN and infinities as `NaN`, `Infinity`, `-Infinity` (what pandas reads back),
 * times as ISO 8601.
 *
 * @module csv
 */

/** @param {any} v @returns {string} */
function text(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (Array.isArray(v)) return v.map(text).join(';');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** @param {string} s @returns {string} */
function field(s) {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * @param {string[]} columns keys of the rows
 * @param {Record<string, any>[]} rows
 * @param {Record<string, (v: any) => any>} [formats] per column, e.g. `created` → an ISO time
 * @returns {string}
 */
export function toCsv(columns, rows, formats = {}) {
  const lines = [columns.map(field).join(',')];
  for (const row of rows) {
    lines.push(columns.map((c) => field(text(formats[c] ? formats[c](row[c]) : row[c]))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Seconds since the epoch as ISO 8601 (UTC); anything else unchanged. @param {any} t */
export function isoTime(t) {
  return typeof t === 'number' && Number.isFinite(t) ? new Date(t * 1000).toISOString() : t;
}
