/**
 * Non-finite numbers in and out of JSON, in one place.
 *
 * The server sends valid JSON (RFC 8259), so a NaN or an infinite float arrives as the string
 * `"NaN"`, `"Infinity"` or `"-Infinity"` (CONTRACT). `decodeAnswer` turns those strings back into
 * numbers where the API holds numbers: history columns, rows, and each run's `summary` and
 * `config`; names, ids, tags and file names stay as sent. Run files (a table's `.table.json`) are
 * the SDK's own JSON, which may hold the bare tokens `NaN` and `Infinity`: `parseJsonText` reads
 * them as numbers. `format.js` shows them as `NaN`, `∞` and `−∞`.
 *
 * @module nonfinite
 */

const NONFINITE = new Map([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
]);

/** A value as a number if it is one of the server's non-finite strings, else unchanged. */
export function decodeNumber(v) {
  if (typeof v === 'string') {
    const n = NONFINITE.get(v);
    if (n !== undefined) return n;
  }
  return v;
}

/** Every non-finite string in `v` (nested lists and dicts too) as its number; a new value. */
export function decodeDeep(v) {
  if (typeof v === 'string') return decodeNumber(v);
  if (Array.isArray(v)) return v.map(decodeDeep);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = decodeDeep(x);
    return out;
  }
  return v;
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A columnar history (`{columns: {key: [values]}}`), its columns (and `bands`) decoded in place. */
function decodeHistory(hist) {
  if (!isPlainObject(hist) || !isPlainObject(hist.columns)) return hist;
  const bands = isPlainObject(hist.bands) ? Object.values(hist.bands).flatMap((b) => [b.min, b.max]) : [];
  for (const col of [...Object.values(hist.columns), ...bands]) {
    if (!Array.isArray(col)) continue;
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (typeof v === 'string') col[i] = decodeNumber(v);
      else if (v !== null && typeof v === 'object') col[i] = decodeDeep(v);
    }
  }
  return hist;
}

/** A RUN of the API, its summary and config decoded in place. */
function decodeRun(run) {
  if (!isPlainObject(run)) return run;
  if (isPlainObject(run.summary)) run.summary = decodeDeep(run.summary);
  if (isPlainObject(run.config)) run.config = decodeDeep(run.config);
  return run;
}

/**
 * An answer of the read API with its numbers restored (in place; returned for chaining). The shapes
 * are those of docs/server-api.md: `{runs: [RUN]}`, a RUN (with `summary`/`config`), a history
 * (`{columns}`, or `{keys: {key: history}}` for `each=1`), a batch of them (`{runs: {id: history},
 * missing}`) and `{rows: [row]}`. Other answers
 * (projects, files, logs) are returned as they came.
 * @param {any} data
 * @returns {any}
 */
export function decodeAnswer(data) {
  if (!isPlainObject(data)) return data;
  if (Array.isArray(data.runs)) data.runs.forEach(decodeRun);
  if (isPlainObject(data.runs) && Array.isArray(data.missing)) for (const v of Object.values(data.runs)) decodeAnswer(v);
  if ('summary' in data || 'config' in data) decodeRun(data);
  if (isPlainObject(data.columns)) decodeHistory(data);
  if (isPlainObject(data.keys)) for (const v of Object.values(data.keys)) decodeHistory(v);
  if (Array.isArray(data.rows)) data.rows = data.rows.map(decodeDeep);
  return data;
}

// A bare token outside strings: NaN, Infinity or -Infinity, not part of a longer word.
const BARE = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)(?![\w$])/g;
const MARK = '\u0000tt-nonfinite';

/**
 * JSON text that may hold the bare tokens `NaN`, `Infinity` and `-Infinity` (Python's
 * `json.dumps(allow_nan=True)`), parsed with those as numbers. Strings that spell them stay strings.
 * @param {string} text
 * @returns {any}
 * @throws {SyntaxError} when the text is not JSON even so
 */
export function parseJsonText(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!/NaN|Infinity/.test(text)) throw err;
  }
  let marked = false;
  const fixed = text.replace(BARE, (m, tok) => {
    if (!tok) return m;
    marked = true;
    return JSON.stringify({ [MARK]: tok });
  });
  if (!marked) return JSON.parse(text); // throws the original error
  return JSON.parse(fixed, (k, v) => (isPlainObject(v) && MARK in v && Object.keys(v).length === 1 ? NONFINITE.get(v[MARK]) : v));
}

/** Whether `v` is a number that is NaN or infinite. */
export function isNonFinite(v) {
  return typeof v === 'number' && !Number.isFinite(v);
}
