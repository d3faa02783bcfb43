/**
 * The workspace's runs table (a view: it draws what it is given and reports clicks): a sortable
 * header, only the rows in sight in the DOM (spacer rows stand for the rest, so 10,000 runs scroll
 * fast), and rows rewritten cell by cell in place when only their values moved. Grouped runs
 * (lib/tablegroups.js) come as one header row per group, with its runs beneath when it is open: a
 * header is one more row of the list, so grouping keeps the table virtualised.
 *
 * @module runstable
 */

import { columnLabel } from '../lib/columns.js';
import { h, replace } from '../lib/dom.js';
import { fmtDuration, fmtField, fmtTime, fmtValue } from '../lib/format.js';
import { runHref } from '../lib/route.js';
import { isGroup } from '../lib/tablegroups.js';

const ROW_H = 28;

/**
 * @typedef {Record<string, any> & {id: string, name: string}} Row
 * @typedef {import('../lib/tablegroups.js').GroupItem} GroupItem
 * @typedef {Row | GroupItem} Item a run's row or a group's header
 * @typedef {{
 *   entity: string, project: string,
 *   colorOf: (id: string) => string,
 *   isHidden: (id: string) => boolean,
 *   onSort: (col: string) => void,
 *   onHide: (id: string, hidden: boolean) => void,
 *   onColor: (id: string, color: string) => void,
 *   onToggleGroup?: (name: string) => void,
 *   onHideGroup?: (ids: string[], hidden: boolean) => void,
 * }} TableOpts
 */

/** The key an item's row is found by in the DOM: a run's id, or a group's name behind a mark. */
function itemKey(item) {
  return isGroup(item) ? `\u0000group\u0000${item.name}` : item.id;
}

/** Columns whose group aggregate is a mean (with its range), not a shared value. */
function isNumberColumn(c) {
  return c === 'runtime' || c === 'created' || c.startsWith('summary.') || c.startsWith('config.');
}

