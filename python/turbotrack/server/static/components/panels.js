/**
 * Two of the workspace's sections, made of the analysis panels: "Compare runs" (2 to 5 runs picked
 * from the table, side by side: `comparePanel`) and "Parameters" (parallel coordinates, a scatter
 * and parameter importance: `parallelCoordsPanel`, `scatterPanel`, `importancePanel`, the scatter
 * and importance taking the runs the parallel coordinates' brushes keep). Each is a collapsible
 * section that draws only while open; runs are drawn in the workspace's colours (`colorOf`); the
 * choices made in it are kept in the workspace's settings (`s`, then `save()`).
 *
 * @module panels
 */

import { h, replace } from '../lib/dom.js';
import { MAX_COMPARE } from '../lib/compare.js';
import { comparePanel } from './compare.js';
import { importancePanel } from './importance.js';
import { parallelCoordsPanel } from './pcoords.js';
import { scatterPanel } from './scatter.js';

/**
 * @typedef {import('../lib/settings.js').Settings} Settings
 * @typedef {Record<string, any>} Row a runs table row (`runRow`)
 * @typedef {{s: Settings, save: () => void, colorOf: (id: string) => string, onPick?: (row: Row) => void}} PanelOpts
 *   onPick: a run's line or point clicked
 */

/** A collapsible section whose open state is kept under `s.collapsed[key]` (closed at first). */
function section(/** @type {PanelOpts} */ opts, /** @type {string} */ key, /** @type {string} */ title, /** @type {Node} */ body, /** @type {() => void} */ onOpen) {
  const el = /** @type {HTMLDetailsElement} */ (h('details', { class: 'section', open: opts.s.collapsed[key] === false, dataset: { group: key } }, h('summary', null, title), body));
  el.addEventListener('toggle', () => {
    if (opts.s.collapsed[key] === !el.open) return; // Chrome's toggle for a section created open
    opts.s.collapsed[key] = !el.open;
    opts.save();
    onOpen();
  });
  return el;
}

export class ComparePanel {
  /** @param {PanelOpts} opts */
  constructor(opts) {
    this.opts = opts;
    this.pick = /** @type {HTMLSelectElement} */ (h('select', { id: 'compare-pick', multiple: true, size: 6, title: `Pick 2 to ${MAX_COMPARE} runs (ctrl/shift-click)` }));
    this.panel = comparePanel({ rows: [], title: '', colorOf: opts.colorOf });
    /** @type {Row[]} */
    this.view = [];
    /** @type {(id: string) => Row|undefined} */
    this.rowOf = () => undefined;
    this.el = section(opts, '__compare', 'Compare runs',
      h('div', { class: 'compare-tools' }, this.pick, this.panel.el), () => this.render());
    this.pick.addEventListener('change', () => {
      opts.s.compare = [...this.pick.selectedOptions].map((o) => o.value).slice(0, MAX_COMPARE);
      opts.save();
      this.renderTable();
    });
  }

  /**
   * The runs to pick from (the table's, filtered and sorted) and how to find any run's row.
   * @param {Row[]} view
   * @param {(id: string) => Row|undefined} rowOf
   */
  update(view, rowOf) {
    this.view = view;
    this.rowOf = rowOf;
    this.render();
  }

  render() {
    if (!this.el.open) return;
    const picked = new Set(this.opts.s.compare || []);
    const offer = this.view.slice(0, 500);
    for (const id of picked) {
      const row = this.rowOf(id);
      if (row && !offer.includes(row)) offer.unshift(row);
    }
    replace(this.pick, offer.map((r) => h('option', { value: r.id, selected: picked.has(r.id) }, r.name)));
    this.renderTable();
  }

  renderTable() {
    if (!this.el.open) return;
    this.panel.update(/** @type {Row[]} */ ((this.opts.s.compare || []).map((id) => this.rowOf(id)).filter(Boolean)));
  }
}

export class ParamsPanel {
  /** @param {PanelOpts} opts */
  constructor(opts) {
    this.opts = opts;
    this.body = h('div', { class: 'params-body' });
    /** @type {Row[]} */
    this.drawn = [];
    /** @type {Set<string>|null} the runs the brushes keep (null: all) */
    this.brushed = null;
    /** @type {any} the panels, made when the section is first drawn (their canvases take its width) */
    this.panels = null;
    this.el = section(opts, '__params', 'Parameters', this.body, () => this.render());
  }

  /**
   * @param {string[]} _columns the runs' config and summary columns (the panels find them in the rows)
   * @param {Row[]} drawn the rows of the runs drawn
   */
  update(_columns, drawn) {
    this.drawn = drawn;
    this.render();
  }

  /** The rows the brushes keep. */
  inBrush() {
    const kept = this.brushed;
    return kept ? this.drawn.filter((r) => kept.has(String(r.id))) : this.drawn;
  }

  render() {
    if (!this.el.open) return;
    if (!this.panels) return this.build();
    this.panels.pcoords.update(this.drawn); // calls onBrush first where brushes are set
    this.panels.scatter.update(this.inBrush());
    this.panels.importance.update(this.inBrush());
  }

  build() {
    const { s, save, colorOf, onPick } = this.opts;
    const pc = s.pcoords;
    const sc = s.scatter && !Array.isArray(s.scatter) ? s.scatter : {}; // an older [x, y] is dropped
    const pcoords = parallelCoordsPanel({
      rows: this.drawn, keys: pc?.keys, colorBy: pc?.colorBy, brushes: pc?.brushes, colorOf, onPick,
      onChange: (st) => {
        s.pcoords = st;
        save();
      },
      onBrush: (ids) => {
        this.brushed = ids.length === this.drawn.length ? null : new Set(ids);
        if (!this.panels) return;
        this.panels.scatter.update(this.inBrush());
        this.panels.importance.update(this.inBrush());
      },
    });
    const scatter = scatterPanel({
      rows: this.inBrush(), ...sc, colorOf, onPick,
      onChange: (st) => {
        s.scatter = st;
        save();
      },
    });
    const importance = importancePanel({
      rows: this.inBrush(), metric: s.paramsMetric || s.bar || undefined,
      onChange: (st) => {
        s.paramsMetric = st.metric;
        save();
      },
    });
    this.panels = { pcoords, scatter, importance };
    replace(this.body, pcoords.el, h('div', { class: 'an-pair' }, scatter.el, importance.el));
  }
}
