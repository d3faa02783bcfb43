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

const PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

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
  const ok = parts.every((p) => p !== null && PART.test(p));
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
