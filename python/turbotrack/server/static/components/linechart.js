/**
 * A line-chart panel on uPlot (the global `uPlot` from /static/vendor): several runs overlaid on
 * one x axis, a hover box with every run's value at the cursor's x, log scale, and drag-to-zoom
 * that hands the x range to the owner (who fetches finer samples); double-click zooms back out.
 * The chart owns its "zoomed" label: it shows while `zoom` holds a range and goes when `zoom` is
 * set to null (a double-click, the owner's reset) or the x key changes. A unit (`opts.unit`, a
 * system metric's; by default that of a `system.*` title) is named in the title and written on the y
 * axis and in the hover box. With `opts.legend`, a legend under the plot names each series (its
 * colour and label); a click on an entry hides or shows that line in this chart (`hidden`), and
 * many entries fold into one "N runs" line that opens to a scrolling list.
 *
 * @module linechart
 */

import { h, replace } from '../lib/dom.js';
import { AlignedData } from '../lib/aligned.js';
import { alignSeries } from '../lib/align.js';
import { emaSmooth } from '../lib/ema.js';
import { fmtValue, systemUnit } from '../lib/format.js';

/**
 * @typedef {{id: string, label: string, color: string, x: ArrayLike<number>, y: ArrayLike<number|null>,
 *   band?: {min: ArrayLike<number|null>, max: ArrayLike<number|null>}, dash?: number[]}} Series
 *   band: a group's lowest and highest value at each x, or a downsampled run's bucket min and max
 *   (drawn as a band around `y`, not smoothed); dash: a dash pattern of the line (a panel's second
 *   metric and after)
 */

/** The ids of a group's band edges: its id and one of these. */
const BAND_MAX = '\u0001band-max';
const BAND_MIN = '\u0001band-min';

/** Legends of more entries than this fold into one "N runs" line. */
const LEGEND_FOLD = 12;

/** The axes' colours from the page's theme (app.css: `--chart-*`, dark when the system is). */
function axis() {
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return { stroke: v('--chart-axis', '#555'), grid: { stroke: v('--chart-grid', '#eee') }, ticks: { stroke: v('--chart-tick', '#ddd') } };
}

/** Lines are drawn 1 px wide above this many runs. */
const THIN_ABOVE = 10;

