/**
 * Two of the workspace's sections as view components: "Compare runs" (2 to 5 runs side by side,
 * `lib/compare.js`) and "Parameters" (parallel coordinates, importance and a scatter,
 * `lib/params.js`). Each is a collapsible section that draws only while open; the choices made in
 * it are kept in the workspace's settings (`s`, then `save()`).
 *
 * @module panels
 */

import { columnLabel } from '../lib/columns.js';
import { compareRuns } from '../lib/comparelines.js';
import { h, replace } from '../lib/dom.js';
import { fmtValue } from '../lib/format.js';
import { axesFor, importance } from '../lib/params.js';
import { parallelCoordinates, scatterPlot } from './parcoords.js';

/**
 * @typedef {import('../lib/settings.js').Settings} Settings
 * @typedef {Record<string, any>} Row a runs table row (`runRow`)
 * @typedef {{s: Settings, save: () => void, colorOf: (id: string) => string}} PanelOpts
 */

/** A collapsible section whose open state is kept under `s.collapsed[key]` (closed at first). */
function section(opts, key, title, body, onOpen) {
  const el = h('details', { class: 'section', open: opts.s.collapsed[key] === false, dataset: { group: key } }, h('summary', null, title), body);
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
    this.pick = h('select', { id: 'compare-pick', multiple: true, size: 6, title: 'Pick 2 to 5 runs (ctrl/shift-click)' });
    this.only = h('input', { type: 'checkbox', id: 'compare-only' });
    this.body = h('div', { class: 'compare-body', id: 'compare' });
    /** @type {Row[]} */
    this.view = [];
    /** @type {(id: string) => Row|undefined} */
    this.rowOf = () => undefined;
    this.el = section(opts, '__compare', 'Compare runs', h('div', { class: 'panel compare-panel' },
      h('div', { class: 'compare-tools' }, this.pick, h('label', null, this.only, ' only the differences')), this.body),
    () => this.render());
    this.pick.addEventListener('change', () => {
      opts.s.compare = [...this.pick.selectedOptions].map((o) => o.value).slice(0, 5);
      opts.save();
      this.renderTable();
    });
    this.only.addEventListener('change', () => this.renderTable());
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
    const list = /** @type {Row[]} */ ((this.opts.s.compare || []).map((id) => this.rowOf(id)).filter(Boolean));
    if (list.length < 2) {
      replace(this.body, h('p', { class: 'empty' }, 'Pick 2 to 5 runs to see their config and summary side by side.'));
      return;
    }
    const lines = compareRuns(list).filter((l) => !this.only.checked || l.differs);
    replace(this.body, h('table', { class: 'grid compare', id: 'compare-table' },
      h('thead', null, h('tr', null, h('th', null, 'column'),
        list.map((r) => h('th', { dataset: { run: r.id }, style: `color:${this.opts.colorOf(r.id)}` }, r.name)))),
      h('tbody', null, lines.map((l) => h('tr', { class: l.differs ? 'differs' : null, dataset: { key: l.key } },
        h('th', null, columnLabel(l.key)),
        l.values.map((v) => h('td', { class: typeof v === 'number' ? 'num' : null }, fmtValue(v))))))));
  }
}

export class ParamsPanel {
  /** @param {PanelOpts} opts */
  constructor(opts) {
    this.opts = opts;
    this.metric = h('select', { id: 'params-metric' });
    this.body = h('div', { class: 'params-body', id: 'params' });
    this.scatterX = h('select', { id: 'scatter-x' });
    this.scatterY = h('select', { id: 'scatter-y' });
    this.scatter = h('div', { class: 'scatter-body', id: 'scatter' });
    /** @type {string[]} */
    this.columns = [];
    /** @type {Row[]} */
    this.drawn = [];
    this.el = section(opts, '__params', 'Parameters', h('div', { class: 'panel params-panel' },
      h('label', null, 'against ', this.metric), this.body,
      h('div', { class: 'scatter-tools' }, h('label', null, 'scatter: x ', this.scatterX), h('label', null, ' y ', this.scatterY)), this.scatter),
    () => this.render());
    this.metric.addEventListener('change', () => {
      opts.s.paramsMetric = this.metric.value;
      opts.save();
      this.render();
    });
    for (const sel of [this.scatterX, this.scatterY]) {
      sel.addEventListener('change', () => {
        opts.s.scatter = [this.scatterX.value, this.scatterY.value];
        opts.save();
        this.render();
      });
    }
  }

  /**
   * @param {string[]} columns the runs' config and summary columns
   * @param {Row[]} drawn the rows of the runs drawn
   */
  update(columns, drawn) {
    this.columns = columns;
    this.drawn = drawn;
    this.render();
  }

  render() {
    if (!this.el.open) return;
    const { s, colorOf } = this.opts;
    const { columns, drawn } = this;
    const metrics = columns.filter((c) => c.startsWith('summary.'));
    const metric = metrics.includes(s.paramsMetric) ? s.paramsMetric : s.bar || metrics[0] || '';
    replace(this.metric, metrics.map((c) => h('option', { value: c, selected: c === metric }, columnLabel(c))));
    const params = columns.filter((c) => c.startsWith('config.'));
    const axes = axesFor(drawn, [...params.slice(0, 12), ...(metric ? [metric] : [])]);
    if (!drawn.length || axes.length < 2) {
      replace(this.body, h('p', { class: 'empty' }, 'Runs with config values and a summary metric are drawn here.'));
      replace(this.scatter);
      return;
    }
    // The scatter: any config or summary column on either axis (a config one and the metric at first).
    const choices = columns.filter((c) => c.startsWith('config.') || c.startsWith('summary.'));
    const sx = choices.includes(s.scatter?.[0]) ? s.scatter[0] : params[0] || choices[0];
    const sy = choices.includes(s.scatter?.[1]) ? s.scatter[1] : metric || choices[1];
    replace(this.scatterX, choices.map((c) => h('option', { value: c, selected: c === sx }, columnLabel(c))));
    replace(this.scatterY, choices.map((c) => h('option', { value: c, selected: c === sy }, columnLabel(c))));
    const [ax, ay] = [axesFor(drawn, [sx])[0], axesFor(drawn, [sy])[0]];
    replace(this.scatter, ax && ay ? scatterPlot(ax, ay, drawn, colorOf) : h('p', { class: 'empty' }, 'no values'));
    const ranks = metric ? importance(drawn, params, metric) : [];
    replace(this.body,
      parallelCoordinates(axes, drawn, colorOf, { width: Math.max(400, this.body.clientWidth || 900), height: 260 }),
      h('table', { class: 'grid importance', id: 'importance' },
        h('thead', null, h('tr', null, h('th', null, 'parameter'), h('th', { class: 'num' }, `correlation with ${columnLabel(metric)}`), h('th', null, ''))),
        h('tbody', null, ranks.map((x) => h('tr', { dataset: { col: x.col } }, h('td', null, x.col), h('td', { class: 'num' }, x.r.toFixed(3)),
          h('td', null, h('span', { class: `imp-bar ${x.r < 0 ? 'neg' : 'pos'}`, style: `width:${Math.round(Math.abs(x.r) * 120)}px` })))))));
  }
}
