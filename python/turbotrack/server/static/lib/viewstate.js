/**
 * The workspace's view in its URL, so a link shows what its sender saw: `?x=_runtime&smooth=0.6&
 * log=1&runs=50&sort=-summary.acc.max&filter=acc.max%20%3E%200.9&group=config.opt`. The URL's choices win over the
 * ones remembered in localStorage; each change rewrites the URL (history.replaceState) with the
 * choices that differ from the defaults.
 *
 * @module viewstate
 */

/**
 * @typedef {{xAxis: string, smoothing: number, log: boolean, maxRuns: number,
 *   sort: {col: string, dir: 'asc'|'desc'}, filter: string, groupBy: string}} View
 */

/** @type {View} */
export const DEFAULT_VIEW = { xAxis: '_step', smoothing: 0, log: false, maxRuns: 200, sort: { col: 'created', dir: 'desc' }, filter: '', groupBy: '' };

/**
 * The view's choices as a query string ('' when all are the defaults).
 * @param {View} v
 * @returns {string}
 */
export function toQuery(v) {
  const q = new URLSearchParams();
  if (v.xAxis !== DEFAULT_VIEW.xAxis) q.set('x', v.xAxis);
  if (v.smoothing) q.set('smooth', String(v.smoothing));
  if (v.log) q.set('log', '1');
  if (v.maxRuns !== DEFAULT_VIEW.maxRuns) q.set('runs', String(v.maxRuns));
  if (v.sort.col !== DEFAULT_VIEW.sort.col || v.sort.dir !== DEFAULT_VIEW.sort.dir) {
    q.set('sort', `${v.sort.dir === 'desc' ? '-' : '+'}${v.sort.col}`);
  }
  if (v.filter) q.set('filter', v.filter);
  if (v.groupBy) q.set('group', v.groupBy);
  const text = q.toString();
  return text ? `?${text}` : '';
}

/**
 * The choices a query string makes (only those it names, each checked; a bad one is ignored).
 * @param {string} search `location.search`
 * @returns {Partial<View>}
 */
export function fromQuery(search) {
  const q = new URLSearchParams(search);
  /** @type {Partial<View>} */
  const out = {};
  const x = q.get('x');
  if (x) out.xAxis = x;
  const smooth = Number(q.get('smooth'));
  if (q.has('smooth') && Number.isFinite(smooth) && smooth >= 0 && smooth < 1) out.smoothing = smooth;
  if (q.has('log')) out.log = q.get('log') === '1' || q.get('log') === 'true';
  const runs = Number(q.get('runs'));
  if (q.has('runs') && Number.isInteger(runs) && runs > 0) out.maxRuns = runs;
  const sort = q.get('sort');
  if (sort && sort.length > 1) {
    const desc = sort[0] === '-';
    out.sort = { col: sort[0] === '-' || sort[0] === '+' ? sort.slice(1) : sort, dir: desc ? 'desc' : 'asc' };
  }
  if (q.has('filter')) out.filter = q.get('filter') || '';
  if (q.has('group')) out.groupBy = q.get('group') || '';
  return out;
}
