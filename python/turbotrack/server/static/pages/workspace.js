/**
 * The workspace (`/<entity>/<project>`): the runs table in a sidebar beside the charts.
 *
 * Table: sort by any column, filter by words or expressions, choose and pin columns, hide runs;
 * the choices are kept per project in localStorage. Charts (components/chartarea.js): panels in
 * collapsible sections by metric prefix (`system` loaded only when opened), one per metric by
 * default plus those the user adds (several metrics overlaid), each movable, resizable and with its
 * own settings, every visible run overlaid, with the x-axis, smoothing, log scale and how many runs
 * to draw chosen in the toolbar; a bar chart of one summary column. Histories are fetched per (run, key) with `samples` ≈ the panels' pixel width,
 * only for the charts in sight (an IntersectionObserver), the first runs of the table first and two
 * requests at most in flight, so the first chart is drawn after one small answer; charts scrolled to
 * later are filled then. Running runs' keys are re-fetched with ETags every few seconds; a zoom
 * fetches finer samples. The toolbar's Views menu saves every choice (the whole Settings, panels
 * included) under a name on the server, and loads one back (`workspaceView`, `applyView`).
 *
 * @module workspace
 */

import { getJson, urls } from '../lib/api.js';
import { RunStore } from '../lib/runstore.js';
import { assignColors } from '../lib/colors.js';
import { groupColors, groupName } from '../lib/groups.js';
import { tableItems } from '../lib/tablegroups.js';
import { DEFAULT_VIEW, fromQuery, toQuery } from '../lib/viewstate.js';
import { isoTime, toCsv } from '../lib/csv.js';
import { ComparePanel, ParamsPanel } from '../components/panels.js';
import { PRIORITY, getHistories, historyQueue } from '../lib/data.js';
import { chunks, nextBatch } from '../lib/batch.js';
import { BASE_COLUMNS, chartKeys, columnLabel, dataColumns, hiddenMetrics, runRow, stepMetrics } from '../lib/columns.js';
import { h, replace } from '../lib/dom.js';
import { runHref } from '../lib/route.js';
import { compileFilter, toMongo } from '../lib/filter.js';
import { colorFor, fmtValue } from '../lib/format.js';
import { sortBy } from '../lib/sort.js';
import { ChartArea } from '../components/chartarea.js';
import { RunsTable } from '../components/runstable.js';
import { loadSettings, nextSort, withDefaults } from '../lib/settings.js';
import { FrameQueue } from '../lib/frames.js';
import { Writer } from '../lib/writes.js';
import { viewsMenu } from '../components/views.js';

const POLL_MS = 2500;
const MAX_RUN_CHOICES = [10, 20, 50, 100, 200, 500];
const FIRST_PAGE = 300; // runs asked for before the table is drawn; the rest come in pages of REST_PAGE
const REST_PAGE = 1000;

/**
 * The API's `order` for the table's sort, where the server sorts that column (else its default).
 * @param {{col: string, dir: string}} sort
 * @returns {string|undefined}
 */
export function serverOrder(sort) {
  const sign = sort.dir === 'desc' ? '-' : '+';
  if (sort.col === 'created') return `${sign}created_at`;
  if (sort.col.startsWith('summary.')) return `${sign}summary_metrics.${sort.col.slice(8)}`;
  if (sort.col.startsWith('config.')) return `${sign}${sort.col}`;
  return undefined;
}

/**
 * A saved view's JSON: the workspace's whole Settings, marked as the workspace's (the analysis
 * page keeps its own views under the same project's names).
 * @param {import('../lib/settings.js').Settings} s
 * @returns {{page: 'workspace', settings: import('../lib/settings.js').Settings}}
 */
export function workspaceView(s) {
  return { page: 'workspace', settings: JSON.parse(JSON.stringify(s)) };
}

/**
 * The Settings a saved view holds (an error when it is no workspace view: one the analysis page saved).
 * @param {any} view
 * @returns {Partial<import('../lib/settings.js').Settings>}
 */
export function viewSettings(view) {
  const settings = view && view.page === 'workspace' ? view.settings : null;
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new Error('not a workspace view (saved on the analysis page?)');
  }
  return JSON.parse(JSON.stringify(settings));
}

