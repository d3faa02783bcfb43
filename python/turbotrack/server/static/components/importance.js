/**
 * Parameter importance against a chosen summary metric (lib/importance.js): one row per config
 * parameter with its importance (η², a bar), Pearson's and Spearman's correlation (coloured by sign)
 * and how many runs hold both.
 *
 * @module importance-panel
 */

import { h, replace } from '../lib/dom.js';
import { fieldLabel, fieldsOf } from '../lib/fields.js';
import { fmtValue } from '../lib/format.js';
import { importance } from '../lib/importance.js';
import { fieldSelect } from './canvas.js';

/**
 * @typedef {import('../lib/fields.js').Row} Row
 * @typedef {{rows: Row[], metric?: string, onChange?: (state: {metric: string}) => void}} ImportanceOptions
 */

/** @param {number|null} v */
function corrCell(v) {
  if (v === null) return h('td', { class: 'num imp-none' }, '—');
  return h('td', { class: `num ${v >= 0 ? 'imp-pos' : 'imp-neg'}` }, v.toFixed(3));
}

/**
 * @param {ImportanceOptions} opts
 * @returns {{el: HTMLElement, update: (rows: Row[]) => void, state: () => {metric: string}}}
 */
export function importancePanel(opts) {
  let rows = opts.rows;
  const metrics = () => fieldsOf(rows).filter((f) => f.kind === 'number' && f.key.startsWith('summary.')).map((f) => f.key);
  let metric = opts.metric || metrics()[0] || '';
  const tools = h('div', { class: 'an-tools' });
  const body = h('div', { class: 'imp-body' });
  const el = h('div', { class: 'panel an-panel importance', dataset: { panel: 'importance' } },
    h('div', { class: 'panel-title' }, 'Parameter importance'), tools, body,
    h('div', { class: 'an-note' }, 'importance: share of the metric\u2019s variance between the parameter\u2019s values (numeric ones in quantile bins), η²; correlations: Pearson (linear), Spearman (rank).'));

  function draw() {
    const ms = metrics();
    tools.replaceChildren(h('label', null, 'metric ', fieldSelect(ms, metric, (k) => {
      metric = k;
      if (opts.onChange) opts.onChange({ metric });
      draw();
    }, fieldLabel, 'imp-metric')));
    if (!metric) return replace(body, h('div', { class: 'empty' }, 'no numeric summary metric'));
    const params = fieldsOf(rows).filter((f) => f.key.startsWith('config.')).map((f) => f.key);
    const out = importance(rows, params, metric);
    if (!out.length) return replace(body, h('div', { class: 'empty' }, 'no config parameter varies across these runs'));
    replace(body, h('table', { class: 'grid imp-table' },
      h('thead', null, h('tr', null, h('th', null, 'parameter'), h('th', null, 'importance'), h('th', null, 'Pearson'),
        h('th', null, 'Spearman'), h('th', null, 'runs'))),
      h('tbody', null, out.map((o) => h('tr', { dataset: { param: o.param } },
        h('td', { class: 'imp-param' }, fieldLabel(o.param)),
        h('td', { class: 'imp-score' }, o.importance === null ? '—' : h('span', { class: 'imp-bar-track' },
          h('span', { class: 'imp-bar', style: `width:${(100 * o.importance).toFixed(1)}%` })), o.importance === null ? null : ` ${fmtValue(o.importance)}`),
        corrCell(o.pearson), corrCell(o.spearman), h('td', { class: 'num' }, String(o.n)))))));
  }

  draw();
  return {
    el,
    update(next) {
      rows = next;
      draw();
    },
    state: () => ({ metric }),
  };
}
