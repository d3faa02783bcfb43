/**
 * The workspace's runs table (a view: it draws what it is given and reports clicks): a sortable
 * header, only the rows in sight in the DOM (spacer rows stand for the rest, so 10,000 runs scroll
 * fast), and rows rewritten cell by cell in place when only their values moved.
 *
 * @module runstable
 */

import { columnLabel } from '../lib/columns.js';
import { h, replace } from '../lib/dom.js';
import { fmtDuration, fmtField, fmtTime } from '../lib/format.js';
import { runHref } from '../lib/route.js';

const ROW_H = 28;

/**
 * @typedef {Record<string, any> & {id: string, name: string}} Row
 * @typedef {{
 *   entity: string, project: string,
 *   colorOf: (id: string) => string,
 *   isHidden: (id: string) => boolean,
 *   onSort: (col: string) => void,
 *   onHide: (id: string, hidden: boolean) => void,
 *   onColor: (id: string, color: string) => void,
 * }} TableOpts
 */

export class RunsTable {
  /** @param {TableOpts} opts */
  constructor(opts) {
    this.opts = opts;
    this.thead = h('thead');
    this.tbody = h('tbody');
    this.table = h('table', { class: 'grid runs', id: 'runs-table' }, this.thead, this.tbody);
    this.el = h('div', { class: 'table-wrap' }, this.table);
    /** @type {Row[]} */
    this.view = [];
    /** @type {string[]} */
    this.columns = ['name'];
    /** @type {{col: string, dir: string}} */
    this.sort = { col: 'created', dir: 'desc' };
    /** @type {string[]} */
    this.pinned = [];
    /** @type {string|null} the run whose colour input is open */
    this.picking = null;
    this.el.addEventListener('scroll', () => requestAnimationFrame(() => this.renderRows()));
  }

  /**
   * What to show; draws the header and the rows in sight.
   * @param {Row[]} view the rows, filtered and sorted
   * @param {string[]} columns
   * @param {{col: string, dir: string}} sort
   * @param {string[]} pinned
   */
  show(view, columns, sort, pinned) {
    this.view = view;
    this.columns = columns;
    this.sort = sort;
    this.pinned = pinned;
    this.renderHead();
    this.renderRows();
  }

  /**
   * New rows: in place when they are the same runs in the same order with the same columns
   * (a running run's runtime ticking rewrites its cell, not the table), else drawn again.
   * @param {Row[]} view
   */
  update(view) {
    const same = view.length === this.view.length && view.every((r, i) => r.id === this.view[i].id);
    this.view = view;
    if (same) this.patchRows();
    else this.renderRows();
  }

  scrollToTop() {
    this.el.scrollTop = 0;
  }

  renderHead() {
    const { sort } = this;
    replace(this.thead, h('tr', null,
      h('th', { class: 'eye', title: 'Show or hide runs in the charts' }, ''),
      this.columns.map((c) => h('th', {
        class: `sortable${sort.col === c ? ` sorted ${sort.dir}` : ''}${this.pinned.includes(c) ? ' pinned' : ''}`,
        dataset: { col: c },
        title: c,
        onclick: () => this.opts.onSort(c),
      }, columnLabel(c), h('span', { class: 'arrow' }, sort.col === c ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : '')))));
  }

  /** @param {Row} row @param {string} c */
  cell(row, c) {
    const td = this.cellOf(row, c);
    td.dataset.col = c;
    return td;
  }

  /** @param {Row} row @param {string} c */
  cellOf(row, c) {
    const v = row[c];
    if (c === 'name') {
      const color = this.opts.colorOf(row.id);
      // A plain swatch (a colour input per row would cost every scrolled frame its shadow DOM): a
      // click puts the colour input in its place and opens it.
      return h('td', { class: 'name' },
        this.picking === row.id ? this.colorInput(row.id, color) : h('span', {
          class: 'swatch pick', title: 'Colour of this run: click to choose', dataset: { color }, style: `background:${color}`,
          onclick: (ev) => this.pickColor(ev.currentTarget, row.id, color),
        }),
        h('a', { href: runHref(this.opts.entity, this.opts.project, row.id), style: `color:${color}` }, row.name));
    }
    if (c === 'state') return h('td', null, h('span', { class: `state state-${v}` }, v || ''));
    if (c === 'created') return h('td', null, fmtTime(v));
    if (c === 'runtime') return h('td', { class: 'num' }, fmtDuration(v));
    if (c === 'tags') return h('td', null, (v || []).map((t) => h('span', { class: 'tag' }, t)));
    return h('td', { class: typeof v === 'number' ? 'num' : null, title: typeof v === 'string' ? v : null }, fmtField(c, v));
  }

