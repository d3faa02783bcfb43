/**
 * The projects page (`/`): every project with its run count and last activity, newest first.
 *
 * @module projects
 */

import { getJson, urls } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { fmtTime } from '../lib/format.js';
import { workspaceHref } from '../lib/route.js';
import { sortBy } from '../lib/sort.js';

export async function mountProjects(root, route, ctx) {
  ctx.setTitle('Projects');
  const { data } = await getJson(urls.projects());
  const projects = sortBy(data.projects || [], (p) => activityTime(p.last_activity), 'desc');
  replace(root, h('div', { class: 'page projects-page' },
    h('h1', null, 'Projects'),
    projects.length === 0
      ? h('p', { class: 'empty' }, 'No runs yet. Runs written with turbotrack.init() under this server\'s --dir show up here.')
      : h('table', { class: 'grid', id: 'projects' },
        h('thead', null, h('tr', null, h('th', null, 'Project'), h('th', null, 'Entity'), h('th', { class: 'num' }, 'Runs'), h('th', null, 'Last activity'))),
        h('tbody', null, projects.map((p) => h('tr', { dataset: { project: `${p.entity}/${p.project}` } },
          h('td', null, h('a', { href: workspaceHref(p.entity, p.project) }, p.project)),
          h('td', null, p.entity),
          h('td', { class: 'num' }, String(p.run_count ?? '')),
          h('td', null, fmtTime(p.last_activity))))))));
  return () => {};
}

function activityTime(t) {
  if (typeof t === 'number') return t;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms / 1000;
}
