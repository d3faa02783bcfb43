/**
 * A line-chart panel on uPlot (the global `uPlot` from /static/vendor): several runs overlaid on
 * one x axis, a hover box with every run's value at the cursor's x, log scale, and drag-to-zoom
 * that hands the x range to the owner (who fetches finer samples); double-click zooms back out.
 *
 * @module linechart
 */

import { h, replace } from '../lib/dom.js';
import { alignSeries } from '../lib/align.js';
import { emaSmooth } from '../lib/ema.js';
import { fmtValue } from '../lib/format.js';

/**
 * @typedef {{id: string, label: string, color: string, x: number[], y: number[]}} Series
 */

export class LineChart {
  /**
   * @param {string} title the metric
   * @param {{height?: number, onZoom?: (range: {min: number, max: number}|null) => void}} [opts]
   */
  constructor(title, opts = {}) {
    this.title = title;
    this.height = opts.height || 200;
    this.onZoom = opts.onZoom || null;
    this.zoom = null;
    this.plot = null;
    this.signature = '';
    this.tooltip = h('div', { class: 'chart-tip', hidden: true });
    this.body = h('div', { class: 'chart-body' });
    this.status = h('span', { class: 'chart-status' });
    this.el = h('div', { class: 'panel chart', dataset: { metric: title } },
      h('div', { class: 'panel-title' }, h('span', { class: 'metric-name', title }, title), this.status),
      this.body, this.tooltip);
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
  }

  /** The drawing width in pixels: how many samples per series are worth fetching. */
  width() {
    return Math.max(100, Math.round(this.body.clientWidth || 400));
  }

  /**
   * Draw these series.
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
      return;
    }
    const smoothing = view.smoothing || 0;
    let nonFinite = false;
    const prepared = shown.map((s) => {
      let y = smoothing > 0 ? emaSmooth(s.y, smoothing) : s.y;
      // A NaN or an infinity has no place on the axis: a gap (uPlot's range would be NaN); the
      // hover box still names it (this.raw).
      y = y.map((v) => {
        if (typeof v === 'number' && !Number.isFinite(v)) nonFinite = true;
        return typeof v === 'number' && Number.isFinite(v) && (!view.log || v > 0) ? v : null;
      });
      return { x: s.x, y };
    });
    const data = alignSeries(prepared);
    this.raw = nonFinite ? alignSeries(shown) : null;
    const signature = JSON.stringify([view.xKey, !!view.log, shown.map((s) => [s.id, s.color, s.label])]);
    if (this.plot && signature === this.signature) {
      this.plot.setData(data, !this.zoom);
      if (this.zoom) this.plot.setScale('x', this.zoom);
      return;
    }
    this.destroyPlot();
    this.signature = signature;
    this.shown = shown;
    replace(this.body);
    this.plot = new globalThis.uPlot(this.options(shown, view), data, this.body);
    if (this.zoom) this.plot.setScale('x', this.zoom);
  }

  options(shown, view) {
    const chart = this;
    return {
      width: this.width(),
      height: this.height,
      legend: { show: false },
      scales: { x: { time: view.xKey === '_timestamp' }, y: { distr: view.log ? 3 : 1 } },
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' } },
        { stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' }, size: 60 },
      ],
      series: [
        { label: view.xKey },
        ...shown.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true, points: { show: false } })),
      ],
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
      const ys = u.data[s];
      const raw = this.raw && this.raw[s][idx];
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
        h('span', { class: 'tip-name' }, it.run.label), h('span', { class: 'tip-val' }, fmtValue(it.v)))),
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
    this.signature = '';
  }

  destroy() {
    this.resizer.disconnect();
    this.destroyPlot();
  }
}
