/**
 * The run page (`/<e>/<p>/runs/<id>`) and its tabs: overview (facts, config, summary, charts of
 * the run grouped by prefix, media panels), `system` (system metrics), `logs` (output.log with
 * ANSI colours, search, follow) and `files` (every file, preview, download). A running run's charts
 * and logs keep growing: history is re-fetched with ETags, logs from the last byte offset, and the
 * overview's facts and summary are fetched again at the charts' pace and their cells updated in
 * place. A failed or crashed run's overview names its exit code, why it is in that state and the
 * error it ended with (the server's `exit_code`, `state_reason`, `error`).
 *
 * @module run
 */

import { allRows, getJson, urls } from '../lib/api.js';
import { pointsOf } from '../lib/align.js';
import { AnsiConverter } from '../lib/ansi.js';
import { flatten, groupByPrefix, hiddenMetrics, isHiddenKey } from '../lib/columns.js';
import { diffToHtml } from '../lib/diff.js';
import { h, replace } from '../lib/dom.js';
import { colorFor, escapeHtml, fmtBytes, fmtDuration, fmtField, fmtTime, systemUnit } from '../lib/format.js';
import { RUN_TABS, runHref } from '../lib/route.js';
import { PRIORITY, historyQueue } from '../lib/data.js';
import { LineChart } from '../components/linechart.js';
import { isTyped, mediaKind, mediaPanel } from '../components/media.js';

const POLL_MS = 2500;

export async function mountRun(root, route, ctx) {
  const { entity, project, run: runId, tab } = route;
  const { data: run } = await getJson(urls.run(entity, project, runId));
  ctx.setTitle(`${run.name || runId}${tab !== 'overview' ? ` · ${tab}` : ''}`);
  ctx.setRunName(run.name || runId);
  ctx.setLive(run.state === 'running');
  const where = { entity, project, run: runId };
  const content = h('div', { class: 'run-content' });
  replace(root, h('div', { class: 'page run-page' },
    h('div', { class: 'run-head' },
      h('h1', null, h('span', { class: 'swatch big', style: `background:${colorFor(runId)}` }), run.name || runId),
      h('span', { class: `state state-${run.state}`, id: 'run-state' }, run.state || '')),
    h('nav', { class: 'tabs' }, ['overview', ...RUN_TABS].map((t) =>
      h('a', { href: runHref(entity, project, runId, t), class: t === tab ? 'active' : null, dataset: { tab: t } }, t))),
    content));
  const mount = { overview: overviewTab, system: systemTab, logs: logsTab, files: filesTab }[tab];
  return mount(content, where, run, ctx);
}

/** Re-fetch the run now and then so the state badge and `running` checks stay true. */
function watchRun(where, run, ctx) {
  return async () => {
    const { data } = await getJson(urls.run(where.entity, where.project, where.run));
    Object.assign(run, data);
    const badge = document.getElementById('run-state');
    if (badge) {
      badge.textContent = data.state || '';
      badge.className = `state state-${data.state}`;
    }
    ctx.setLive(data.state === 'running');
    return data;
  };
}