export class LineChart {
  /**
   * @param {string} title the metric
   * @param {{height?: number, onZoom?: (range: {min: number, max: number}|null) => void,
   *   unit?: {unit: string, fmt: (v: number) => string} | null, legend?: boolean, legendNoun?: string}} [opts]
   *   legend: a legend under the plot (legendNoun names its folded count: "runs" unless said)
   */
  constructor(title, opts = {}) {
    this.title = title;
    this.height = opts.height || 200;
    this.onZoom = opts.onZoom || null;
    // Unsaid (the workspace's charts): a `system.*` metric's unit from its name.
    this.unit = opts.unit !== undefined ? opts.unit : title.startsWith('system.') ? systemUnit(title) : null;
    /** @type {{min: number, max: number} | null} */
    this.zoomRange = null;
    /** @type {string|undefined} the x key drawn last */
    this.xKey = undefined;
    /** whether the chart draws the system stream (its own x-axis) */
    this.system = false;
    this.plot = null;
    this.aligned = new AlignedData();
    /** @type {Map<string, {x: ArrayLike<number>, y: ArrayLike<number>, color: string, label: string, smoothing: number, dash: string}>} */
    this.prepared = new Map();
    /** @type {Series[]} the series drawn, in the plot's order */
    this.shown = [];
    this.viewSig = '';
    /** @type {Set<string>} the ids of the series hidden from the legend */
    this.hidden = new Set();
    this.legendNoun = opts.legendNoun || 'runs';
    this.legendSig = '';
    this.legendOpen = false;
    this.legend = opts.legend ? h('div', { class: 'chart-legend' }) : null;
    this.tooltip = h('div', { class: 'chart-tip', hidden: true });
    this.body = h('div', { class: 'chart-body' });
    this.status = h('span', { class: 'chart-status' });
    this.el = h('div', { class: 'panel chart', dataset: { metric: title, unit: this.unit ? this.unit.unit : '' } },
      h('div', { class: 'panel-title' }, h('span', { class: 'metric-name', title },
        title, this.unit ? h('span', { class: 'chart-unit' }, ` (${this.unit.unit})`) : null), this.status),
      this.body, this.legend, this.tooltip);
    this.el.lineChart = this; // for tests and the console: the panel's element leads to its chart
    this.body.addEventListener('dblclick', () => {
      if (this.zoom && this.onZoom) {
        this.zoom = null;
        this.onZoom(null);
      }
    });
    this.resizer = new ResizeObserver(() => {
      if (this.plot && this.body.clientWidth && Math.abs(this.plot.width - this.body.clientWidth) > 4) {
        this.plot.setSize({ width: this.body.clientWidth, height: this.height });
      }
    });
    this.resizer.observe(this.body);
    if (this.legend) {
      this.legend.addEventListener('click', (ev) => {
        const item = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (ev.target).closest('.legend-item'));
        if (item && item.dataset.series !== undefined) this.toggleSeries(item.dataset.series);
      });
    }
  }

  /**
   * The plot's height in pixels (a panel's size, or full screen); the width follows the element.
   * @param {number} height
   */
  setHeight(height) {
    if (height === this.height) return;
    this.height = height;
    this.body.style.minHeight = `${height}px`;
    if (this.plot) this.plot.setSize({ width: this.body.clientWidth || this.width(), height });
  }

  /**
   * Hide a series (by id) if shown, show it if hidden: its line (and a group's band) in the plot,
   * its entry in the legend.
   * @param {string} id
   */
  toggleSeries(id) {
    if (this.hidden.has(id)) this.hidden.delete(id);
    else this.hidden.add(id);
    const show = !this.hidden.has(id);
    if (this.plot) {
      for (let i = 0; i < this.shown.length; i++) {
        if (baseId(this.shown[i].id) === id && this.plot.series[i + 1]) this.plot.setSeries(i + 1, { show });
      }
    }
    for (const item of this.legend ? this.legend.querySelectorAll('.legend-item') : []) {
      if (/** @type {HTMLElement} */ (item).dataset.series === id) item.classList.toggle('off', !show);
    }
    this.el.dataset.hiddenSeries = String(this.hidden.size);
  }

  /** The legend again, when the series (ids, labels, colours) changed. */
  renderLegend() {
    if (!this.legend) return;
    const entries = this.shown.filter((s) => baseId(s.id) === s.id);
    const sig = JSON.stringify(entries.map((s) => [s.id, s.label, s.color, s.dash || null]));
    if (sig === this.legendSig) return;
    this.legendSig = sig;
    const items = entries.map((s) => h('button', {
      type: 'button', class: `legend-item${this.hidden.has(s.id) ? ' off' : ''}`, title: `${s.label}: click to hide or show`,
      dataset: { series: s.id } },
    h('span', { class: `swatch${s.dash ? ' dashed' : ''}`, style: `background:${s.color}` }), h('span', { class: 'legend-name' }, s.label)));
    if (entries.length <= LEGEND_FOLD) {
      replace(this.legend, items);
      return;
    }
    const fold = h('details', { class: 'legend-fold', open: this.legendOpen },
      h('summary', null, `${entries.length} ${this.legendNoun}`), h('div', { class: 'legend-list' }, items));
    fold.addEventListener('toggle', () => {
      this.legendOpen = /** @type {HTMLDetailsElement} */ (fold).open;
    });
    replace(this.legend, fold);
  }

  /** The x range zoomed to, or null; setting it shows or clears the chart's "zoomed" label. */
  get zoom() {
    return this.zoomRange;
  }

  set zoom(range) {
    this.zoomRange = range || null;
    const label = 'zoomed · double-click to reset';
    if (this.zoomRange) this.status.textContent = label;
    else if (this.status.textContent === label || this.status.textContent === 'loading…') this.status.textContent = '';
    this.el.dataset.zoomed = String(!!this.zoomRange);
  }

  /** The drawing width in pixels: how many samples per series are worth fetching. */
  width() {
    return Math.max(100, Math.round(this.body.clientWidth || 400));
  }

  /**
   * Draw these series. Incremental: a series whose points (`x`/`y` arrays, by identity), colour and
   * label are unchanged costs nothing; a new one joins the plot as one more uPlot series (the others
   * are not prepared again), a missing one leaves it; another smoothing prepares every series again,
   * another x key or log scale builds the plot again.
   * @param {Series[]} series
   * @param {{xKey: string, smoothing?: number, log?: boolean}} view
   */
  update(series, view) {
    const shown = series.filter((s) => s.x.length);
    this.el.dataset.points = String(shown.reduce((n, s) => n + s.x.length, 0));
    this.el.dataset.runs = String(shown.length);
    this.el.dataset.log = String(!!view.log);
    this.el.dataset.smoothing = String(view.smoothing || 0);
    if (!shown.length) {
      this.destroyPlot();
      replace(this.body, h('div', { class: 'empty' }, 'no data yet'));
      this.renderLegend();
      return;
    }
    if (shown.some((s) => s.band)) {
      this.updateBands(shown, view);
      this.renderLegend();
      return;
    }
    const smoothing = view.smoothing || 0;
    const viewSig = `${view.xKey}\u0000${!!view.log}\u0000lines`;
    this.forgetZoomOnNewX(view.xKey);
    if (viewSig !== this.viewSig) {
      this.destroyPlot();
      this.viewSig = viewSig;
    }
    const want = new Map(shown.map((s) => [s.id, s]));
    const ids = this.aligned.ids();
    const removed = [];
    for (let i = ids.length - 1; i >= 0; i--) {
      const s = want.get(ids[i]);
      const p = this.prepared.get(ids[i]);
      if (!s || !p || p.color !== s.color || p.label !== s.label || p.dash !== String(s.dash || '')) removed.push(i);
    }
    for (const i of removed) {
      this.aligned.delete(ids[i]);
      this.prepared.delete(ids[i]);
      this.shown.splice(i, 1);
    }
    const added = [];
    let changed = removed.length > 0;
    for (const s of shown) {
      const p = this.prepared.get(s.id);
      if (p && p.x === s.x && p.y === s.y && p.smoothing === smoothing) continue;
      changed = true;
      const isNew = !this.aligned.has(s.id);
      this.aligned.set(s.id, { x: s.x, y: this.prepare(s.y, smoothing, !!view.log) });
      this.prepared.set(s.id, { x: s.x, y: s.y, color: s.color, label: s.label, smoothing, dash: String(s.dash || '') });
      if (isNew) {
        this.shown.push(s);
        added.push(s);
      } else {
        this.shown[this.aligned.ids().indexOf(s.id)] = s;
      }
    }
    if (this.plot && !changed) return;
    this.renderLegend();
    const data = this.aligned.data();
    if (!this.plot) {
      replace(this.body);
      this.plot = new globalThis.uPlot(this.options(this.shown, view), data, this.body);
      if (this.zoom) this.plot.setScale('x', this.zoom);
      return;
    }
    const plot = this.plot;
    const width = this.lineWidth();
    plot.batch(() => {
      for (let i = 1; i < plot.series.length; i++) plot.series[i].width = width;
      for (const i of removed) plot.delSeries(i + 1); // highest first: the lower indices stay right
      for (const s of added) plot.addSeries(this.seriesOpts(s));
      plot.setData(data, !this.zoom);
      if (this.zoom) plot.setScale('x', this.zoom);
    });
  }

  /**
   * Series with bands: a group's mean line (the workspace's "group by") inside a band from its
   * lowest to its highest value, or a downsampled run's line inside its buckets' min and max
   * (`band`, on the same x; a series without one is its line alone). Few series: the plot is built
   * again when they change, else given the new data.
   * @param {Series[]} shown
   * @param {{xKey: string, smoothing?: number, log?: boolean}} view
   */
  updateBands(shown, view) {
    const smoothing = view.smoothing || 0;
    const log = !!view.log;
    this.forgetZoomOnNewX(view.xKey);
    const lines = [];
    const meta = [];
    for (const s of shown) {
      // The band is drawn as it came, never smoothed: it bounds the raw values, whatever the line.
      lines.push({ x: s.x, y: this.prepare(s.y, smoothing, log) });
      meta.push(s);
      const band = s.band;
      if (!band) continue; // a series with no band (a run not downsampled): its line alone
      lines.push({ x: s.x, y: this.prepare(band.max, 0, log) });
      lines.push({ x: s.x, y: this.prepare(band.min, 0, log) });
      meta.push({ ...s, id: `${s.id}${BAND_MAX}`, label: `${s.label} max`, y: band.max }, { ...s, id: `${s.id}${BAND_MIN}`, label: `${s.label} min`, y: band.min });
    }
    const data = alignSeries(lines);
    const viewSig = JSON.stringify([view.xKey, log, 'bands', shown.map((s) => [s.id, s.color, s.label, !!s.band])]);
    this.shown = meta;
    if (this.plot && viewSig === this.viewSig) {
      this.plot.setData(data, !this.zoom);
      if (this.zoom) this.plot.setScale('x', this.zoom);
      return;
    }
    this.destroyPlot();
    this.viewSig = viewSig;
    this.shown = meta;
    replace(this.body);
    const opts = this.options([], view);
    opts.series = [{ label: view.xKey }];
    opts.bands = [];
    for (const s of shown) {
      const show = !this.hidden.has(s.id);
      opts.series.push({ label: s.label, stroke: s.color, width: 2, spanGaps: true, points: { show: false }, show, ...(s.dash ? { dash: s.dash } : {}) });
      if (!s.band) continue;
      opts.series.push({ label: `${s.label} max`, stroke: `${s.color}55`, width: 0.5, spanGaps: true, points: { show: false }, show });
      opts.series.push({ label: `${s.label} min`, stroke: `${s.color}55`, width: 0.5, spanGaps: true, points: { show: false }, show });
      const at = opts.series.length - 2; // uPlot's indices of the max and min series
      opts.bands.push({ series: [at, at + 1], fill: `${s.color}33` });
    }
    this.bands = opts.bands;
    this.plot = new globalThis.uPlot(opts, data, this.body);
    if (this.zoom) this.plot.setScale('x', this.zoom);
  }

  /**
   * A range of another x key means nothing on this one: a zoom (and its label) ends when the x key
   * changes.
   * @param {string} xKey
   */
  forgetZoomOnNewX(xKey) {
    if (this.xKey !== undefined && this.xKey !== xKey) this.zoom = null;
    this.xKey = xKey;
  }

  /**
   * What is drawn of one series' y: smoothed, and a NaN or an infinity (or a value <= 0 on a log
   * scale) as a gap, since uPlot's range would be NaN; the hover box still names it (`rawAt`).
   * @param {ArrayLike<number|null>} ys
   * @param {number} smoothing
   * @param {boolean} log
   * @returns {(number|null)[]}
   */
  prepare(ys, smoothing, log) {
    const y = smoothing > 0 ? emaSmooth(ys, smoothing) : ys;
    const out = new Array(y.length);
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      out[i] = typeof v === 'number' && Number.isFinite(v) && (!log || v > 0) ? v : null;
    }
    return out;
  }

  /**
   * A line's width: 1.5 px for a few runs, 1 px for many (a hairline costs a fifth of the software
   * canvas' time: 300 runs x 400 points redraw in ~20 ms instead of ~100).
   */
  lineWidth() {
    return this.shown.length > THIN_ABOVE ? 1 : 1.5;
  }

  /** @param {Series} s */
  seriesOpts(s) {
    return { label: s.label, stroke: s.color, width: this.lineWidth(), spanGaps: true, points: { show: false },
      show: !this.hidden.has(s.id), ...(s.dash ? { dash: s.dash } : {}) };
  }

  /**
   * The value series `s` logged at x (exactly there), undefined where it has no point.
   * @param {Series} s
   * @param {number} x
   */
  rawAt(s, x) {
    let lo = 0;
    let hi = s.x.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s.x[mid] < x) lo = mid + 1;
      else if (s.x[mid] > x) hi = mid - 1;
      else return s.y[mid];
    }
    return undefined;
  }

  options(shown, view) {
    const chart = this;
    return {
      width: this.width(),
      height: this.height,
      legend: { show: false },
      scales: { x: { time: view.xKey === '_timestamp' }, y: { distr: view.log ? 3 : 1 } },
      axes: [{ ...axis() }, { ...axis(), size: this.unit ? 70 : 60,
        ...(this.unit ? { values: (_u, vals) => vals.map((v) => (v === null || v === undefined ? '' : this.unit.fmt(v))) } : {}) }],
      series: [{ label: view.xKey }, ...shown.map((s) => this.seriesOpts(s))],
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 5 } },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const min = u.posToVal(u.select.left, 'x');
          const max = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          chart.zoom = { min, max };
          u.setScale('x', chart.zoom);
          if (chart.onZoom) chart.onZoom(chart.zoom);
        }],
        setCursor: [(u) => chart.showTip(u)],
      },
    };
  }

  /** The hover box: x, then each run's value at (or just before) that x, highest first. */
  showTip(u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || u.cursor.left < 0) {
      this.tooltip.hidden = true;
      return;
    }
    const x = u.data[0][idx];
    const items = [];
    for (let s = 1; s < u.data.length; s++) {
      if (u.series[s] && u.series[s].show === false) continue; // hidden from the legend
      const ys = u.data[s];
      const raw = this.rawAt(this.shown[s - 1], x);
      if (typeof raw === 'number' && !Number.isFinite(raw)) {
        items.push({ run: this.shown[s - 1], v: raw }); // logged here as NaN or ±∞: drawn as a gap
        continue;
      }
      let j = idx;
      while (j >= 0 && (ys[j] === null || ys[j] === undefined)) j--;
      if (j < 0) continue;
      items.push({ run: this.shown[s - 1], v: ys[j] });
    }
    const rank = (v) => (typeof v === 'number' && !Number.isNaN(v) ? v : -Infinity);
    items.sort((a, b) => rank(b.v) - rank(a.v) || 0);
    replace(this.tooltip,
      h('div', { class: 'tip-x' }, `${u.series[0].label} ${fmtValue(x)}`),
      items.slice(0, 30).map((it) => h('div', { class: 'tip-row' },
        h('span', { class: 'swatch', style: `background:${it.run.color}` }),
        h('span', { class: 'tip-name' }, it.run.label), h('span', { class: 'tip-val' }, this.unit && typeof it.v === 'number' && Number.isFinite(it.v) ? this.unit.fmt(it.v) : fmtValue(it.v)))),
      items.length > 30 ? h('div', { class: 'tip-more' }, `+${items.length - 30} more`) : null);
    this.tooltip.hidden = false;
    const left = u.cursor.left + 12;
    this.tooltip.style.left = `${Math.min(left, this.el.clientWidth - 180)}px`;
  }

  /** How many drawn points (all runs together) have x in [min, max]. */
  pointsIn(min, max) {
    if (!this.plot) return 0;
    const [xs, ...ys] = this.plot.data;
    let n = 0;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] < min || xs[i] > max) continue;
      for (const y of ys) if (y[i] !== null && y[i] !== undefined) n++;
    }
    return n;
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  destroyPlot() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.aligned.clear();
    this.prepared.clear();
    this.shown = [];
  }

  destroy() {
    this.resizer.disconnect();
    this.destroyPlot();
  }
}

/** A series' id without a group band's edge suffix. @param {string} id */
function baseId(id) {
  return id.endsWith(BAND_MAX) || id.endsWith(BAND_MIN) ? id.slice(0, -BAND_MAX.length) : id;
}