export async function mountWorkspace(root, route, ctx) {
  const { entity, project } = route;
  ctx.setTitle(`${project}`);
  const storeKey = `turbotrack:workspace:${entity}/${project}`;
  // The view's choices: the URL's (a shared link) over the remembered ones; each change is kept in
  // both (lib/viewstate.js).
  // (Settings once withDefaults below has filled in what neither names.)
  const s = /** @type {import('../lib/settings.js').Settings} */ ({ ...loadSettings(storeKey), ...fromQuery(location.search) });
  const save = () => {
    localStorage.setItem(storeKey, JSON.stringify(s));
    const url = location.pathname + toQuery(s);
    if (url !== location.pathname + location.search) history.replaceState(history.state, '', url);
  };

  s.sort ??= DEFAULT_VIEW.sort;
  // The first page at once (in the table's order, as the server sorts it), the rest after.
  const store = new RunStore(async (params) => (await getJson(urls.runs(entity, project, params))).data);
  // A filter (from the URL, or remembered) is asked of the server too (lib/filter.js toMongo): the
  // first rows are the filtered table's even when it is a small part of many runs.
  await store.first(FIRST_PAGE, serverOrder(s.sort), toMongo(s.filter || '', new Set()));
  let runs = store.runs;
  let rows = runs.map(runRow);
  let runById = new Map(runs.map((r) => [r.id, r]));
  const colSet = new Set(dataColumns(rows));
  let columns = dataColumns([Object.fromEntries([...colSet].map((k) => [k, 1]))]);
  let known = new Set(columns);

  withDefaults(s, columns); // the first time a project is opened
  const hidden = new Set(s.hidden);
  save(); // the address bar shows the view from the start

  // ---- layout ----
  const filterInput = h('input', { type: 'search', id: 'run-filter', placeholder: 'Filter: words, or acc.max > 0.9, config.lr = 0.01, state = running', value: s.filter });
  const filterError = h('div', { class: 'filter-error', id: 'filter-error' });
  const countEl = h('span', { class: 'count', id: 'run-count' });
  const colMenu = h('details', { class: 'menu', id: 'columns-menu' }, h('summary', null, 'Columns'));
  const expandBtn = h('button', { type: 'button', id: 'expand-table', title: 'Show every chosen column' });
  const csvBtn = h('button', { type: 'button', id: 'export-csv', title: 'The runs as filtered and sorted, every chosen column, as CSV' }, 'CSV');
  const table = new RunsTable({
    entity, project,
    colorOf: (id) => colorOf(id),
    isHidden: (id) => hidden.has(id),
    onSort: (c) => {
      s.sort = nextSort(s.sort, c);
      save();
      refreshTable();
      scheduleCharts();
    },
    onHide: (id, isHidden) => {
      if (isHidden) hidden.add(id);
      else hidden.delete(id);
      s.hidden = [...hidden];
      save();
      if (s.groupBy) table.renderRows(); // its group's eye
      scheduleCharts();
    },
    onColor: (id, color) => chooseColor(id, color),
    // Grouped (s.groupBy): a group's header opens or closes it, its eye hides or shows all its runs.
    onToggleGroup: (name) => {
      const open = new Set(s.openGroups[s.groupBy] || []);
      if (open.has(name)) open.delete(name);
      else open.add(name);
      s.openGroups[s.groupBy] = [...open];
      save();
      refreshTable();
    },
    onHideGroup: (ids, isHidden) => {
      for (const id of ids) {
        if (isHidden) hidden.add(id);
        else hidden.delete(id);
      }
      s.hidden = [...hidden];
      save();
      table.renderRows();
      scheduleCharts();
    },
  });
  const tableWrap = table.el;
  const sidebar = h('aside', { class: 'sidebar' },
    h('div', { class: 'sidebar-tools' }, filterInput, filterError, h('div', { class: 'row' }, countEl, colMenu, expandBtn, csvBtn)),
    tableWrap);

  const xSelect = h('select', { id: 'x-axis' });
  const smoothInput = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: s.smoothing });
  const smoothLabel = h('span', { class: 'smooth-val' }, String(s.smoothing));
  const logBox = h('input', { type: 'checkbox', id: 'log-scale', checked: s.log });
  const runChoices = [...new Set([...MAX_RUN_CHOICES, s.maxRuns])].sort((a, b) => a - b);
  const maxSelect = h('select', { id: 'max-runs' }, runChoices.map((n) => h('option', { value: n, selected: n === s.maxRuns }, String(n))));
  const barSelect = h('select', { id: 'bar-metric' });
  const groupSelect = h('select', { id: 'group-by', title: 'Draw each group of runs as its mean in a min-max band' });
  const barBody = h('div', { class: 'bars', id: 'bar-chart' });
  const sectionsEl = h('div', { class: 'sections panel-sections' });
  const compare = new ComparePanel({ s, save: () => save(), colorOf: (id) => colorOf(id) });
  const paramsPanel = new ParamsPanel({ s, save: () => save(), colorOf: (id) => colorOf(id),
    onPick: (row) => ctx.navigate(runHref(entity, project, row.id)) });
  // Saved views (components/views.js, kept on the server per project): the whole Settings.
  const views = viewsMenu({ entity, project, writer: ctx.writer || new Writer(),
    current: () => workspaceView(s), apply: (v) => applyView(viewSettings(v)) });
  const viewsEl = h('details', { class: 'menu views-menu', id: 'views-menu' },
    h('summary', { title: 'Save these choices under a name, or load saved ones' }, 'Views'), h('div', { class: 'menu-body' }, views.el));
  viewsEl.addEventListener('toggle', () => {
    if (viewsEl.open) views.refresh(); // views another browser saved since
  });
  const barSection = h('details', { class: 'section', open: !s.collapsed.__bar, dataset: { group: '__bar' } },
    h('summary', null, 'Summary bar chart'), h('div', { class: 'panel bar-panel' }, h('label', null, 'metric ', barSelect), barBody));
  const chartsEl = h('section', { class: 'charts' },
    h('div', { class: 'toolbar' },
      h('label', null, 'x-axis ', xSelect),
      h('label', null, 'smoothing ', smoothInput, smoothLabel),
      h('label', null, logBox, ' log scale'),
      h('label', null, 'runs drawn ', maxSelect),
      h('label', null, 'group by ', groupSelect),
      viewsEl),
    barSection,
    compare.el,
    paramsPanel.el,
    sectionsEl);
  const layout = h('div', { class: 'workspace' }, sidebar, chartsEl);
  replace(root, layout);

  // ---- the runs table ----
  let view = []; // rows after filter and sort
  let items = []; // what the table lists: `view`, or grouped (s.groupBy) its groups' headers and open groups' runs
  let groupColorMap = new Map(); // group name → colour (lib/groups.js groupColors), for the table and the charts
  let filter = compileFilter(s.filter, known);

  function columnValue(row, col) {
    return row[col];
  }

  function tableColumns() {
    const extra = s.expanded ? s.shown.filter((c) => !s.pinned.includes(c)) : [];
    return ['name', ...s.pinned, ...extra].filter((c) => c === 'name' || BASE_COLUMNS.includes(c) || known.has(c));
  }

  function computeView() {
    filter = compileFilter(s.filter, known);
    filterError.textContent = filter.error ? `Filter: ${filter.error}` : '';
    const t0 = performance.now();
    view = sortBy(rows.filter(filter.test), (r) => columnValue(r, s.sort.col), s.sort.dir);
    groupColorMap = s.groupBy ? groupColors(rows.map((r) => groupName(r[s.groupBy]))) : new Map();
    items = tableItems(view, { groupBy: s.groupBy, sort: s.sort, open: s.openGroups[s.groupBy] || [], colors: groupColorMap }).items;
    recolor();
    layout.dataset.sortMs = (performance.now() - t0).toFixed(1);
    countEl.textContent = `${view.length} of ${rows.length} runs${store.complete() ? '' : ` (loading ${store.total})`}`;
  }

  function patchRows() {
    table.patchRows();
  }

  function refreshTable() {
    computeView();
    table.show(items, tableColumns(), s.sort, s.pinned);
    compare.update(view, (id) => rows[rowIndex.get(id)]);
  }

  let filterTimer = null;
  filterInput.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      s.filter = filterInput.value;
      save();
      table.scrollToTop();
      refreshTable();
      scheduleCharts();
    }, 150);
  });

  function renderColumnMenu() {
    const all = [...BASE_COLUMNS.filter((c) => c !== 'name'), ...columns];
    const search = h('input', { type: 'search', placeholder: 'find a column', class: 'col-search' });
    const list = h('div', { class: 'col-list' }, all.map((c) => h('div', { class: 'col-item', dataset: { col: c } },
      h('label', null, h('input', {
        type: 'checkbox', class: 'col-show', checked: s.shown.includes(c),
        onchange: (ev) => {
          s.shown = ev.target.checked ? [...s.shown, c] : s.shown.filter((x) => x !== c);
          save();
          refreshTable();
        },
      }), ` ${columnLabel(c)}`),
      h('button', {
        type: 'button', class: `pin${s.pinned.includes(c) ? ' on' : ''}`, title: 'Pin to the sidebar',
        onclick: (ev) => {
          s.pinned = s.pinned.includes(c) ? s.pinned.filter((x) => x !== c) : [...s.pinned, c];
          ev.target.classList.toggle('on', s.pinned.includes(c));
          save();
          refreshTable();
        },
      }, '📌'))));
    search.addEventListener('input', () => {
      const q = search.value.toLowerCase();
      for (const item of list.children) item.hidden = !item.dataset.col.toLowerCase().includes(q);
    });
    replace(colMenu, h('summary', null, 'Columns'), h('div', { class: 'menu-body' }, search, list));
  }

  // The runs as the table has them (filtered, sorted), with every chosen column, as a download.
  csvBtn.addEventListener('click', () => {
    const cols = [...new Set(['name', 'id', ...s.pinned, ...s.shown])].filter((c) => c === 'id' || c === 'name' || BASE_COLUMNS.includes(c) || known.has(c));
    const blob = new Blob([toCsv(cols, view, { created: isoTime })], { type: 'text/csv' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `${project}-runs.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });

  function renderExpand() {
    layout.classList.toggle('expanded', s.expanded);
    expandBtn.textContent = s.expanded ? 'Collapse table' : 'Expand table';
  }
  expandBtn.addEventListener('click', () => {
    s.expanded = !s.expanded;
    save();
    renderExpand();
    refreshTable();
  });

  // ---- colours: distinct for the runs drawn (lib/colors.js), or the one chosen ----
  let colorMap = new Map();
  function colorOf(id) {
    return colorMap.get(id) || s.colors[id] || colorFor(id);
  }
  /** The colours again for the runs drawn now; whether any changed. */
  function recolor() {
    const next = assignColors(chartRuns(), s.colors);
    let changed = next.size !== colorMap.size;
    if (!changed) for (const [id, c] of next) if (colorMap.get(id) !== c) { changed = true; break; }
    colorMap = next;
    return changed;
  }
  function chooseColor(id, color) {
    s.colors[id] = color;
    save();
    recolor();
    patchRows();
    scheduleCharts();
  }

  // ---- charts ----
  const histories = new Map(); // runId → Map(key → columnar history of that key, main stream, s.xAxis)
  const systemHist = new Map(); // runId → columnar history (system stream)
  const zoomData = new Map(); // panel id → Map(runId → history answer)
  const panelData = new Map(); // panel id → {xAxis, keys, runs: Map(runId → answer)}: panels with an x-axis of their own
  const details = new Map(); // runId → run detail (metrics, keys)
  let hiddenKeys = []; // metrics the runs hid (define_metric(hidden=True), from their details): no chart of their own
  let metricKeys = chartKeys(runs);
  /** The hidden metrics the run details name; their charts go when they are new. */
  function takeHiddenMetrics() {
    const next = [...new Set([...details.values()].flatMap((d) => hiddenMetrics(d.metrics)))].sort();
    if (next.join('\u0000') === hiddenKeys.join('\u0000')) return;
    hiddenKeys = next;
    layout.dataset.hiddenMetrics = hiddenKeys.join(',');
    metricKeys = chartKeys(runs, hiddenKeys);
    renderXChoices();
    renderSections();
    scheduleCharts();
  }
  let systemKeys = [];
  let samples = 400;

  const frames = new FrameQueue();
  // The sections of panels, and drawing into them (components/chartarea.js); the fetching stays here.
  const area = new ChartArea({
    el: sectionsEl, s, save: () => save(), project, frames,
    chartRuns: () => chartRuns(), colorOf: (id) => colorOf(id), rowOf: (id) => rows[rowIndex.get(id)],
    groupColor: (name) => groupColorMap.get(name) || colorFor(name),
    xChoices: () => [...xSelect.options].map((o) => o.value),
    complete: () => store.complete(),
    histories, systemHist, zoomData, panelData,
    onZoom: (panel, range) => zoom(panel, range),
    fetchPanel: (panel, list, revalidate) => fetchPanel(panel, list, revalidate),
    onSectionOpen: (id, isSystem) => {
      if (isSystem && !s.collapsed[id]) loadSystem();
      scheduleCharts();
    },
    onSight: () => pump(),
    onDrawn: (chart) => chartDrawn(chart),
  });
  const dirty = area.dirty; // metric keys with new histories: their panels are drawn again

  function chartRuns() {
    const out = [];
    for (const row of view) {
      if (!hidden.has(row.id)) out.push(runById.get(row.id));
      if (out.length >= s.maxRuns) break;
    }
    return out;
  }

  function renderXChoices() {
    const stepKeys = new Set();
    for (const d of details.values()) for (const k of stepMetrics(d.metrics)) stepKeys.add(k);
    const opts = ['_step', '_runtime', '_timestamp', ...stepKeys, ...metricKeys.filter((k) => !stepKeys.has(k))];
    if (!opts.includes(s.xAxis)) opts.push(s.xAxis);
    replace(xSelect, opts.map((k) => h('option', { value: k, selected: k === s.xAxis }, k)));
  }

  function renderGroupChoices() {
    const opts = ['', 'group', 'job_type', ...columns.filter((c) => c.startsWith('config.'))];
    if (s.groupBy && !opts.includes(s.groupBy)) opts.push(s.groupBy);
    replace(groupSelect, opts.map((c) => h('option', { value: c, selected: c === s.groupBy }, c || 'none')));
  }

  function renderBarChoices() {
    const opts = columns.filter((c) => c.startsWith('summary.'));
    replace(barSelect, opts.map((c) => h('option', { value: c, selected: c === s.bar }, columnLabel(c))));
    if (!opts.includes(s.bar) && opts.length) s.bar = opts[0];
  }

  // One bar per run with a number there; a NaN has no bar and an infinity a full one (sorted last
  // and first, as the runs table does), each with its value written out.
  function renderBars() {
    const list = chartRuns().map((r) => ({ run: r, v: rows[rowIndex.get(r.id)]?.[s.bar] })).filter((x) => typeof x.v === 'number');
    const sorted = sortBy(list, (x) => x.v, 'desc');
    const max = Math.max(...sorted.map((x) => (Number.isFinite(x.v) ? Math.abs(x.v) : 0)), 0) || 1;
    const width = (v) => (Number.isNaN(v) ? 0 : Number.isFinite(v) ? (100 * Math.abs(v)) / max : 100);
    replace(barBody, sorted.length === 0 ? h('div', { class: 'empty' }, 'no values') : sorted.slice(0, 100).map((x) => h('div', {
      class: `bar-row${Number.isFinite(x.v) ? '' : ' nonfinite'}`, dataset: { run: x.run.id } },
    h('span', { class: 'bar-label', title: x.run.name }, x.run.name || x.run.id),
    h('span', { class: 'bar-track' }, h('span', { class: 'bar', style: `width:${width(x.v)}%;background:${colorOf(x.run.id)}` })),
    h('span', { class: 'bar-val' }, fmtValue(x.v)))));
  }
  let rowIndex = new Map(rows.map((r, i) => [r.id, i]));

  function renderSections() {
    area.render(metricKeys, systemKeys);
  }

  // One redraw per panel per frame at most, as many panels a frame as fit in its budget (FrameQueue);
  // only panels in sight (and open) are drawn, the others when they are scrolled to
  // (components/chartarea.js).
  let firstDrawn = false;
  function scheduleCharts(all = true) {
    if (all) {
      if (recolor()) patchRows();
      frames.add('\u0000params', () => paramsPanel.update(columns, chartRuns().map((r) => rows[rowIndex.get(r.id)]).filter(Boolean)));
      area.markAll();
      frames.add('\u0000bars', renderBars);
      frames.add('\u0000pump', pump); // runs newly drawn (sorted, filtered, shown) and sections opened need their histories
    }
    area.queueDirty();
  }

  /** After each panel drawn: the first with data on screen is what benches/ui.py measures from navigation. */
  function chartDrawn(chart) {
    layout.dataset.chartsDrawn = String(Date.now());
    if (!firstDrawn && Number(chart.el.dataset.runs) > 0) {
      firstDrawn = true;
      performance.mark('turbotrack:first-chart');
      layout.dataset.firstChartMs = performance.now().toFixed(1);
      afterFirst();
    }
  }

  // ---- fetching ----
  const inflight = new Set();
  async function pool(items, fn, width = 6) {
    let i = 0;
    const worker = async () => {
      while (i < items.length) await fn(items[i++]);
    };
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  }

  // `each=1`: every key its own rows, sampled on its own (metrics logged at different steps each
  // keep all their points; without it the server answers only the rows holding every key).
  // `bands=1` while few runs are drawn: each downsampled line in its buckets' min-max band (with
  // many runs the bands would hide each other, and double what is fetched).
  const BAND_RUNS = 10;
  function historyParams(keys, extra = {}) {
    const bands = chartRuns().length <= BAND_RUNS ? 1 : undefined;
    return { keys: keys.join(','), x_axis: s.xAxis, samples, each: 1, bands, ...extra };
  }
  function historyUrl(run, keys, extra = {}) {
    return urls.history(entity, project, run.id, historyParams(keys, extra));
  }

  // One request for some keys of many runs (the batch route; `each=1`: each key's own rows), each
  // run's answer put in `histories`. Answers for another x-axis than the current one (asked
  // before it changed) are dropped.
  const pending = new Set(); // `${runId}\0${key}` being fetched
  let generation = 0;
  async function fetchKeys(list, keys, revalidate = false) {
    const gen = generation;
    for (const run of list) for (const k of keys) pending.add(`${run.id}\0${k}`);
    try {
      const ids = list.map((r) => r.id);
      const { answers, changed } = await getHistories(entity, project, ids, historyParams(keys), { revalidate, priority: PRIORITY.view });
      if (gen !== generation) return;
      for (const [id, data] of answers) {
        let got = histories.get(id);
        if (!got) histories.set(id, (got = new Map()));
        for (const k of keys) {
          if (!changed && got.has(k)) continue;
          got.set(k, data.keys[k]);
          dirty.add(k);
        }
      }
      scheduleCharts(false);
    } catch (err) {
      console.warn('history', list.map((r) => r.id).join(','), err);
    } finally {
      for (const run of list) for (const k of keys) pending.delete(`${run.id}\0${k}`);
    }
  }

  /** The live runs' histories asked again with their ETags: a batch per set of keys drawn. */
  async function refreshLive(live) {
    const byKeys = new Map();
    for (const run of live) {
      const keys = [...histories.get(run.id).keys()];
      const sig = keys.join('\0');
      if (!byKeys.has(sig)) byKeys.set(sig, { keys, runs: [] });
      byKeys.get(sig).runs.push(run);
    }
    const jobs = [];
    for (const { keys, runs: some } of byKeys.values()) for (const ids of chunks(some.map((r) => r.id))) jobs.push({ keys, ids });
    await pool(jobs, ({ keys, ids }) => fetchKeys(ids.map((id) => runById.get(id)).filter(Boolean), keys, true), WIDTH);
  }

  /** The next (runs, keys) to fetch: the charts in sight, for the runs drawn, in table order; the
   * runs lacking the same keys in one batch, spread over the requests that may run at once. */
  function nextFetch() {
    const keys = area.keysInSight();
    if (!keys.length) return null;
    if (!firstDrawn) keys.length = 1; // the first chart after the smallest answer: one key of one run
    const list = chartRuns();
    const lacks = (id) => {
      const got = histories.get(id);
      return keys.filter((k) => !(got && got.has(k)) && !pending.has(`${id}\0${k}`));
    };
    // The very first request is one key of one run (the smallest answer); the others batches.
    const first = !firstDrawn && !histories.size && !pending.size;
    const batch = nextBatch(list.map((r) => r.id), lacks, first ? { size: 1 } : { slots: historyQueue.free(), min: 4 });
    return batch && [batch.ids.map((id) => runById.get(id)), batch.keys];
  }

  // Requests in flight (the shared history queue's width): two until the first chart is drawn
  // (more only makes the first answer wait behind the others), then eight.
  const WIDTH = 2;
  historyQueue.setWidth(WIDTH);
  function pump() {
    if (stopped) return;
    if (!samples) samples = area.width() || 400;
    if (firstDrawn && historyQueue.width < 4 * WIDTH) historyQueue.setWidth(4 * WIDTH);
    while (historyQueue.free() > 0) {
      const next = nextFetch();
      if (!next) return;
      fetchKeys(...next).finally(pump);
    }
  }

  async function fetchDetails(list) {
    await pool(list.filter((r) => !details.has(r.id)), async (run) => {
      try {
        const { data } = await getJson(urls.run(entity, project, run.id));
        details.set(run.id, data);
      } catch (err) {
        console.warn('run detail', run.id, err);
      }
    });
    takeHiddenMetrics();
    const sys = new Set(systemKeys);
    for (const d of details.values()) for (const k of (d.keys && d.keys.system) || []) if (!k.startsWith('_')) sys.add(k);
    const next = [...sys].sort();
    renderXChoices();
    if (next.join() !== systemKeys.join()) {
      systemKeys = next;
      renderSections();
      scheduleCharts();
    }
  }

  async function loadSystem() {
    const list = chartRuns().filter((r) => r.state === 'running' || !systemHist.has(r.id));
    const keys = systemKeys.filter((k) => !k.startsWith('system/'));
    if (!keys.length) return;
    await pool(list, async (run) => {
      try {
        const url = urls.history(entity, project, run.id, { keys: keys.join(','), x_axis: '_runtime', samples, stream: 'system' });
        const { data, changed } = await historyQueue.get(url, { revalidate: true, priority: PRIORITY.background });
        if (changed || !systemHist.has(run.id)) {
          systemHist.set(run.id, data);
          scheduleCharts();
        }
      } catch (err) {
        console.warn('system', run.id, err);
      }
    });
  }

  // A zoom: the panel's keys again for its runs, in that x range, finer (`samples` its width).
  async function zoom(panel, range) {
    const id = panel.spec.id;
    const chart = panel.panel.chart;
    if (!range) {
      zoomData.delete(id);
      chart.setStatus('');
      area.markPanel(id);
      return;
    }
    const keys = panel.spec.keys;
    const xAxis = panel.spec.xAxis ?? s.xAxis;
    const got = new Map();
    chart.setStatus('loading…');
    await pool(area.runsOf(panel), async (run) => {
      try {
        const params = { min: range.min, max: range.max, samples: chart.width() };
        const url = panel.system
          ? urls.history(entity, project, run.id, { keys: keys.join(','), x_axis: '_runtime', stream: 'system', ...params })
          : historyUrl(run, keys, { ...params, x_axis: xAxis });
        got.set(run.id, (await historyQueue.get(url, { priority: PRIORITY.zoom })).data);
      } catch (err) {
        console.warn('zoom', run.id, err);
      }
    });
    if (chart.zoom) {
      zoomData.set(id, got);
      chart.setStatus('zoomed · double-click to reset');
    } else {
      chart.setStatus('');
    }
    area.markPanel(id);
  }

  // A panel with an x-axis of its own: its keys fetched on that axis for its runs (the same queue
  // and `each=1` answers as the shared histories), kept in panelData until its axis or keys change.
  const panelPending = new Set(); // `${panelId}\0${runId}` being fetched
  async function fetchPanel(panel, list, revalidate = false) {
    const id = panel.spec.id;
    const keys = panel.spec.keys.join(',');
    const xAxis = panel.spec.xAxis ?? s.xAxis;
    let got = panelData.get(id);
    if (!got || got.xAxis !== xAxis || got.keys !== keys) panelData.set(id, (got = { xAxis, keys, runs: new Map() }));
    const mine = got;
    const todo = list.filter((r) => (revalidate ? r.state === 'running' || !mine.runs.has(r.id) : !mine.runs.has(r.id)) && !panelPending.has(`${id}\0${r.id}`));
    await pool(todo, async (run) => {
      panelPending.add(`${id}\0${run.id}`);
      try {
        const url = historyUrl(run, panel.spec.keys, { x_axis: xAxis });
        const { data, changed } = await historyQueue.get(url, { revalidate, priority: PRIORITY.view });
        if (panelData.get(id) !== mine || stopped) return;
        if (changed || !mine.runs.has(run.id)) {
          mine.runs.set(run.id, data);
          area.markPanel(id);
        }
      } catch (err) {
        console.warn('panel history', run.id, err);
      } finally {
        panelPending.delete(`${id}\0${run.id}`);
      }
    }, 4);
  }

  function loadAll() {
    samples = 0;
    pump();
  }

  // ---- toolbar ----
  xSelect.addEventListener('change', () => {
    s.xAxis = xSelect.value;
    save();
    xAxisChanged();
  });
  /** The histories fetched on the old x-axis forgotten, and asked again on the new one. */
  function xAxisChanged() {
    generation++;
    histories.clear();
    systemHist.clear();
    zoomData.clear();
    area.resetZooms();
    loadAll();
    if (!s.collapsed.system) loadSystem();
  }
  smoothInput.addEventListener('input', () => {
    s.smoothing = Number(smoothInput.value);
    smoothLabel.textContent = s.smoothing.toFixed(2);
    save();
    scheduleCharts();
  });
  logBox.addEventListener('change', () => {
    s.log = logBox.checked;
    save();
    scheduleCharts();
  });
  maxSelect.addEventListener('change', () => {
    s.maxRuns = Number(maxSelect.value);
    save();
    loadAll();
    scheduleCharts();
  });
  groupSelect.addEventListener('change', () => {
    s.groupBy = groupSelect.value;
    save();
    refreshTable();
    scheduleCharts();
  });
  barSelect.addEventListener('change', () => {
    s.bar = barSelect.value;
    save();
    renderBars();
  });

  /**
   * A saved view loaded (the Views menu): its Settings replace the page's, and the table, the
   * toolbar, the sections and their panels are drawn again as if each choice had been made here
   * (kept in localStorage and the URL as any choice is).
   * @param {Partial<import('../lib/settings.js').Settings>} next
   */
  function applyView(next) {
    const xBefore = s.xAxis;
    for (const k of Object.keys(s)) delete s[k];
    Object.assign(s, next);
    withDefaults(s, columns);
    hidden.clear();
    for (const id of s.hidden) hidden.add(id);
    filterInput.value = s.filter;
    logBox.checked = s.log;
    smoothInput.value = String(s.smoothing);
    smoothLabel.textContent = String(s.smoothing);
    const choices = [...new Set([...MAX_RUN_CHOICES, s.maxRuns])].sort((a, b) => a - b);
    replace(maxSelect, choices.map((n) => h('option', { value: n, selected: n === s.maxRuns }, String(n))));
    barSection.open = !s.collapsed.__bar;
    save();
    renderColumnMenu();
    renderExpand();
    renderXChoices();
    renderBarChoices();
    renderGroupChoices();
    table.scrollToTop();
    refreshTable();
    renderSections();
    if (s.xAxis !== xBefore) xAxisChanged();
    else loadAll();
    if (!s.collapsed.system) loadSystem();
    scheduleCharts();
  }

  // ---- runs arriving: the rest of the pages, then what polls say changed ----
  /** Take in new runs (added) and new versions of runs here (updated), then the table and charts. */
  function takeRuns(added, updated) {
    runs = store.runs;
    for (const run of updated) {
      const i = rowIndex.get(run.id);
      if (i !== undefined) rows[i] = runRow(run);
      runById.set(run.id, run);
    }
    const fresh = added.map(runRow);
    for (const row of fresh) {
      rowIndex.set(row.id, rows.length);
      rows.push(row);
    }
    for (const run of added) runById.set(run.id, run);
    const before = colSet.size;
    for (const row of [...fresh, ...updated.map((r) => rows[rowIndex.get(r.id)])]) {
      for (const k in row) if (k.startsWith('config.') || k.startsWith('summary.')) colSet.add(k);
    }
    if (colSet.size !== before) {
      columns = dataColumns([Object.fromEntries([...colSet].map((k) => [k, 1]))]);
      known = new Set(columns);
      renderColumnMenu();
      renderBarChoices();
      renderGroupChoices();
    }
    if (added.length || updated.length) {
      const nextKeys = [...new Set([...metricKeys, ...chartKeys([...added, ...updated], hiddenKeys)])].sort();
      if (nextKeys.join() !== metricKeys.join()) {
        metricKeys = nextKeys;
        renderXChoices();
        renderSections();
      }
    }
    // The table again: in place when the order is the same (a running run's runtime ticking
    // rewrites its cell, not the table).
    computeView();
    if (colSet.size !== before) table.show(items, tableColumns(), s.sort, s.pinned);
    else table.update(items);
  }

  async function loadRest() {
    try {
      await store.rest(REST_PAGE, serverOrder(s.sort), (added) => {
        if (!stopped) takeRuns(added, []);
      });
    } catch (err) {
      console.warn('runs', err);
    }
    if (!stopped) {
      computeView();
      if (!store.complete()) countEl.textContent = `${view.length} of ${rows.length} runs`;
      else renderSections(); // the metric keys are final: panels of metrics no run has go now
    }
  }

  async function poll() {
    if (stopped) return;
    try {
      if (store.complete()) {
        const got = await store.poll();
        if (stopped) return;
        if (got.stale) {
          // A run left: everything again.
          await store.first(FIRST_PAGE, serverOrder(s.sort));
          await store.rest(REST_PAGE, serverOrder(s.sort));
          if (stopped) return;
          rows = [];
          rowIndex = new Map();
          runById = new Map();
          takeRuns(store.runs, []);
          scheduleCharts();
        } else if (got.added.length || got.changed.length || got.moved.length) {
          takeRuns(got.added, [...got.changed, ...got.moved]);
          if (got.added.length || got.changed.length) scheduleCharts();
        }
      }
      ctx.setLive(runs.some((r) => r.state === 'running'));
      const live = chartRuns().filter((r) => r.state === 'running' && histories.get(r.id)?.size);
      await refreshLive(live);
      area.refreshOwnX();
      pump();
      if (!s.collapsed.system) await loadSystem();
    } catch (err) {
      console.warn('poll', err);
    } finally {
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    }
  }

  renderColumnMenu();
  renderExpand();
  renderXChoices();
  renderBarChoices();
  renderGroupChoices();
  refreshTable();
  renderSections();
  ctx.setLive(runs.some((r) => r.state === 'running'));
  let stopped = false;
  loadAll();
  scheduleCharts();
  // Run details (step metrics, system keys) wait for the first chart, or a second at most.
  let detailsAsked = false;
  function afterFirst() {
    if (detailsAsked || stopped) return;
    detailsAsked = true;
    fetchDetails(chartRuns().slice(0, 3)).then(() => {
      if (!s.collapsed.system) loadSystem();
    });
  }
  setTimeout(afterFirst, 1000);
  let timer = setTimeout(poll, POLL_MS);
  loadRest();

  // Keyboard shortcuts (the app's lib/shortcuts.js; `?` lists them).
  const toggle = (/** @type {HTMLInputElement|HTMLSelectElement} */ el) => el.dispatchEvent(new Event('change'));
  ctx.shortcuts
    .add({ key: '/', section: 'Workspace', description: 'filter the runs', run: () => filterInput.focus() })
    .add({ key: 'l', section: 'Workspace', description: 'log scale on or off', run: () => {
      logBox.checked = !logBox.checked;
      toggle(logBox);
    } })
    .add({ key: 'e', section: 'Workspace', description: 'expand or collapse the runs table', run: () => expandBtn.click() })
    .add({ key: 'g', section: 'Workspace', description: 'group by: next choice', run: () => {
      groupSelect.selectedIndex = (groupSelect.selectedIndex + 1) % groupSelect.options.length;
      toggle(groupSelect);
    } })
    .add({ key: 'c', section: 'Workspace', description: 'download the runs table as CSV', run: () => csvBtn.click() })
    .note({ key: 'Alt+←/→', section: 'Workspace', description: 'move the panel whose title bar is focused one place' });

  return () => {
    stopped = true;
    historyQueue.setWidth(WIDTH);
    clearTimeout(timer);
    frames.clear();
    area.destroy();
  };
}