export class RunsTable {
  /** @param {TableOpts} opts */
  constructor(opts) {
    this.opts = opts;
    this.thead = h('thead');
    this.tbody = h('tbody');
    this.table = h('table', { class: 'grid runs', id: 'runs-table' }, this.thead, this.tbody);
    this.el = h('div', { class: 'table-wrap' }, this.table);
    /** @type {Item[]} */
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
   * @param {Item[]} view the rows, filtered and sorted (grouped: group headers and their runs)
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
   * @param {Item[]} view
   */
  update(view) {
    const same = view.length === this.view.length && view.every((r, i) => itemKey(r) === itemKey(this.view[i]));
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
   * A group header's cell: its name, run count and colour in the name column; elsewhere the mean
   * of its numbers (lowest and highest on hover), else the value its runs share, or how many.
   * @param {GroupItem} g
   * @param {string} c
   */
  groupCell(g, c) {
    if (c === 'name') {
      const runs = `${g.ids.length} run${g.ids.length === 1 ? '' : 's'}`;
      return h('td', { class: 'name group-name', title: `${g.name}: ${runs}` },
        h('span', { class: 'caret' }, g.open ? '▾' : '▸'),
        h('span', { class: 'swatch', dataset: { color: g.color }, style: `background:${g.color}` }),
        h('span', { class: 'group-label' }, g.name),
        h('span', { class: 'group-count' }, ` ${g.ids.length}`));
    }
    const st = g.stat(c);
    const show = c === 'runtime' ? fmtDuration : c === 'created' ? fmtTime : fmtValue;
    if (st.n && isNumberColumn(c)) {
      const mean = c === 'created' ? st.max : st.mean;
      const title = c === 'created'
        ? `newest ${fmtTime(st.max)}, oldest ${fmtTime(st.min)}`
        : `mean ${show(st.mean)} of ${st.n}: min ${show(st.min)} – max ${show(st.max)}`;
      return h('td', { class: 'num', title, dataset: { min: String(st.min), max: String(st.max), mean: String(mean) } }, show(mean));
    }
    if (st.distinct === 1) {
      const v = st.value;
      if (c === 'state') return h('td', null, h('span', { class: `state state-${v}` }, v));
      if (c === 'tags') return h('td', null, (v || []).map((t) => h('span', { class: 'tag' }, t)));
      return h('td', { title: typeof v === 'string' ? v : null }, c === 'runtime' || c === 'created' ? show(v) : fmtField(c, v));
    }
    return h('td', { class: 'group-values' }, st.distinct ? `${st.distinct} values` : '');
  }

  /**
   * A group's header row: its eye (every run of it in or out of the charts), its cells, and a
   * click anywhere else opens or closes it.
   * @param {GroupItem} g
   * @param {string} hiddenState 'all', 'some' or '' (none of its runs hidden)
   */
  groupRow(g, hiddenState) {
    const eye = h('input', {
      type: 'checkbox', class: 'group-eye', checked: hiddenState !== 'all',
      title: hiddenState === 'all' ? 'Show this group in the charts' : 'Hide this group from the charts',
      onclick: (ev) => ev.stopPropagation(),
      onchange: (ev) => this.opts.onHideGroup?.(g.ids, !ev.target.checked),
    });
    eye.indeterminate = hiddenState === 'some';
    const tr = h('tr', {
      class: `group-row${g.open ? ' open' : ''}${hiddenState === 'all' ? ' hidden-run' : ''}`,
      dataset: { key: itemKey(g), group: g.name, count: String(g.ids.length) },
      'aria-expanded': String(g.open),
      tabindex: 0,
      style: `height:${ROW_H}px`,
      onclick: () => this.opts.onToggleGroup?.(g.name),
      onkeydown: (ev) => {
        if (ev.target !== ev.currentTarget || (ev.key !== 'Enter' && ev.key !== ' ')) return;
        ev.preventDefault();
        this.opts.onToggleGroup?.(g.name);
      },
    }, h('td', { class: 'eye' }, eye), this.columns.map((c) => {
      const td = this.groupCell(g, c);
      td.dataset.col = c;
      return td;
    }));
    return tr;
  }

  /**
   * Whether a group's runs are hidden from the charts: 'all', 'some' or ''.
   * @param {GroupItem} g
   */
  hiddenState(g) {
    let n = 0;
    for (const id of g.ids) if (this.opts.isHidden(id)) n++;
    return n === 0 ? '' : n === g.ids.length ? 'all' : 'some';
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
    for (const tr of this.tbody.children) if (tr.dataset.key) drawn.set(tr.dataset.key, tr);
    const out = [];
    if (first > 0) out.push(h('tr', { class: 'spacer', style: `height:${first * ROW_H}px` }, h('td', { colspan: span })));
    for (let i = first; i < last; i++) {
      const item = view[i];
      if (isGroup(item)) {
        const state = this.hiddenState(item);
        const prev = drawn.get(itemKey(item));
        if (prev && prev.drawnRow === item && prev.drawnSig === sig && prev.drawnHidden === state) {
          out.push(prev);
          continue;
        }
        const tr = this.groupRow(item, state);
        Object.assign(tr, { drawnRow: item, drawnSig: sig, drawnHidden: state });
        out.push(tr);
        continue;
      }
      const row = item;
      const isHidden = this.opts.isHidden(row.id);
      const color = this.opts.colorOf(row.id);
      const prev = drawn.get(row.id);
      if (prev && prev.drawnRow === row && prev.drawnSig === sig && prev.drawnHidden === isHidden && prev.drawnColor === color && this.picking !== row.id) {
        out.push(prev);
        continue;
      }
      const tr = h('tr', { dataset: { run: row.id, key: row.id }, class: isHidden ? 'hidden-run' : null, style: `height:${ROW_H}px` },
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
    const byKey = new Map();
    for (const tr of this.tbody.children) if (tr.dataset.key) byKey.set(tr.dataset.key, tr);
    if (!byKey.size) return;
    for (const item of this.view) {
      const tr = byKey.get(itemKey(item));
      if (!tr) continue;
      if (isGroup(item)) {
        const state = this.hiddenState(item);
        const next = this.groupRow(item, state);
        if (next.innerHTML !== tr.innerHTML || tr.drawnHidden !== state) {
          Object.assign(next, { drawnRow: item, drawnSig: this.columns.join('\u0000'), drawnHidden: state });
          tr.replaceWith(next);
        }
        continue;
      }
      const row = item;
      for (const c of this.columns) {
        const td = tr.querySelector(`td[data-col="${CSS.escape(c)}"]`);
        if (!td) continue;
        const next = this.cell(row, c);
        if (next.innerHTML !== td.innerHTML) td.replaceWith(next);
      }
    }
  }
}
