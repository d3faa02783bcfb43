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

/** Keys (the last part of a dotted key) that hold a time as epoch seconds. */
const EPOCH_KEY = /(^|[./])(_timestamp|timestamp|created|created_at|updated_at|heartbeat_at|started_at|finished_at|start_time|end_time)$/;

/** Whether `key` names an epoch-second time and `v` is one (1973 to 2286: not a step or a count). */
export function isEpochField(key, v) {
  return typeof v === 'number' && Number.isFinite(v) && v >= 1e8 && v < 1e10 && EPOCH_KEY.test(key);
}

/** A time in epoch seconds (or ISO text) as local `YYYY-MM-DD HH:MM:SS`. */
export function fmtDateTime(t) {
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${fmtTime(t)}:${p(d.getSeconds())}`;
}

/** A field's value for a table cell: an epoch-second time (`_timestamp`, `created_at`...) as a
 * date and time, anything else as fmtValue shows it. */
export function fmtField(key, v) {
  return isEpochField(key, v) ? fmtDateTime(v) : fmtValue(v);
}

/**
 * The unit of a system metric from its name, as capture/system.py and capture/gpu.py write them
 * (`system.cpu`, `system.gpu.0.temp`...): its label and how a value is shown with it; null for a
 * metric without a unit (a count of threads).
 * @param {string} key
 * @returns {{unit: string, fmt: (v: number) => string} | null}
 */
export function systemUnit(key) {
  const name = key.replace(/^system\./, '');
  const gpu = /^gpu\.\d+\.(.+)$/.exec(name);
  const with_ = (unit) => ({ unit, fmt: (v) => `${fmtValue(v)} ${unit}` });
  const percent = { unit: '%', fmt: (v) => `${fmtValue(v)}%` };
  const bytes = { unit: 'bytes', fmt: (v) => fmtBytes(v) };
  if (gpu) {
    const g = gpu[1];
    if (g === 'temp') return with_('°C');
    if (/Watts$/.test(g)) return with_('W');
    if (/Bytes$/.test(g)) return bytes;
    if (/Clock$/.test(g)) return with_('MHz');
    if (g === 'gpu' || g === 'memory' || /(Allocated|Percent)$/.test(g)) return percent;
    return null;
  }
  if (name === 'cpu' || name === 'memory' || name === 'disk' || /percent$/.test(name)) return percent;
  if (/MB$/.test(name)) return with_('MB');
  if (name === 'disk.in' || name === 'disk.out') return with_('MB');
  if (name === 'network.sent' || name === 'network.recv') return bytes;
  return null;
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
  return i === 0 ? `${fmtValue(v)} B` : `${v.toFixed(1)} ${units[i]}`;
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
