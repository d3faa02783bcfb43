/**
 * One panel of the workspace's charts: a LineChart (components/linechart.js, with its legend) in a
 * card whose title bar is its handle. The title bar holds: move left / right (also Alt+←/→ on the
 * focused title bar), full screen (the panel over the page at the window's size; the button again
 * or Escape closes it), a gear menu of the panel's own settings (metrics, x-axis, smoothing, log
 * scale, runs, width and height, CSV of what it draws, remove), and remove. Dragging the title bar
 * onto another panel of the same section moves it there; the corner handle resizes it (1 to 3
 * grid columns, small / medium / large).
 *
 * The panel holds no layout of its own: each choice is handed to its owner (`onChange`, `onMove`,
 * `onDrop`, `onRemove`), who gives the new spec back (`setSpec`). So are the lines hidden from its
 * legend (the spec's `hidden`: kept over a reload and in a saved view).
 *
 * @module panel
 */

import { h, replace } from '../lib/dom.js';
import { HEIGHTS, WIDTHS, panelTitle } from '../lib/panellayout.js';
import { LineChart } from './linechart.js';

/**
 * @typedef {import('../lib/panellayout.js').PanelSpec} PanelSpec
 * @typedef {{keys?: string[], w?: 1|2|3, h?: 's'|'m'|'l', xAxis?: string|null, smoothing?: number|null,
 *   log?: boolean|null, runs?: string|null, hidden?: string[]|null}} PanelPatch
 * @typedef {{spec: PanelSpec, section: string, system: boolean,
 *   choices: () => {metrics: string[], xAxes: string[], toolbar: import('../lib/panellayout.js').Toolbar},
 *   onChange: (patch: PanelPatch) => void, onMove: (delta: number) => void, onDrop: (draggedId: string) => void,
 *   onRemove: () => void, onZoom: (range: {min: number, max: number}|null) => void, onCsv: () => void}} PanelOpts
 */

/** The panel whose title bar is being dragged (a drop elsewhere on the page means nothing). */
let dragged = /** @type {{id: string, section: string}|null} */ (null);
const DRAG_TYPE = 'application/x-turbotrack-panel';
const SIZE_NAMES = { s: 'small', m: 'medium', l: 'large' };

