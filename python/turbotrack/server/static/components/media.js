/**
 * Media panels of the run page, from the JSON refs that `log()` wrote in history rows:
 * images (`image-file`, SVG too: an `<img>` runs no script) with a step slider, tables
 * (`table-file`) rendered and sortable, histograms over steps as a heat map on a canvas,
 * `turbotrack.plot` charts, audio and video players, and `wandb.Html` (`html-file`) in a sandboxed
 * frame: `sandbox="allow-scripts"` and never `allow-same-origin`, so its scripts run in an opaque
 * origin that sends no cookie and reads nothing of the site. Files come from the run's files
 * endpoint (an HTML file with `?view=1`, which the server answers inline only for such a frame).
 *
 * @module media
 */

import { getFileJson, urls } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { alignSeries } from '../lib/align.js';
import { colorFor, fmtValue } from '../lib/format.js';
import { binHistograms, thin } from '../lib/heatmap.js';
import { sortBy } from '../lib/sort.js';

const MEDIA_KINDS = new Set(['image-file', 'table-file', 'histogram', 'plot', 'html-file', 'audio-file', 'video-file']);

/** Whether a summary or history value is a typed value (`{"_type": ...}`: media, a tensor...), not a metric. */
export function isTyped(v) {
  return !!v && typeof v === 'object' && !Array.isArray(v) && typeof v._type === 'string';
}

/** The media kind of a summary or history value, or null for plain values. */
export function mediaKind(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const t = v._type;
  return MEDIA_KINDS.has(t) ? t : null;
}

/**
 * A panel for one media key.
 * @param {{entity: string, project: string, run: string}} where
 * @param {string} key
 * @param {string} kind from mediaKind
 * @param {object[]} rows history rows holding `key` (each with `_step`), step order
 */
export function mediaPanel(where, key, kind, rows) {
  const body = h('div', { class: 'media-body' });
  const el = h('div', { class: `panel media media-${kind}`, dataset: { metric: key } }, h('div', { class: 'panel-title' }, key), body);
  const items = rows.filter((r) => mediaKind(r[key]) === kind);
  if (!items.length) {
    replace(body, h('div', { class: 'empty' }, 'nothing logged yet'));
  } else if (kind === 'image-file') {
    imagePanel(where, key, items, body);
  } else if (kind === 'table-file') {
    withSlider(items, body, (row, out) => tableFromFile(where, row[key].path, out));
  } else if (kind === 'histogram') {
    heatmapPanel(key, items, body);
  } else if (kind === 'plot') {
    withSlider(items, body, (row, out) => plotPanel(where, row[key], out));
  } else if (kind === 'html-file') {
    withSlider(items, body, (row, out) => htmlFrame(where, key, row[key], out));
  } else if (kind === 'audio-file' || kind === 'video-file') {
    withSlider(items, body, (row, out) => player(where, kind === 'audio-file' ? 'audio' : 'video', row[key], out));
  }
  return el;
}

function fileUrl(where, path) {
  return urls.file(where.entity, where.project, where.run, path);
}

/** A step slider over `items` that calls show(row, out) for the chosen one (the last at first). */
function withSlider(items, body, show) {
  const out = h('div', { class: 'media-view' });
  const label = h('span', { class: 'step-label' });
  const slider = h('input', { type: 'range', class: 'step-slider', min: 0, max: items.length - 1, value: items.length - 1 });
  const pick = () => {
    const row = items[Number(slider.value)];
    label.textContent = `step ${row._step ?? Number(slider.value)}`;
    show(row, out);
  };
  slider.addEventListener('input', pick);
  replace(body, items.length > 1 ? h('div', { class: 'slider-row' }, slider, label) : h('div', { class: 'slider-row' }, label), out);
  pick();
}

function imagePanel(where, key, items, body) {
  withSlider(items, body, (row, out) => showImage(where, key, row[key], out));
}

/**
 * @param {{entity: string, project: string, run: string}} where
 * @param {string} key
 * @param {Record<string, any>} ref an `image-file` value
 * @param {HTMLElement} out
 */
function showImage(where, key, ref, out) {
  if (!ref.path) {
    replace(out, h('div', { class: 'empty' }, 'image without a file'));
    return;
  }
  replace(out, h('figure', null, h('img', { src: fileUrl(where, ref.path), alt: ref.caption || key, class: 'media-img' }),
    ref.caption ? h('figcaption', null, ref.caption) : null));
}

/**
 * One logged media value (`row[key]` of a history row) drawn into `out`, as the panels above show
 * one step of it; a histogram as that step's bars. What media comparison across runs shows.
 * @param {{entity: string, project: string, run: string}} where
 * @param {string} key
 * @param {string} kind from mediaKind
 * @param {Record<string, any>} row
 * @param {HTMLElement} out
 */