/** A loop that calls fn every POLL_MS until the returned stop() (errors are logged, not fatal). */
function every(fn) {
  let stopped = false;
  let timer = null;
  const loop = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch (err) {
      console.warn(err);
    }
    if (!stopped) timer = setTimeout(loop, POLL_MS);
  };
  timer = setTimeout(loop, POLL_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function kvRow(k, v) {
  return h('tr', { dataset: { key: k } }, h('th', null, k), h('td', { class: typeof v === 'number' ? 'num' : null }, fmtField(k, v)));
}

function kvTable(id, obj) {
  return h('div', { class: 'kv-holder' }, kvBody(id, obj));
}

function kvBody(id, obj) {
  const entries = Object.entries(obj);
  if (!entries.length) return h('p', { class: 'empty', id }, 'none');
  return h('table', { class: 'grid kv', id }, h('tbody', null, entries.map(([k, v]) => kvRow(k, v))));
}

/**
 * Bring a kvTable up to `obj` in place: a changed value's cell is written again, a new key's row
 * added, a gone key's row removed; rows that did not change are left as they are.
 * @param {HTMLElement} holder what kvTable returned
 * @param {string} id
 * @param {Record<string, any>} obj
 */
function updateKv(holder, id, obj) {
  const table = holder.querySelector('table');
  if (!table) {
    if (Object.keys(obj).length) replace(holder, kvBody(id, obj));
    return;
  }
  const body = table.tBodies[0];
  const rows = new Map([...body.rows].map((tr) => [tr.dataset.key, tr]));
  for (const [k, v] of Object.entries(obj)) {
    const text = fmtField(k, v);
    const tr = rows.get(k);
    rows.delete(k);
    if (!tr) {
      body.append(kvRow(k, v));
      continue;
    }
    const td = tr.cells[1];
    if (td.textContent !== text) td.textContent = text;
    td.className = typeof v === 'number' ? 'num' : '';
  }
  for (const tr of rows.values()) tr.remove();
}

function facts(run) {
  const md = run.metadata || {};
  const git = md.git || {};
  const command = [md.program, ...(md.args || [])].filter((x) => x !== undefined && x !== null).join(' ');
  return {
    id: run.id,
    state: run.state,
    'exit code': run.exit_code === 0 && run.state !== 'failed' ? undefined : run.exit_code,
    reason: run.state === 'running' || run.state === 'finished' ? undefined : run.state_reason,
    created: fmtTime(run.created),
    runtime: fmtDuration(run.runtime),
    host: md.host,
    command: command ? `${md.executable ? 'python ' : ''}${command}` : undefined,
    cwd: md.cwd,
    'git commit': git.commit,
    'git branch': git.branch,
    'git remote': git.remote,
    python: md.python,
    os: md.os,
    group: run.group,
    job_type: run.job_type,
    tags: (run.tags || []).join(', '),
    notes: run.notes,
  };
}

function compact(obj) {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}

/** Charts of one history stream of the run, grouped by prefix; returns {el, refresh(), destroy()}. */
function runCharts(where, run, keys, { stream = 'history', xKey = '_step' } = {}) {
  const charts = new Map();
  const el = h('div', { class: 'sections' });
  const zoomed = new Map();
  let hist = null;
  let samples = 600;
  for (const [group, ks] of groupByPrefix(keys)) {
    const grid = h('div', { class: 'chart-grid' });
    el.append(h('details', { class: 'section', open: true, dataset: { group } }, h('summary', null, `${group || 'charts'} (${ks.length})`), grid));
    for (const k of ks) {
      const chart = new LineChart(k, { onZoom: (range) => zoom(k, range), unit: stream === 'system' ? systemUnit(k) : null });
      charts.set(k, chart);
      grid.append(chart.el);
    }
  }
  if (!keys.length) el.append(h('p', { class: 'empty' }, 'No metrics logged yet.'));
  // `each=1`: each key its own rows (see workspace.js); the answer is {keys: {key: history}}.
  // `bands=1`: a downsampled line is drawn in its buckets' min-max band (lib/align.js pointsOf).
  const url = (extra) => urls.history(where.entity, where.project, where.run, { keys: keys.join(','), x_axis: xKey, samples, stream, each: 1, bands: 1, ...extra });
  function draw() {
    if (!hist) return;
    for (const [k, chart] of charts) {
      const got = zoomed.get(k) || hist;
      const source = (got.keys ? got.keys[k] : got) || { columns: {} };
      const x = source.columns[xKey] ? xKey : source.x_axis || xKey;
      chart.update([{ id: run.id, label: run.name || run.id, color: colorFor(run.id), ...pointsOf(source, x, k) }], { xKey: x });
    }
  }
  async function zoom(k, range) {
    if (!range) zoomed.delete(k);
    else zoomed.set(k, (await historyQueue.get(url({ keys: k, min: range.min, max: range.max, samples: charts.get(k).width() }), { priority: PRIORITY.zoom })).data);
    draw();
  }
  return {
    el,
    async refresh() {
      if (!keys.length) return;
      const first = [...charts.values()][0];
      samples = first ? first.width() : 600;
      const { data, changed } = await historyQueue.get(url({}), { revalidate: true, priority: PRIORITY.view });
      if (changed || !hist) {
        hist = data;
        draw();
      }
    },
    destroy() {
      for (const c of charts.values()) c.destroy();
    },
  };
}

/** The summary as the overview's table shows it: media as `(kind)`, dicts flattened to dotted keys. */
function summaryCells(summary) {
  const out = {};
  for (const [k, v] of Object.entries(summary)) {
    const kind = mediaKind(v);
    if (kind) out[k] = `(${kind})`;
    else if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, stripPrefix(flatten({ [k]: v }, 's')));
    else out[k] = v;
  }
  return out;
}

/** A failed or crashed run's error (the end of its stderr), or nothing. */
function errorBlock(run) {
  if (!run.error || (run.state !== 'failed' && run.state !== 'crashed')) return null;
  return h('section', { class: 'panel run-error', id: 'run-error' }, h('h2', null, 'Error'), h('pre', { class: 'file-text' }, run.error));
}

