/**
 * The analysis view of a project, the one entry that mounts the panels of this folder: the runs
 * (pick any number: the first 5 picked are compared, the picked deleted at once; edit one),
 * parallel coordinates, a scatter plot, parameter importance, the compared runs side by side and
 * their media across a step slider, saved named views, and keyboard shortcuts (`?` lists them).
 * Served as its own page at `/<entity>/<project>/analysis` (analysis.html); a workspace can mount it
 * in any element.
 *
 * @module analysis
 */

import { allRuns } from '../lib/api.js';
import { runRow } from '../lib/columns.js';
import { compared as firstCompared, MAX_COMPARE, pickAll, togglePick } from '../lib/compare.js';
import { h, replace } from '../lib/dom.js';
import { colorFor } from '../lib/format.js';
import { Shortcuts } from '../lib/shortcuts.js';
import { Writer } from '../lib/writes.js';
import { comparePanel } from './compare.js';
import { importancePanel } from './importance.js';
import { mediaComparePanel } from './mediacompare.js';
import { parallelCoordsPanel } from './pcoords.js';
import { confirmDelete, editRunDialog } from './runedit.js';
import { scatterPanel } from './scatter.js';
import { installShortcuts } from './shortcuts.js';
import { viewsMenu } from './views.js';

/**
 * What a saved view of this page holds.
 * @typedef {{picked: string[], pcoords?: import('./pcoords.js').PcoordsState, scatter?: import('./scatter.js').ScatterState,
 *   importance?: {metric: string}, media?: {key: string}}} AnalysisView
 */

const STYLE_HREF = '/static/components/panels.css';

/** Load panels.css once (a <link>: the CSP allows the server's own stylesheets). */
export function ensureStyles() {
  if (document.querySelector(`link[href="${STYLE_HREF}"]`)) return;
  document.head.append(h('link', { rel: 'stylesheet', href: STYLE_HREF }));
}

/**
 * Mount the analysis view of a project in `el`.
 * @param {HTMLElement} el
 * @param {{entity: string, project: string, runs?: any[], view?: AnalysisView, writer?: Writer,
 *   onPickRun?: (run: any) => void}} ctx runs: the project's runs as the API lists them (fetched when absent)
 * @returns {Promise<{reload: () => Promise<void>, state: () => AnalysisView, dispose: () => void}>}
 */
