/**
 * Formatting for tables and charts: numbers, durations, times, byte sizes, and each run's colour.
 *
 * @module format
 */

export { escapeHtml } from './ansi.js';

/** A number in at most 4 significant digits (integers whole), a NaN as `NaN` and an infinity as
 * `∞` or `−∞`; a list or dict as its JSON text (a logged list, as wandb shows it); a null as
 * nothing; anything else as text. */
export function fmtValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return nonFinite(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }
  if (typeof v === 'object') return jsonText(v);
  return String(v);
}

function nonFinite(v) {
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? '∞' : '\u2212∞';
}

const MARK = '\u0000';

/** JSON text of a list or dict, its NaN and infinities written `NaN`, `∞`, `−∞` (not `null`). */
function jsonText(v) {
  let marked = false;
  const text = JSON.stringify(v, (k, x) => {
    if (typeof x !== 'number' || Number.isFinite(x)) return x;
    marked = true;
    return MARK + nonFinite(x);
  });
  return marked ? text.replace(/"\\u0000(NaN|∞|\u2212∞)"/g, '$1') : text;
}

/** Seconds as `1h 2m 3s`. */
export function fmtDuration(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec)) return '';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h ${m}m ${r}s`;
  if (m) return `${m}m ${r}s`;
  return `${r}s`;
}

/** A time (epoch seconds or ISO text) as local `YYYY-MM-DD HH:MM`. */
export function fmtTime(t) {
  if (t === null || t === undefined || t === '') return '';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Bytes as `1.2 MB`. */
export function fmtBytes(n) {
  if (typeof n !== 'number') return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#3b5bdb', '#e8590c', '#2b8a3e', '#c2255c', '#5f3dc4', '#0b7285', '#a61e4d', '#5c940d',
];

/** A run's colour, the same on every page and after any sort: a hash of its id into the palette. */
export function colorFor(id) {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length];
}