async function overviewTab(content, where, run, ctx) {
  const summary = run.summary || {};
  // A metric hidden with define_metric(name, hidden=True) has no panel (it stays in the summary and the data).
  const hidden = hiddenMetrics(run.metrics);
  const historyKeys = ((run.keys && run.keys.history) || []).filter((k) => !k.startsWith('_') && !isHiddenKey(k, hidden));
  const media = historyKeys.filter((k) => mediaKind(summary[k]));
  // Charts for metrics: numbers (NaN and infinities too) or define_metric dicts; no typed value
  // (media of a kind without a panel, a tensor) is a chart.
  const scalar = historyKeys.filter((k) => !isTyped(summary[k]) && (summary[k] === undefined || typeof summary[k] === 'number' || (summary[k] && typeof summary[k] === 'object' && !Array.isArray(summary[k]))));
  const charts = runCharts(where, run, scalar);
  const mediaEl = h('div', { class: 'media-grid', id: 'media' });
  const factsEl = kvTable('run-facts', compact(facts(run)));
  const summaryEl = kvTable('run-summary', summaryCells(summary));
  const errorEl = h('div', { class: 'error-holder' }, errorBlock(run));
  replace(content,
    h('div', { class: 'overview' },
      h('section', { class: 'panel' }, h('h2', null, 'Overview'), factsEl),
      h('section', { class: 'panel' }, h('h2', null, 'Config'), kvTable('run-config', stripPrefix(flatten(run.config || {}, 'c')))),
      h('section', { class: 'panel' }, h('h2', null, 'Summary'), summaryEl)),
    errorEl,
    h('h2', null, 'Charts'), charts.el,
    media.length ? h('h2', null, 'Media') : null, mediaEl);
  await charts.refresh();
  // One rows request per key: `rows?keys=` answers the rows that hold every key asked for.
  const mediaRows = new Map();
  const panels = new Map();
  async function loadMedia() {
    for (const k of media) {
      const rows = await allRows(where.entity, where.project, where.run, [k], 20000);
      if (mediaRows.has(k) && mediaRows.get(k).length === rows.length) continue;
      mediaRows.set(k, rows);
      const panel = mediaPanel(where, k, mediaKind(summary[k]), rows);
      if (panels.has(k)) panels.get(k).replaceWith(panel);
      else mediaEl.append(panel);
      panels.set(k, panel);
    }
  }
  loadMedia().catch((err) => replace(mediaEl, h('p', { class: 'error' }, `media: ${err.message}`)));
  const refreshRun = watchRun(where, run, ctx);
  let n = 0;
  // While the run is live: the run first (its state, summary), then its charts, so the poll that
  // sees it end still draws what it wrote last.
  const stop = every(async () => {
    if (run.state !== 'running') return;
    const data = await refreshRun();
    updateKv(factsEl, 'run-facts', compact(facts(data)));
    updateKv(summaryEl, 'run-summary', summaryCells(data.summary || {}));
    replace(errorEl, errorBlock(data));
    await charts.refresh();
    if (++n % 2 === 0 || data.state !== 'running') await loadMedia();
  });
  return () => {
    stop();
    charts.destroy();
  };
}

function stripPrefix(flat) {
  return Object.fromEntries(Object.entries(flat).map(([k, v]) => [k.slice(2), v]));
}

async function systemTab(content, where, run, ctx) {
  const keys = ((run.keys && run.keys.system) || []).filter((k) => !k.startsWith('_'));
  const charts = runCharts(where, run, keys, { stream: 'system', xKey: '_runtime' });
  replace(content, keys.length ? charts.el : h('p', { class: 'empty' }, 'No system metrics recorded for this run.'));
  await charts.refresh();
  const refreshRun = watchRun(where, run, ctx);
  const stop = every(async () => {
    if (run.state !== 'running') return;
    await charts.refresh();
    await refreshRun();
  });
  return () => {
    stop();
    charts.destroy();
  };
}

