/**
 * Run comparison: 2 to 5 runs side by side, a column each (named in its colour), a row per config
 * and summary field, rows whose values differ marked (`.cmp-diff`); "only differences" hides the rest.
 *
 * @module compare-panel
 */

import { h, replace } from '../lib/dom.js';
import { compareRuns, MAX_COMPARE, MIN_COMPARE } from '../lib/compare.js';
import { fieldLabel } from '../lib/fields.js';
import { colorFor, fmtValue } from '../lib/format.js';
import { runLabel } from './canvas.js';

/**
 * @typedef {import('../lib/fields.js').Row} Row
 * @typedef {{rows: Row[], onlyDiff?: boolean, title?: string, colorOf?: (id: string) => string}} CompareOptions
 *   title: the panel's title ('' none, where a section names it); colorOf: a run's colour (`format.colorFor` by default)
 */

/**
 * @param {CompareOptions} opts rows: the picked runs' runs-table rows, in column order
 * @returns {{el: HTMLElement, update: (rows: Row[]) => void}}
 */
export function comparePanel(opts) {
  let rows = opts.rows;
  let onlyDiff = !!opts.onlyDiff;
  const colorOf = opts.colorOf || colorFor;
  const title = opts.title ?? 'Compare runs';
  const body = h('div', { class: 'cmp-body table-scroll' });
  const only = h('input', { type: 'checkbox', class: 'cmp-only', checked: onlyDiff, onchange: (/** @type {Event} */ e) => {
    onlyDiff = /** @type {HTMLInputElement} */ (e.target).checked;
    draw();
  } });
  const el = h('div', { class: 'panel an-panel compare', dataset: { panel: 'compare' } },
    title ? h('div', { class: 'panel-title' }, title) : null, h('div', { class: 'an-tools' }, h('label', null, only, ' only differences')), body);

  function draw() {
    if (rows.length < MIN_COMPARE) {
      return replace(body, h('div', { class: 'empty' }, `pick ${MIN_COMPARE} to ${MAX_COMPARE} runs to compare them`));
    }
    const all = compareRuns(rows);
    const shown = onlyDiff ? all.filter((r) => r.differs) : all;
    const diffs = all.filter((r) => r.differs).length;
    replace(body, h('div', { class: 'cmp-count count' }, `${diffs} of ${all.length} fields differ`),
      h('table', { class: 'grid cmp-table' },
        h('thead', null, h('tr', null, h('th', null, 'field'), rows.map((r) => h('th', { class: 'cmp-run', dataset: { run: String(r.id) } },
          h('span', { class: 'swatch', style: `background:${colorOf(String(r.id))}` }), ` ${runLabel(r)}`)))),
        h('tbody', null, shown.map((c) => h('tr', { class: c.differs ? 'cmp-diff' : 'cmp-same', dataset: { key: c.key } },
          h('td', { class: 'cmp-key' }, c.key.startsWith('summary.') ? fieldLabel(c.key) : c.key),
          c.values.map((v) => h('td', { class: v === undefined ? 'cmp-missing' : typeof v === 'number' ? 'num' : null },
            v === undefined ? '—' : fmtValue(v))))))));
  }

  draw();
  return {
    el,
    update(next) {
      rows = next;
      draw();
    },
  };
}
