/**
 * Routes: the UI's pages by pathname (wandb's URL scheme, no hash), and the links between them.
 *
 *   /                          projects
 *   /<entity>/<project>        workspace
 *   /<e>/<p>/runs/<id>         run overview + charts + media
 *   /<e>/<p>/runs/<id>/<tab>   tab: system | logs | files
 *
 * @module route
 */

/** Tabs of the run page besides the overview. */
export const RUN_TABS = ['system', 'logs', 'files'];

/*
 * The one name rule for entity, project and run id (python/turbotrack/store/names.py, what wandb's
 * SDK accepts and one folder holds), spelled again here because the browser cannot ask Python;
 * tests/test_names.py checks that both give the same answer for every sample name.
 */
const MAX_CHARS = 128;
const MAX_BYTES = 255;
const PROJECT_FORBIDDEN = '/\\#?%:';
const RUN_ID_FORBIDDEN = ":;,#?/'\\";

/**
 * Whether `value` can be the `kind` ('entity', 'project' or 'run id') of a run path.
 * @param {string} kind
 * @param {unknown} value
 * @returns {boolean}
 */
export function isValidName(kind, value) {
  if (typeof value !== 'string' || value === '') return false;
  const chars = [...value];
  if (kind !== 'run id' && chars.length > MAX_CHARS) return false;
  if (new TextEncoder().encode(value).length > MAX_BYTES) return false;
  if (/[\ud800-\udfff]/u.test(value)) return false; // a lone surrogate (the u flag matches only lone ones)
  if (chars.some((c) => c.codePointAt(0) < 0x20 || (c.codePointAt(0) >= 0x7f && c.codePointAt(0) < 0xa0))) return false;
  if (value.startsWith('.')) return false;
  const forbidden = kind === 'run id' ? RUN_ID_FORBIDDEN : PROJECT_FORBIDDEN;
  if (chars.some((c) => forbidden.includes(c))) return false;
  // whitespace at either end (Python's str.isspace: JS's \\s less U+FEFF, which Python keeps)
  if (kind === 'run id' && /^[^\S\uFEFF]|[^\S\uFEFF]$/u.test(value)) return false;
  return true;
}

const KINDS = ['entity', 'project', 'run id'];

/**
 * @typedef {{page: 'projects'} |
 *   {page: 'workspace', entity: string, project: string} |
 *   {page: 'run', entity: string, project: string, run: string, tab: string} |
 *   {page: 'notfound', path: string}} Route
 */

/**
 * The page a pathname shows.
 * @param {string} pathname e.g. location.pathname
 * @returns {Route}
 */
export function parseRoute(pathname) {
  const parts = pathname.split('/').filter((p) => p !== '').map(safeDecode);
  // entity, project, 'runs', run id: each by its kind's rule ('runs' and a tab are checked below)
  const names = parts.length >= 4 ? [parts[0], parts[1], parts[3]] : parts;
  const ok = parts.every((p) => p !== null) && names.length <= 3 && names.every((p, i) => isValidName(KINDS[i], p));
  if (ok && parts.length === 0) return { page: 'projects' };
  if (ok && parts.length === 2) return { page: 'workspace', entity: parts[0], project: parts[1] };
  if (ok && (parts.length === 4 || parts.length === 5) && parts[2] === 'runs') {
    const tab = parts[4] || 'overview';
    if (tab === 'overview' || RUN_TABS.includes(tab)) {
      return { page: 'run', entity: parts[0], project: parts[1], run: parts[3], tab };
    }
  }
  return { page: 'notfound', path: pathname };
}

function safeDecode(p) {
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}

/** Link to a project's workspace. */
export function workspaceHref(entity, project) {
  return `/${enc(entity)}/${enc(project)}`;
}

/** Link to a run page, or one of its tabs. */
export function runHref(entity, project, run, tab = 'overview') {
  const base = `${workspaceHref(entity, project)}/runs/${enc(run)}`;
  return tab && tab !== 'overview' ? `${base}/${tab}` : base;
}

function enc(s) {
  return encodeURIComponent(s);
}