export class Panel {
  /** @param {PanelOpts} opts */
  constructor(opts) {
    this.opts = opts;
    this.spec = opts.spec;
    const single = opts.spec.keys.length === 1;
    this.chart = new LineChart(panelTitle(opts.spec), {
      height: HEIGHTS[opts.spec.h], onZoom: opts.onZoom, legend: true,
      legendNoun: single ? 'runs' : 'series',
      ...(single ? {} : { unit: null }),
    });
    this.chart.system = opts.system;
    // The lines hidden from the legend are the spec's: a click on an entry is a change of the spec
    // (handed to the owner), and a spec given back (a saved view loaded) hides and shows lines.
    this.chart.hidden = new Set(opts.spec.hidden || []);
    const toggle = this.chart.toggleSeries.bind(this.chart);
    this.toggleLine = toggle;
    this.chart.toggleSeries = (/** @type {string} */ id) => {
      toggle(id);
      opts.onChange({ hidden: [...this.chart.hidden] });
    };
    this.el = this.chart.el;
    this.el.dataset.panel = opts.spec.id;
    this.el.dataset.section = opts.section;
    this.el.dataset.metric = opts.spec.keys.join(',');
    /** @type {import('./linechart.js').Series[]} what was drawn last, before smoothing */
    this.series = [];
    this.xKey = '';
    this.fullscreen = false;
    /** @type {Comment|null} where the panel goes back to when full screen closes */
    this.placeholder = null;
    this.onKey = (/** @type {KeyboardEvent} */ ev) => {
      if (ev.key === 'Escape' && this.fullscreen) {
        ev.preventDefault();
        ev.stopPropagation();
        this.setFullscreen(false);
      }
    };
    this.onWindowResize = () => {
      if (this.fullscreen) this.chart.setHeight(this.fullHeight());
    };

    // The title bar: the chart's title (its metric, its status) and the panel's tools beside it.
    const name = /** @type {HTMLElement} */ (this.el.querySelector('.panel-title'));
    const title = h('div', { class: 'panel-bar panel-handle' });
    name.replaceWith(title);
    title.append(name);
    this.title = title;
    title.draggable = true;
    title.tabIndex = 0;
    title.title = 'Drag onto another panel to move it there (or Alt+← / Alt+→)';
    const button = (cls, text, label, fn) => h('button', { type: 'button', class: `panel-btn ${cls}`, title: label, 'aria-label': label,
      onclick: (/** @type {Event} */ ev) => {
        ev.stopPropagation();
        fn();
      } }, text);
    this.menu = h('details', { class: 'menu panel-menu' }, h('summary', { title: 'Panel settings', 'aria-label': 'Panel settings' }, '⚙'),
      h('div', { class: 'menu-body' }));
    this.menu.addEventListener('toggle', () => {
      if (this.menu.open) this.renderMenu();
    });
    this.fullBtn = button('panel-full', '□', 'Full screen', () => this.setFullscreen(!this.fullscreen));
    title.append(h('span', { class: 'panel-tools' },
      button('panel-left', '◀', 'Move left', () => opts.onMove(-1)),
      button('panel-right', '▶', 'Move right', () => opts.onMove(1)),
      this.fullBtn, this.menu,
      button('panel-remove', '×', 'Remove panel', () => opts.onRemove())));
    title.addEventListener('keydown', (ev) => {
      if (!ev.altKey || ev.target !== title) return;
      if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
        ev.preventDefault();
        opts.onMove(ev.key === 'ArrowLeft' ? -1 : 1);
      }
    });
    title.addEventListener('dragstart', (ev) => {
      if (this.fullscreen) return ev.preventDefault();
      dragged = { id: this.spec.id, section: opts.section };
      if (ev.dataTransfer) {
        ev.dataTransfer.setData(DRAG_TYPE, this.spec.id);
        ev.dataTransfer.effectAllowed = 'move';
      }
      this.el.classList.add('dragging');
    });
    title.addEventListener('dragend', () => {
      dragged = null;
      this.el.classList.remove('dragging');
    });
    const mine = () => dragged && dragged.section === opts.section && dragged.id !== this.spec.id;
    this.el.addEventListener('dragover', (ev) => {
      if (!mine()) return;
      ev.preventDefault();
      this.el.classList.add('drop-target');
    });
    this.el.addEventListener('dragleave', () => this.el.classList.remove('drop-target'));
    this.el.addEventListener('drop', (ev) => {
      this.el.classList.remove('drop-target');
      if (!mine()) return;
      ev.preventDefault();
      const id = /** @type {{id: string}} */ (dragged).id;
      dragged = null;
      opts.onDrop(id);
    });
    this.el.append(this.resizeHandle());
    this.applySize();
  }

  /** The corner handle: dragging it sets the width (grid columns) and height nearest the pointer. */
  resizeHandle() {
    const handle = h('span', { class: 'panel-resize', title: 'Drag to resize' });
    handle.addEventListener('pointerdown', (/** @type {PointerEvent} */ ev) => {
      if (this.fullscreen) return;
      ev.preventDefault();
      handle.setPointerCapture(ev.pointerId);
      const rect = this.el.getBoundingClientRect();
      const column = rect.width / this.spec.w;
      const start = { x: ev.clientX, y: ev.clientY, height: this.chart.height };
      const pick = (/** @type {PointerEvent} */ e) => {
        const w = /** @type {1|2|3} */ (Math.max(1, Math.min(3, Math.round((rect.width + e.clientX - start.x) / column))));
        const want = start.height + e.clientY - start.y;
        const hs = /** @type {('s'|'m'|'l')[]} */ (Object.keys(HEIGHTS));
        const hKey = hs.reduce((best, k) => (Math.abs(HEIGHTS[k] - want) < Math.abs(HEIGHTS[best] - want) ? k : best), hs[0]);
        return { w, h: hKey };
      };
      const move = (/** @type {PointerEvent} */ e) => {
        const size = pick(e);
        this.el.dataset.resizeTo = `${size.w}${size.h}`;
      };
      const up = (/** @type {PointerEvent} */ e) => {
        handle.removeEventListener('pointermove', move);
        handle.removeEventListener('pointerup', up);
        delete this.el.dataset.resizeTo;
        const size = pick(e);
        if (size.w !== this.spec.w || size.h !== this.spec.h) this.opts.onChange(size);
      };
      handle.addEventListener('pointermove', move);
      handle.addEventListener('pointerup', up);
    });
    return handle;
  }

  /**
   * The spec again (its size or settings changed; the owner builds a new panel for new metrics).
   * @param {PanelSpec} spec
   */
  setSpec(spec) {
    this.spec = spec;
    const hide = new Set(spec.hidden || []);
    for (const id of [...this.chart.hidden]) if (!hide.has(id)) this.toggleLine(id);
    for (const id of hide) if (!this.chart.hidden.has(id)) this.toggleLine(id);
    this.applySize();
    if (this.menu.open) this.renderMenu();
  }

  applySize() {
    for (const w of WIDTHS) this.el.classList.toggle(`w-${w}`, this.spec.w === w);
    this.el.dataset.size = `${this.spec.w}${this.spec.h}`;
    if (!this.fullscreen) this.chart.setHeight(HEIGHTS[this.spec.h]);
    const own = ['xAxis', 'smoothing', 'log', 'runs'].filter((k) => this.spec[k] !== undefined);
    this.el.dataset.own = own.join(',');
    this.menu.classList.toggle('custom', own.length > 0);
  }

  /**
   * Draw these series (a run's, or a group's) with this view.
   * @param {import('./linechart.js').Series[]} series
   * @param {{xKey: string, smoothing: number, log: boolean}} view
   */
  draw(series, view) {
    this.series = series;
    this.xKey = view.xKey;
    this.chart.update(series, view);
  }

  /** The plot's height full screen: the window's, less the title bar and the legend. */
  fullHeight() {
    const legend = this.chart.legend ? this.chart.legend.offsetHeight : 0;
    return Math.max(200, window.innerHeight - 80 - legend);
  }

  /**
   * Show the panel over the page at the window's size, or put it back in its place.
   * @param {boolean} on
   */
  setFullscreen(on) {
    if (on === this.fullscreen) return;
    this.fullscreen = on;
    if (on) {
      this.placeholder = document.createComment('panel');
      this.el.replaceWith(this.placeholder);
      this.overlay = h('div', { class: 'panel-overlay' }, this.el);
      document.body.append(this.overlay);
      this.el.classList.add('fullscreen');
      this.chart.setHeight(this.fullHeight());
      document.addEventListener('keydown', this.onKey, true);
      window.addEventListener('resize', this.onWindowResize);
    } else {
      document.removeEventListener('keydown', this.onKey, true);
      window.removeEventListener('resize', this.onWindowResize);
      this.el.classList.remove('fullscreen');
      if (this.placeholder && this.placeholder.parentNode) this.placeholder.replaceWith(this.el);
      else this.el.remove();
      this.placeholder = null;
      if (this.overlay) this.overlay.remove();
      this.overlay = null;
      this.chart.setHeight(HEIGHTS[this.spec.h]);
    }
    this.fullBtn.textContent = on ? '▣' : '□';
    this.fullBtn.title = on ? 'Close full screen (Escape)' : 'Full screen';
    this.el.dataset.fullscreen = String(on);
  }

  /** The gear menu's body, from the spec and the choices there are now. */
  renderMenu() {
    const { spec, opts } = this;
    const { metrics, xAxes, toolbar } = opts.choices();
    const body = /** @type {HTMLElement} */ (this.menu.querySelector('.menu-body'));
    const keys = new Set(spec.keys);
    const search = h('input', { type: 'search', class: 'pm-search', placeholder: 'find a metric' });
    const list = h('div', { class: 'pm-metrics' }, [...new Set([...spec.keys, ...metrics])].map((k) => h('label', { class: 'pm-metric', dataset: { key: k } },
      h('input', { type: 'checkbox', value: k, checked: keys.has(k), onchange: () => {
        const chosen = [...list.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);
        if (chosen.length) opts.onChange({ keys: chosen });
        else /** @type {HTMLInputElement} */ (list.querySelector(`input[value="${CSS.escape(spec.keys[0])}"]`)).checked = true;
      } }), ` ${k}`)));
    search.addEventListener('input', () => {
      const q = search.value.toLowerCase();
      for (const item of list.children) /** @type {HTMLElement} */ (item).hidden = !(/** @type {HTMLElement} */ (item).dataset.key || '').toLowerCase().includes(q);
    });
    const xSel = h('select', { class: 'pm-x', disabled: opts.system, onchange: () => opts.onChange({ xAxis: xSel.value || null }) },
      h('option', { value: '', selected: spec.xAxis === undefined }, `toolbar's (${toolbar.xAxis})`),
      [...new Set([...xAxes, ...(spec.xAxis ? [spec.xAxis] : [])])].map((k) => h('option', { value: k, selected: spec.xAxis === k }, k)));
    const smooth = h('input', { type: 'number', class: 'pm-smoothing', min: 0, max: 0.99, step: 0.01, placeholder: `toolbar's (${toolbar.smoothing})`,
      value: spec.smoothing === undefined ? '' : String(spec.smoothing), onchange: () => {
        const v = smooth.value === '' ? null : Number(smooth.value);
        opts.onChange({ smoothing: v === null || !(v >= 0 && v < 1) ? null : v });
      } });
    const logSel = h('select', { class: 'pm-log', onchange: () => opts.onChange({ log: logSel.value === '' ? null : logSel.value === 'on' }) },
      h('option', { value: '', selected: spec.log === undefined }, `toolbar's (${toolbar.log ? 'on' : 'off'})`),
      h('option', { value: 'on', selected: spec.log === true }, 'on'),
      h('option', { value: 'off', selected: spec.log === false }, 'off'));
    const runs = h('input', { type: 'search', class: 'pm-runs', placeholder: 'the runs drawn; or words of run names', value: spec.runs || '',
      onchange: () => opts.onChange({ runs: runs.value.trim() || null }) });
    const wSel = h('select', { class: 'pm-width', onchange: () => opts.onChange({ w: /** @type {1|2|3} */ (Number(wSel.value)) }) },
      WIDTHS.map((w) => h('option', { value: w, selected: spec.w === w }, `${w} column${w > 1 ? 's' : ''}`)));
    const hSel = h('select', { class: 'pm-height', onchange: () => opts.onChange({ h: /** @type {'s'|'m'|'l'} */ (hSel.value) }) },
      Object.keys(HEIGHTS).map((k) => h('option', { value: k, selected: spec.h === k }, SIZE_NAMES[k])));
    replace(body,
      h('div', { class: 'pm-head' }, 'metrics'), search, list,
      h('label', { class: 'pm-row' }, 'x-axis ', xSel),
      h('label', { class: 'pm-row' }, 'smoothing ', smooth),
      h('label', { class: 'pm-row' }, 'log scale ', logSel),
      h('label', { class: 'pm-row' }, 'runs ', runs),
      h('label', { class: 'pm-row' }, 'width ', wSel, ' height ', hSel),
      h('div', { class: 'pm-row pm-actions' },
        h('button', { type: 'button', class: 'pm-csv', onclick: () => opts.onCsv() }, 'Download CSV'),
        h('button', { type: 'button', class: 'pm-remove', onclick: () => opts.onRemove() }, 'Remove panel')));
  }

  destroy() {
    this.setFullscreen(false);
    this.chart.destroy();
    this.el.remove();
  }
}