async function logsTab(content, where, run, ctx) {
  const search = h('input', { type: 'search', id: 'log-search', placeholder: 'Search the log' });
  const follow = h('input', { type: 'checkbox', id: 'log-follow', checked: run.state === 'running' });
  const info = h('span', { class: 'count', id: 'log-info' });
  const pre = h('pre', { class: 'log', id: 'log' });
  replace(content, h('div', { class: 'toolbar' }, search, h('label', null, follow, ' follow'), info), pre);
  const conv = new AnsiConverter();
  let lines = [];
  let offset = 0;
  let tailEl = null;
  let running = run.state === 'running';

  function lineEl(l) {
    const el = document.createElement('div');
    el.className = 'log-line';
    el.innerHTML = l.html || ' ';
    el.dataset.text = l.text.toLowerCase();
    return el;
  }
  function applySearch() {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const el of pre.children) {
      const hit = !q || el.dataset.text.includes(q);
      el.hidden = !hit;
      el.classList.toggle('match', !!q && hit);
      if (hit) shown++;
    }
    info.textContent = q ? `${shown} matching lines of ${pre.children.length}` : `${lines.length} lines${running ? ' · running' : ''}`;
  }
  async function fetchMore() {
    const { data } = await getJson(urls.logs(where.entity, where.project, where.run, offset));
    running = !!data.running;
    if (typeof data.offset === 'number') offset = data.offset;
    if (data.text) {
      const fresh = conv.push(data.text);
      if (tailEl) tailEl.remove();
      const frag = document.createDocumentFragment();
      for (const l of fresh) frag.append(lineEl(l));
      lines.push(...fresh);
      const partial = conv.partial();
      tailEl = partial ? lineEl(partial) : null;
      if (tailEl) frag.append(tailEl);
      pre.append(frag);
      applySearch();
      if (follow.checked) pre.scrollTop = pre.scrollHeight;
    } else {
      applySearch();
    }
    return data.text ? data.text.length : 0;
  }
  search.addEventListener('input', applySearch);
  // Read everything written so far (the endpoint may answer in chunks), then follow.
  for (let i = 0; i < 200 && (await fetchMore()) > 0; i++);
  if (!lines.length && !tailEl) info.textContent = 'output.log is empty';
  const stop = every(async () => {
    if (!running && !follow.checked) return;
    while ((await fetchMore()) > 0);
  });
  return stop;
}

const TEXT_EXT = /\.(txt|log|json|ya?ml|toml|py|md|csv|tsv|cfg|ini|sh|patch|diff|html|js|xml)$/i;
const IMAGE_EXT = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const PREVIEW_BYTES = 512 * 1024;

async function filesTab(content, where) {
  const { data } = await getJson(urls.files(where.entity, where.project, where.run));
  const files = data.files || [];
  const preview = h('div', { class: 'preview panel', id: 'file-preview' }, h('p', { class: 'empty' }, 'Choose a file to preview it.'));
  const list = h('table', { class: 'grid files', id: 'files' },
    h('thead', null, h('tr', null, h('th', null, 'File'), h('th', { class: 'num' }, 'Size'), h('th', null, 'Modified'), h('th', null, ''))),
    h('tbody', null, files.map((f) => h('tr', { dataset: { file: f.name } },
      h('td', null, h('a', { href: '#', class: 'file-link', onclick: (ev) => { ev.preventDefault(); show(f); } }, f.name)),
      h('td', { class: 'num' }, fmtBytes(f.size)),
      h('td', null, fmtTime(f.mtime)),
      h('td', null, h('a', { href: urls.file(where.entity, where.project, where.run, f.name, true), download: f.name.split('/').pop(), class: 'download' }, 'download'))))));
  replace(content, h('div', { class: 'files-page' }, h('div', { class: 'files-list' }, list), preview));

  async function show(f) {
    for (const tr of list.querySelectorAll('tr.selected')) tr.classList.remove('selected');
    list.querySelector(`tr[data-file="${CSS.escape(f.name)}"]`)?.classList.add('selected');
    const url = urls.file(where.entity, where.project, where.run, f.name);
    const head = h('div', { class: 'preview-head' }, h('strong', null, f.name), ' ', h('a', { href: `${url}?download=1`, download: f.name.split('/').pop() }, 'download'));
    if (IMAGE_EXT.test(f.name)) return replace(preview, head, h('img', { src: url, class: 'media-img', alt: f.name }));
    const textual = TEXT_EXT.test(f.name) || f.kind === 'append' || f.kind === 'replace' || /requirements|diff/.test(f.name);
    if (!textual) return replace(preview, head, h('p', { class: 'empty' }, `${fmtBytes(f.size)} of binary data (no preview)`));
    const res = await fetch(url, { headers: { Range: `bytes=0-${PREVIEW_BYTES - 1}` }, credentials: 'same-origin' });
    let text = await res.text();
    const cut = f.size > PREVIEW_BYTES;
    if (/\.json$/.test(f.name) && !cut) {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        /* show as is */
      }
    }
    const isDiff = /\.(patch|diff)$/.test(f.name);
    const html = isDiff ? diffToHtml(text) : escapeHtml(text);
    replace(preview, head, h('pre', { class: `file-text${isDiff ? ' diff' : ''}`, html }),
      cut ? h('p', { class: 'empty' }, `first ${fmtBytes(PREVIEW_BYTES)} of ${fmtBytes(f.size)} shown; download for the rest`) : null);
  }
  return () => {};
}
