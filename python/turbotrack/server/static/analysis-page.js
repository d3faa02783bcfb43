/**
 * The analysis page (`/<entity>/<project>/analysis`): crumbs back to the workspace, and the
 * analysis view (components/analysis.js) of the project the path names.
 *
 * @module analysis-page
 */

import { h, replace } from './lib/dom.js';
import { mountAnalysis } from './components/analysis.js';

const parts = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
const [entity, project] = parts;
const app = /** @type {HTMLElement} */ (document.getElementById('app'));
const crumbs = document.getElementById('crumbs');
if (crumbs) {
  replace(crumbs, h('a', { href: '/' }, 'projects'), ' / ',
    h('a', { href: `/${encodeURIComponent(entity)}/${encodeURIComponent(project)}` }, `${entity}/${project}`), ' / analysis');
}
mountAnalysis(app, { entity, project }).then(() => {
  document.body.dataset.ready = String(Date.now());
}).catch((err) => {
  replace(app, h('p', { class: 'error' }, `could not load the runs: ${err.message}`));
});