export function mediaItem(where, key, kind, row, out) {
  const ref = row[key];
  if (mediaKind(ref) !== kind) return replace(out, h('div', { class: 'empty' }, 'nothing logged'));
  if (kind === 'image-file') return showImage(where, key, ref, out);
  if (kind === 'table-file') return tableFromFile(where, ref.path, out);
  if (kind === 'plot') return plotPanel(where, ref, out);
  if (kind === 'html-file') return htmlFrame(where, key, ref, out);
  if (kind === 'audio-file' || kind === 'video-file') return player(where, kind === 'audio-file' ? 'audio' : 'video', ref, out);
  if (kind === 'histogram') return histogramBars(ref, out);
}

/**
 * One step's histogram as bars (bin edges `bins`, counts `values`).
 * @param {Record<string, any>} ref a `histogram` value
 * @param {HTMLElement} out
 */
function histogramBars(ref, out) {
  const bins = Array.isArray(ref.bins) ? ref.bins : [];
  const values = Array.isArray(ref.values) ? ref.values : [];
  if (bins.length !== values.length + 1 || !values.length) return replace(out, h('div', { class: 'empty' }, 'histogram without bins'));
  const max = Math.max(...values.map((/** @type {any} */ v) => Number(v) || 0), 1);
  replace(out, h('div', { class: 'hist-bars', dataset: { bins: String(values.length) } }, values.map((/** @type {any} */ c, /** @type {number} */ i) => h('span', {
    class: 'hist-bar', style: `height:${(100 * (Number(c) || 0)) / max}%`, title: `${fmtValue(bins[i])} to ${fmtValue(bins[i + 1])}: ${fmtValue(c)}`,
  }))), h('div', { class: 'heat-caption' }, `values ${fmtValue(bins[0])} to ${fmtValue(bins[bins.length - 1])}`));
}

/**
 * A logged HTML page in a frame whose scripts run in an opaque origin: `allow-scripts` only (with
 * `allow-same-origin` too, a script could lift the sandbox and act as the logged-in user).
 */
function htmlFrame(where, key, ref, out) {
  if (!ref.path) return replace(out, h('div', { class: 'empty' }, 'html without a file'));
  replace(out, h('iframe', {
    class: 'media-html', sandbox: 'allow-scripts', referrerpolicy: 'no-referrer', title: key,
    src: urls.file(where.entity, where.project, where.run, ref.path, false, true),
  }));
}

function player(where, tag, ref, out) {
  if (!ref.path) return replace(out, h('div', { class: 'empty' }, `${tag} without a file`));
  if (tag === 'video' && /\.gif$/i.test(ref.path)) { // a Video logged from frames is a GIF: an <img> plays it
    return replace(out, h('img', { class: 'media-video media-img', src: fileUrl(where, ref.path), alt: ref.caption || 'video' }),
      ref.caption ? h('div', { class: 'heat-caption' }, ref.caption) : null);
  }
  replace(out, h(tag, { class: `media-${tag}`, controls: true, preload: 'metadata', src: fileUrl(where, ref.path) }),
    ref.caption ? h('div', { class: 'heat-caption' }, ref.caption) : null);
}

/** A sortable HTML table for {columns, data}. */
export function renderTable(columns, data) {
  let sort = { col: -1, dir: 'asc' };
  const table = h('table', { class: 'grid media-table' });
  const draw = () => {
    const rows = sort.col < 0 ? data : sortBy(data, (r) => r[sort.col], sort.dir);
    replace(table,
      h('thead', null, h('tr', null, columns.map((c, i) => h('th', {
        class: `sortable${sort.col === i ? ` sorted ${sort.dir}` : ''}`,
        onclick: () => {
          sort = { col: i, dir: sort.col === i && sort.dir === 'asc' ? 'desc' : 'asc' };
          draw();
        },
      }, String(c), sort.col === i ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : '')))),
      h('tbody', null, rows.slice(0, 1000).map((r) => h('tr', null, r.map((v) => h('td', { class: typeof v === 'number' ? 'num' : null }, fmtValue(v)))))));
  };
  draw();
  return table;
}

async function tableFromFile(where, path, out) {
  if (!path) return replace(out, h('div', { class: 'empty' }, 'table without a file'));
  try {
    const data = await getFileJson(fileUrl(where, path));
    replace(out, h('div', { class: 'table-scroll' }, renderTable(data.columns || [], data.data || [])));
  } catch (err) {
    replace(out, h('div', { class: 'error' }, `could not load ${path}: ${err.message}`));
  }
}

