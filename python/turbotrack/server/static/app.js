/**
 * The UI's entry: routes by pathname (History API, no hash), keeps in-app links from reloading
 * the page, and mounts the page for the current path. Each page is `mount(root, route, ctx) →
 * cleanup`; the cleanup stops its polls and frees its charts when the user leaves.
 *
 * @module app
 */

import { parseRoute, workspaceHref, runHref } from './lib/route.js';
import { ApiError } from './lib/api.js';
import { h, replace } from './lib/dom.js';
import { Shortcuts } from './lib/shortcuts.js';
import { installShortcuts } from './components/shortcuts.js';
import { mountProjects } from './pages/projects.js';
import { mountWorkspace } from './pages/workspace.js';
import { mountRun } from './pages/run.js';

const root = document.getElementById('app');
const crumbs = document.getElementById('crumbs');
let cleanup = null;
/** The shown page's keyboard shortcuts (`?` lists them), installed again for each page. */
let keys = null;

/** Breadcrumbs for a route: projects / entity / project / run. */
function renderCrumbs(route, runName) {
  const parts = [h('a', { href: '/' }, 'Projects')];
  if (route.entity) {
    parts.push(h('span', { class: 'sep' }, '/'), h('span', null, route.entity), h('span', { class: 'sep' }, '/'),
      h('a', { href: workspaceHref(route.entity, route.project) }, route.project));
  }
  if (route.run) parts.push(h('span', { class: 'sep' }, '/'), h('a', { href: runHref(route.entity, route.project, route.run) }, runName || route.run));
  replace(crumbs, parts);
}

/** Show an error in place of the page; a 401 explains how to log in. */
export function showError(err) {
  const login = err instanceof ApiError && err.status === 401;
  replace(root, h('div', { class: 'error-page' },
    h('h2', null, login ? 'Not logged in' : 'Something went wrong'),
    h('p', null, login
      ? 'Open the URL that `turbotrack server` printed when it started (it ends in ?token=...) to log in.'
      : String(err && err.message ? err.message : err))));
}

async function render() {
  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      console.error(e);
    }
    cleanup = null;
  }
  const route = parseRoute(location.pathname);
  renderCrumbs(route);
  document.getElementById('live').hidden = true;
  replace(root, h('p', { class: 'loading' }, 'Loading…'));
  if (keys) keys.dispose();
  const shortcuts = new Shortcuts();
  keys = installShortcuts(shortcuts);
  const ctx = {
    shortcuts, // a page adds its bindings here
    setTitle: (t) => { document.title = t ? `${t} · turbotrack` : 'turbotrack'; },
    setRunName: (name) => renderCrumbs(route, name),
    setLive: (on) => { document.getElementById('live').hidden = !on; },
    navigate,
    showError,
  };
  try {
    if (route.page === 'projects') cleanup = await mountProjects(root, route, ctx);
    else if (route.page === 'workspace') cleanup = await mountWorkspace(root, route, ctx);
    else if (route.page === 'run') cleanup = await mountRun(root, route, ctx);
    else {
      ctx.setTitle('Not found');
      replace(root, h('div', { class: 'error-page' }, h('h2', null, 'Not found'), h('p', null, `No page at ${route.path}`),
        h('a', { href: '/' }, 'All projects')));
    }
  } catch (err) {
    console.error(err);
    showError(err);
  }
  document.body.dataset.page = route.page;
  document.body.dataset.ready = String(Date.now());
}

/** Go to an in-app path without a reload. */
export function navigate(path, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = /** @type {Element} */ (ev.target).closest('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/')) return;
  ev.preventDefault();
  if (url.pathname !== location.pathname) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

// The login URL's token has done its job (the server set the session cookie): keep it out of the address bar.
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);
render();