  /**
   * The colour input for one run, in place of its swatch, opened.
   * @param {HTMLElement} swatch
   * @param {string} id
   * @param {string} color
   */
  pickColor(swatch, id, color) {
    this.picking = id; // kept while the rows are drawn again (a scroll) until a colour is chosen
    const input = this.colorInput(id, color);
    swatch.replaceWith(input);
    if (typeof input.showPicker === 'function') {
      try {
        input.showPicker();
      } catch {
        /* not from a user's click (a test's): the input is there to be set */
      }
    }
  }

  /** @param {string} id @param {string} color */
  colorInput(id, color) {
    return h('input', {
      type: 'color', class: 'swatch pick', value: color, dataset: { color },
      onchange: (ev) => {
        this.picking = null;
        this.opts.onColor(id, ev.target.value);
      },
    });
  }

  /**
   * Only the rows in sight (and 10 either side) are in the DOM. A row already drawn for the same
   * row object, columns, colour and visibility is kept, not built again (scrolling by a few rows
   * builds only the few that come into sight).
   */
  renderRows() {
    const { view, columns, el } = this;
    const first = Math.max(0, Math.floor(el.scrollTop / ROW_H) - 10);
    const count = Math.ceil((el.clientHeight || 600) / ROW_H) + 20;
    const last = Math.min(view.length, first + count);
    const span = columns.length + 1;
    const sig = columns.join('\u0000');
    /** @type {Map<string, any>} */
    const drawn = new Map();
    for (const tr of this.tbody.children) if (tr.dataset.run) drawn.set(tr.dataset.run, tr);
    const out = [];
    if (first > 0) out.push(h('tr', { class: 'spacer', style: `height:${first * ROW_H}px` }, h('td', { colspan: span })));
    for (let i = first; i < last; i++) {
      const row = view[i];
      const isHidden = this.opts.isHidden(row.id);
      const color = this.opts.colorOf(row.id);
      const prev = drawn.get(row.id);
      if (prev && prev.drawnRow === row && prev.drawnSig === sig && prev.drawnHidden === isHidden && prev.drawnColor === color && this.picking !== row.id) {
        out.push(prev);
        continue;
      }
      const tr = h('tr', { dataset: { run: row.id }, class: isHidden ? 'hidden-run' : null, style: `height:${ROW_H}px` },
        h('td', { class: 'eye' }, h('input', {
          type: 'checkbox', checked: !isHidden, title: isHidden ? 'Show in charts' : 'Hide from charts',
          onchange: (ev) => {
            ev.target.closest('tr').classList.toggle('hidden-run', !ev.target.checked);
            this.opts.onHide(row.id, !ev.target.checked);
          },
        })),
        columns.map((c) => this.cell(row, c)));
      Object.assign(tr, { drawnRow: row, drawnSig: sig, drawnHidden: isHidden, drawnColor: color });
      out.push(tr);
    }
    if (last < view.length) out.push(h('tr', { class: 'spacer', style: `height:${(view.length - last) * ROW_H}px` }, h('td', { colspan: span })));
    replace(this.tbody, out);
  }

  /** The rows in the DOM, cell by cell, to what the view holds now. */
  patchRows() {
    const byId = new Map();
    for (const tr of this.tbody.children) if (tr.dataset.run) byId.set(tr.dataset.run, tr);
    if (!byId.size) return;
    for (const row of this.view) {
      const tr = byId.get(row.id);
      if (!tr) continue;
      for (const c of this.columns) {
        const td = tr.querySelector(`td[data-col="${CSS.escape(c)}"]`);
        if (!td) continue;
        const next = this.cell(row, c);
        if (next.innerHTML !== td.innerHTML) td.replaceWith(next);
      }
    }
  }
}