async function plotPanel(where, spec, out) {
  const path = spec.table && spec.table.path;
  if (!path) return replace(out, h('div', { class: 'empty' }, 'plot without data'));
  let table;
  try {
    table = await getFileJson(fileUrl(where, path));
  } catch (err) {
    return replace(out, h('div', { class: 'error' }, `could not load ${path}: ${err.message}`));
  }
  const col = (name) => table.columns.indexOf(name);
  const f = spec.fields || {};
  const title = spec.title ? h('div', { class: 'plot-title' }, spec.title) : null;
  if (spec.kind === 'bar') {
    const li = col(f.label);
    const vi = col(f.value);
    const max = Math.max(...table.data.map((r) => Math.abs(Number(r[vi]) || 0)), 0) || 1;
    return replace(out, title, h('div', { class: 'bars' }, table.data.map((r) => h('div', { class: 'bar-row' },
      h('span', { class: 'bar-label' }, fmtValue(r[li])),
      h('span', { class: 'bar-track' }, h('span', { class: 'bar', style: `width:${(100 * Math.abs(Number(r[vi]) || 0)) / max}%` })),
      h('span', { class: 'bar-val' }, fmtValue(r[vi]))))));
  }
  if (spec.kind === 'histogram') {
    const vals = table.data.map((r) => Number(r[col(f.value)])).filter(Number.isFinite);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const n = 30;
    const counts = new Array(n).fill(0);
    for (const v of vals) counts[Math.min(n - 1, Math.floor(((v - lo) / (hi - lo || 1)) * n))]++;
    const max = Math.max(...counts, 1);
    return replace(out, title, h('div', { class: 'hist-bars' }, counts.map((c, i) => h('span', {
      class: 'hist-bar', style: `height:${(100 * c) / max}%`, title: `${fmtValue(lo + ((hi - lo) * i) / n)}: ${c}`,
    }))));
  }
  // line, scatter: one series per stroke value (line_series), drawn with uPlot.
  const xi = col(f.x);
  const yi = col(f.y);
  const si = f.stroke ? col(f.stroke) : -1;
  const groups = new Map();
  for (const r of table.data) {
    const g = si >= 0 ? String(r[si]) : f.y;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push([Number(r[xi]), Number(r[yi])]);
  }
  const series = [...groups.entries()].map(([g, pts]) => {
    if (spec.kind === 'line') pts.sort((a, b) => a[0] - b[0]);
    return { label: g, x: pts.map((p) => p[0]), y: pts.map((p) => p[1]) };
  });
  const holder = h('div', { class: 'plot-holder' });
  replace(out, title, holder);
  const scatter = spec.kind === 'scatter';
  const data = scatter ? [series[0].x, series[0].y] : alignSeries(series);
  new globalThis.uPlot({
    width: Math.max(200, out.clientWidth || 400), height: 220,
    scales: { x: { time: false } },
    series: [{ label: f.x }, ...(scatter ? [series[0]] : series).map((s) => ({
      label: s.label, stroke: colorFor(s.label), spanGaps: true, width: scatter ? 0 : 1.5,
      points: { show: scatter, size: 4, fill: colorFor(s.label) },
    }))],
    cursor: { drag: { x: false, y: false } },
  }, scatter ? sortPairs(data) : data, holder);
}

function sortPairs([xs, ys]) {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  return [idx.map((i) => xs[i]), idx.map((i) => ys[i])];
}

/** Histograms over steps: x = step, y = value, colour = count (each step scaled to its peak). */
function heatmapPanel(key, items, body) {
  const hists = thin(items, 400).map((r) => ({ step: r._step, bins: r[key].bins, values: r[key].values }));
  const rowsN = 64;
  const grid = binHistograms(hists, rowsN, 'column');
  const canvas = h('canvas', { class: 'heatmap', width: 600, height: 220 });
  const caption = h('div', { class: 'heat-caption' },
    `steps ${grid.steps[0] ?? ''}–${grid.steps[grid.steps.length - 1] ?? ''} · values ${fmtValue(grid.lo)} to ${fmtValue(grid.hi)} · ${grid.steps.length} histograms`);
  replace(body, canvas, caption);
  const ctx = canvas.getContext('2d');
  if (!ctx || !grid.steps.length) return;
  const cols = grid.steps.length;
  const w = canvas.width / cols;
  const hgt = canvas.height / rowsN;
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rowsN; r++) {
      const v = grid.cells[c * rowsN + r] / (grid.max || 1);
      if (v <= 0) continue;
      ctx.fillStyle = `rgba(31, 119, 180, ${0.08 + 0.92 * v})`;
      ctx.fillRect(c * w, canvas.height - (r + 1) * hgt, Math.ceil(w), Math.ceil(hgt));
    }
  }
  canvas.dataset.histograms = String(cols);
}
