/**
 * The runs table's columns: a run from the API flattened into one value per column key.
 *
 * Keys: `name`, `state`, `created`, `runtime`, `tags`, `group`, `job_type`, `config.<path>` and
 * `summary.<path>`, where nested dicts become dotted paths, so a summary `{"acc": {"max": .9,
 * "last": .8}}` gives the columns `summary.acc.max` and `summary.acc.last`. Media and other typed
 * values (`{"_type": ...}`) and the underscore keys (`_step`, `_runtime`...) of the summary are left out.
 *
 * @module columns
 */

/** The fixed columns, in table order. */
export const BASE_COLUMNS = ['name', 'state', 'created', 'runtime', 'tags', 'group'];

/**
 * Flatten a nested object into `{prefix.path: value}`. Arrays are values, not paths.
 * @param {object} obj
 * @param {string} prefix e.g. 'summary'
 * @param {object} [out]
 * @returns {Record<string, any>}
 */
export function flatten(obj, prefix, out = {}) {
  if (obj === null || typeof obj !== 'object') return out;
  for (const [k, v] of Object.entries(obj)) {
    const key = `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      if ('_type' in v) continue; // media, histograms, tensors: not a table value
      if (prefix === 'config' && 'value' in v && Object.keys(v).every((x) => x === 'value' || x === 'desc')) {
        out[key] = v.value; // wandb's {"value": x, "desc": ...} config form
        continue;
      }
      flatten(v, key, out);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/**
 * One row of the runs table.
 * @param {object} run a RUN of the API
 * @returns {Record<string, any>}
 */
export function runRow(run) {
  const row = {
    id: run.id,
    name: run.name || run.id,
    state: run.state,
    created: run.created,
    runtime: run.runtime,
    tags: run.tags || [],
    group: run.group,
    job_type: run.job_type,
  };
  flatten(run.config || {}, 'config', row);
  const summary = {};
  for (const [k, v] of Object.entries(run.summary || {})) if (!k.startsWith('_')) summary[k] = v;
  flatten(summary, 'summary', row);
  return row;
}

/**
 * Every config and summary column present in some row, config first, each group sorted.
 * @param {Record<string, any>[]} rows
 * @returns {string[]}
 */
export function dataColumns(rows) {
  const seen = new Set();
  for (const row of rows) for (const k in row) if (k.startsWith('config.') || k.startsWith('summary.')) seen.add(k);
  const keys = [...seen];
  const cfg = keys.filter((k) => k.startsWith('config.')).sort();
  const sum = keys.filter((k) => k.startsWith('summary.')).sort();
  return [...cfg, ...sum];
}

/** A column's header text: summary columns drop their prefix (`acc.max`), config ones keep it. */
export function columnLabel(key) {
  return key.startsWith('summary.') ? key.slice(8) : key;
}

/**
 * The column a user's name means: an exact key, else a summary column, else a config column.
 * `acc.max` → `summary.acc.max`; `lr` → `config.lr` when no summary `lr` exists.
 * @param {string} name
 * @param {Set<string>|string[]} known the column keys present
 * @returns {string}
 */
export function resolveColumn(name, known) {
  const has = known instanceof Set ? (k) => known.has(k) : (k) => known.includes(k);
  if (has(name) || BASE_COLUMNS.includes(name) || name === 'id' || name === 'job_type') return name;
  if (has(`summary.${name}`)) return `summary.${name}`;
  if (has(`config.${name}`)) return `config.${name}`;
  return name;
}

/**
 * The numeric history keys a workspace charts, read from the runs' summaries: every key whose value
 * is a number, or a dict of numbers (a define_metric summary), not starting with `_`, and not
 * hidden (`define_metric(name, hidden=True)`: see `hiddenMetrics`).
 * @param {object[]} runs
 * @param {string[]} [hidden] names and globs (`train/*`) of hidden metrics
 * @returns {string[]} sorted
 */
export function chartKeys(runs, hidden = []) {
  const keys = new Set();
  for (const run of runs) {
    for (const [k, v] of Object.entries(run.summary || {})) {
      if (k.startsWith('_') || isHiddenKey(k, hidden)) continue;
      if (typeof v === 'number' || (v && typeof v === 'object' && !('_type' in v) && !Array.isArray(v) &&
          Object.values(v).some((x) => typeof x === 'number'))) keys.add(k);
    }
  }
  return [...keys].sort();
}

/**
 * Group metric keys by their prefix before the first `/` (`train/loss` → `train`); keys without
 * one fall in the '' group, listed first.
 * @param {string[]} keys
 * @returns {[string, string[]][]}
 */
export function groupByPrefix(keys) {
  const groups = new Map();
  for (const k of keys) {
    const i = k.indexOf('/');
    const g = i > 0 ? k.slice(0, i) : '';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(k);
  }
  return [...groups.entries()].sort((a, b) => (a[0] === '' ? -1 : b[0] === '' ? 1 : a[0].localeCompare(b[0])));
}

/** A run detail's `metrics` as a list of entries (a dict of definitions by name, as a list). */
function metricList(metrics) {
  return Array.isArray(metrics) ? metrics : metrics && typeof metrics === 'object' ? Object.entries(metrics).map(([name, d]) => ({ name, ...d })) : [];
}

/**
 * The x-axis metrics a run defined with `define_metric(..., step_metric=...)`, from the run detail's
 * `metrics`: metrics.json's entries `[name, summary, objective, step_metric, hidden]` (older runs
 * wrote the first four, or three: no step metric), or dicts (`{"name", "step_metric", ...}`).
 * @param {any} metrics
 * @returns {string[]}
 */
export function stepMetrics(metrics) {
  const out = new Set();
  const list = metricList(metrics);
  for (const m of list) {
    const sm = Array.isArray(m) ? m[3] : m && typeof m === 'object' ? m.step_metric : null;
    if (typeof sm === 'string' && sm && sm !== '_step') out.add(sm);
  }
  return [...out].sort();
}

/**
 * The metrics a run hid with `define_metric(name, hidden=True)`, from the run detail's `metrics`
 * (metrics.json's entries: a fifth entry `true`; entries of four or three are not hidden): names, or
 * globs ending in `*`. Hidden metrics get no chart of their own by default; their data stays.
 * @param {any} metrics
 * @returns {string[]} sorted
 */
export function hiddenMetrics(metrics) {
  const out = new Set();
  for (const m of metricList(metrics)) {
    const name = Array.isArray(m) ? m[0] : m && m.name;
    const hidden = Array.isArray(m) ? m[4] : m && m.hidden;
    if (typeof name === 'string' && name && hidden === true) out.add(name);
  }
  return [...out].sort();
}

/**
 * Whether a history key is one of the hidden metrics (`hiddenMetrics`): named, or under a glob
 * (`train/*` hides `train/loss`; `*` hides every key).
 * @param {string} key
 * @param {string[]} hidden
 * @returns {boolean}
 */
export function isHiddenKey(key, hidden) {
  for (const h of hidden) if (h === key || (h.endsWith('*') && key.startsWith(h.slice(0, -1)))) return true;
  return false;
}