export async function mountAnalysis(el, ctx) {
  ensureStyles();
  const { entity, project } = ctx;
  const writer = ctx.writer || new Writer();
  /** @type {any[]} */
  let runs = ctx.runs || [];
  /** @type {Record<string, any>[]} */
  let rows = [];
  /** @type {AnalysisView} */
  let view = ctx.view || { picked: [] };
  const runList = h('div', { class: 'an-runs' });
  const grid = h('div', { class: 'an-grid' });
  const status = h('span', { class: 'count an-status' });
  const views = viewsMenu({ entity, project, writer, current: () => state(), apply: (v) => {
    view = { picked: [], ...v };
    build();
  } });
  replace(el, h('div', { class: 'analysis' },
    h('div', { class: 'an-head' }, h('h2', null, `${entity}/${project}: analysis`), views.el, status),
    h('div', { class: 'an-main' }, runList, grid)));

  /** @type {any} */
  let panels = {};
  /** @type {Set<string>|null} the runs kept by the parallel coordinates' brushes (null: all) */
  let brushed = null;
  // The scatter and the importance take the runs the brushes keep.
  const inBrush = () => (brushed ? rows.filter((r) => brushed?.has(String(r.id))) : rows);
  const picked = () => rows.filter((r) => view.picked.includes(String(r.id)))
    .sort((a, b) => view.picked.indexOf(String(a.id)) - view.picked.indexOf(String(b.id)));
  const pickedRuns = () => picked().map((r) => runs.find((x) => x.id === r.id));
  // Any number of runs may be picked (bulk delete); the comparisons take the first MAX_COMPARE.
  const compared = () => firstCompared(picked());
  const comparedRuns = () => firstCompared(pickedRuns());
  const pickRun = (/** @type {any} */ row) => {
    const run = runs.find((x) => x.id === row.id);
    if (ctx.onPickRun) ctx.onPickRun(run);
    else location.assign(`/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/runs/${encodeURIComponent(row.id)}`);
  };

  /** @returns {AnalysisView} */
  function state() {
    return {
      picked: [...view.picked],
      pcoords: panels.pcoords ? panels.pcoords.state() : view.pcoords,
      scatter: panels.scatter ? panels.scatter.state() : view.scatter,
      importance: panels.importance ? panels.importance.state() : view.importance,
      media: panels.media ? panels.media.state() : view.media,
    };
  }

  function drawRuns() {
    const ids = new Set(rows.map((r) => String(r.id)));
    view.picked = view.picked.filter((id) => ids.has(id));
    const n = view.picked.length;
    replace(runList,
      h('div', { class: 'an-runs-tools' }, h('span', { class: 'count an-picked' }, n > MAX_COMPARE ? `${n} picked (the first ${MAX_COMPARE} compared)` : `${n} picked (compare 2-${MAX_COMPARE})`),
        h('button', { type: 'button', class: 'an-all', onclick: () => setPicked(pickAll(view.picked, rows.map((r) => String(r.id)))) }, 'Pick all'),
        h('button', { type: 'button', class: 'an-delete', disabled: n === 0, onclick: () => deletePicked() }, 'Delete picked'),
        h('button', { type: 'button', class: 'an-clear', disabled: n === 0, onclick: () => setPicked([]) }, 'Clear')),
      h('table', { class: 'grid an-run-table' }, h('tbody', null, rows.map((r) => {
        const id = String(r.id);
        return h('tr', { class: view.picked.includes(id) ? 'picked' : null, dataset: { run: id } },
          h('td', null, h('input', { type: 'checkbox', class: 'an-pick', checked: view.picked.includes(id),
            onchange: () => setPicked(togglePick(view.picked, id)) })),
          h('td', { class: 'an-run-name' }, h('span', { class: 'swatch', style: `background:${colorFor(id)}` }), ` ${r.name}`,
            (r.tags || []).length ? h('span', { class: 'an-tags' }, ` ${(r.tags || []).join(', ')}`) : null),
          h('td', null, h('span', { class: `state state-${r.state}` }, r.state)),
          h('td', null, h('button', { type: 'button', class: 'an-edit', title: 'edit name, tags, notes', onclick: () => editRun(id) }, 'Edit')));
      }))));
  }

  /** @param {string[]} ids */
  function setPicked(ids) {
    view.picked = ids;
    drawRuns();
    panels.compare.update(compared());
    panels.media.update(comparedRuns());
  }

  /** @param {string} id */
  function editRun(id) {
    const run = runs.find((x) => x.id === id);
    if (!run) return;
    editRunDialog({ entity, project, run, writer, host: el, onSaved: (saved) => {
      runs = runs.map((x) => (x.id === saved.id ? { ...x, ...saved } : x));
      setRows();
      refreshPanels();
    } });
  }

  function deletePicked() {
    const chosen = pickedRuns().filter(Boolean);
    if (!chosen.length) return;
    confirmDelete({ entity, project, runs: chosen, writer, host: el, onDeleted: (gone) => {
      runs = runs.filter((x) => !gone.includes(x.id));
      view.picked = view.picked.filter((x) => !gone.includes(x));
      setRows();
      refreshPanels();
    } });
  }

  function setRows() {
    rows = runs.map(runRow);
    status.textContent = `${runs.length} runs`;
    drawRuns();
  }

  function refreshPanels() {
    panels.pcoords.update(rows);
    panels.scatter.update(inBrush());
    panels.importance.update(inBrush());
    panels.compare.update(compared());
    panels.media.update(comparedRuns());
  }

  function build() {
    brushed = null;
    setRows();
    panels = {
      pcoords: parallelCoordsPanel({
        rows, keys: view.pcoords?.keys, colorBy: view.pcoords?.colorBy, brushes: view.pcoords?.brushes, onPick: pickRun,
        onBrush: (ids) => {
          brushed = ids.length === rows.length ? null : new Set(ids);
          panels.scatter.update(inBrush());
          panels.importance.update(inBrush());
        },
      }),
      scatter: scatterPanel({ rows, ...(view.scatter || {}), onPick: pickRun }),
      importance: importancePanel({ rows, metric: view.importance?.metric }),
      compare: comparePanel({ rows: compared() }),
      media: mediaComparePanel({ entity, project, runs: comparedRuns(), key: view.media?.key }),
    };
    replace(grid, panels.pcoords.el, h('div', { class: 'an-pair' }, panels.scatter.el, panels.importance.el),
      panels.compare.el, panels.media.el);
  }

  async function reload() {
    runs = await allRuns(entity, project);
    setRows();
    refreshPanels();
  }

  if (!ctx.runs) runs = await allRuns(entity, project);
  build();

  const keys = new Shortcuts()
    .add({ key: 'r', section: 'Runs', description: 'reload the runs', run: () => reload() })
    .add({ key: 'x', section: 'Runs', description: 'clear the picked runs', run: () => setPicked([]) })
    .add({ key: 'e', section: 'Runs', description: 'edit the first picked run', run: () => view.picked[0] && editRun(view.picked[0]) })
    .add({ key: 'Delete', section: 'Runs', description: 'delete the picked runs (asks first)', run: () => deletePicked() })
    .add({ key: 'p', section: 'Panels', description: 'go to parallel coordinates', run: () => panels.pcoords.el.scrollIntoView() })
    .add({ key: 's', section: 'Panels', description: 'go to the scatter plot', run: () => panels.scatter.el.scrollIntoView() })
    .add({ key: 'c', section: 'Panels', description: 'go to the run comparison', run: () => panels.compare.el.scrollIntoView() })
    .add({ key: 'm', section: 'Panels', description: 'go to media across runs', run: () => panels.media.el.scrollIntoView() });
  const help = installShortcuts(keys, { host: el });
  return { reload, state, dispose: () => help.dispose() };
}
