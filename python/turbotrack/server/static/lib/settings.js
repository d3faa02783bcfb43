/**
 * The workspace's remembered choices (per project, in localStorage) and their defaults the first
 * time a project is opened: pinned columns are the runs' best-looking summary columns, the bar
 * chart shows the first pinned summary.
 *
 * @module settings
 */

/**
 * @typedef {{sort: {col: string, dir: 'asc'|'desc'}, filter: string, hidden: string[], xAxis: string,
 *   smoothing: number, log: boolean, maxRuns: number, collapsed: Record<string, boolean>,
 *   expanded: boolean, colors: Record<string, string>, pinned: string[], shown: string[], bar: string,
 *   groupBy: string, openGroups: Record<string, string[]>, compare: string[], paramsMetric: string,
 *   scatter: Partial<import('../components/scatter.js').ScatterState>,
 *   pcoords?: import('../components/pcoords.js').PcoordsState, panels: import('./panellayout.js').Layout}} Settings
 *   panels: the charts' panels per section, their order, sizes and own settings (lib/panellayout.js; fitted
 *   to the metrics there are by `mergeLayout` when drawn)
 */

/** @param {string} key @returns {Partial<Settings>} */
export function loadSettings(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null') || {};
  } catch {
    return {};
  }
}

/**
 * Fill in what `s` lacks (in place).
 * @param {Partial<Settings>} s
 * @param {string[]} columns the config and summary columns of the runs (`dataColumns`)
 * @returns {Settings}
 */
export function withDefaults(s, columns) {
  s.sort ??= { col: 'created', dir: 'desc' };
  s.filter ??= '';
  s.hidden ??= [];
  s.xAxis ??= '_step';
  s.smoothing ??= 0;
  s.log ??= false;
  s.maxRuns ??= 200;
  s.collapsed ??= { system: true };
  s.expanded ??= false;
  s.colors ??= {}; // run id → the colour chosen for it
  s.groupBy ??= ''; // a column whose values group the runs drawn ('' none)
  if (!s.openGroups || typeof s.openGroups !== 'object' || Array.isArray(s.openGroups)) s.openGroups = {}; // group-by column → the groups open in the runs table (the others collapsed)
  s.compare ??= []; // the runs compared side by side (ids, at most 5)
  s.paramsMetric ??= ''; // the importance's summary metric in the Parameters section ('' the bar chart's)
  if (!s.scatter || Array.isArray(s.scatter)) s.scatter = {}; // the scatter's axes ({} a config field and a summary one)
  if (!s.panels || typeof s.panels !== 'object' || Array.isArray(s.panels)) s.panels = {}; // {}: every metric its default panel
  // s.pcoords: the parallel coordinates' axes, colour and brushes (absent: their defaults)
  if (!s.pinned) {
    const best = columns.filter((c) => c.startsWith('summary.') && /\.(max|min|best)$/.test(c));
    s.pinned = ['state', ...(best.length ? best : columns.filter((c) => c.startsWith('summary.'))).slice(0, 2)];
  }
  s.shown ??= ['state', 'created', 'runtime', 'tags', 'group', ...columns.slice(0, 40)];
  s.bar ??= s.pinned.find((c) => c.startsWith('summary.')) || columns.find((c) => c.startsWith('summary.')) || '';
  return /** @type {Settings} */ (s);
}

/**
 * The direction a first click on a column's header sorts: the highest first for numbers that
 * grow (summaries, created, runtime), else A to Z.
 * @param {string} col
 * @returns {'asc'|'desc'}
 */
export function defaultDir(col) {
  return col.startsWith('summary.') || col === 'created' || col === 'runtime' ? 'desc' : 'asc';
}

/**
 * The sort after a click on `col`'s header: its default direction first, then reversed.
 * @param {{col: string, dir: 'asc'|'desc'}} sort
 * @param {string} col
 * @returns {{col: string, dir: 'asc'|'desc'}}
 */
export function nextSort(sort, col) {
  if (sort.col !== col) return { col, dir: defaultDir(col) };
  return { col, dir: sort.dir === 'desc' ? 'asc' : 'desc' };
}
