/**
 * Media compared across runs: pick a media key the runs logged (images, tables, histograms, plots,
 * Html in a sandboxed frame, audio, video), and one step slider over every step any of them logged
 * it at; each run's column shows its item at that step (its last at or before it), drawn by
 * components/media.js as on the run page.
 *
 * @module mediacompare-panel
 */

import { allRows } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { colorFor } from '../lib/format.js';
import { mediaKeys, rowAt, unionSteps } from '../lib/mediacompare.js';
import { runLabel } from './canvas.js';
import { mediaItem } from './media.js';

/**
 * @typedef {{id: string, name?: string, summary?: Record<string, any>}} ApiRun
 * @typedef {{entity: string, project: string, runs: ApiRun[], key?: string,
 *   onChange?: (state: {key: string}) => void}} MediaCompareOptions
 */

/**
 * @param {MediaCompareOptions} opts runs: the picked runs as the API lists them (their summaries name the media keys)
 * @returns {{el: HTMLElement, update: (runs: ApiRun[]) => void, state: () => {key: string}}}
 */
export function mediaComparePanel(opts) {
  let runs = opts.runs;
  let key = opts.key || '';
  const tools = h('div', { class: 'an-tools' });
  const body = h('div', { class: 'mc-body' });
  const el = h('div', { class: 'panel an-panel mediacompare', dataset: { panel: 'media' } },
    h('div', { class: 'panel-title' }, 'Media across runs'), tools, body);
  let generation = 0;

  async function load() {
    const gen = ++generation;
    const keys = mediaKeys(runs);
    if (!keys.some((k) => k.key === key)) key = keys[0] ? keys[0].key : '';
    const sel = /** @type {HTMLSelectElement} */ (h('select', { class: 'mc-key', onchange: () => {
      key = sel.value;
      if (opts.onChange) opts.onChange({ key });
      load();
    } }, keys.map((k) => h('option', { value: k.key, selected: k.key === key }, `${k.key} (${k.kind.replace('-file', '')})`))));
    tools.replaceChildren(h('label', null, 'media ', sel));
    if (!key || runs.length === 0) return replace(body, h('div', { class: 'empty' }, 'these runs logged no media'));
    const kind = /** @type {{kind: string}} */ (keys.find((k) => k.key === key)).kind;
    replace(body, h('div', { class: 'loading' }, 'loading…'));
    /** @type {Record<string, any>[][]} */
    const perRun = await Promise.all(runs.map((r) => allRows(opts.entity, opts.project, r.id, [key], 2000).catch(() => [])));
    if (gen !== generation) return;
    const steps = unionSteps(perRun);
    const label = h('span', { class: 'step-label mc-step' });
    const slider = /** @type {HTMLInputElement} */ (h('input', { type: 'range', class: 'step-slider mc-slider', min: 0, max: Math.max(0, steps.length - 1), value: Math.max(0, steps.length - 1) }));
    const cols = runs.map((r) => {
      const out = h('div', { class: 'media-view' });
      return { run: r, out, col: h('div', { class: 'mc-col', dataset: { run: r.id } },
        h('div', { class: 'mc-run' }, h('span', { class: 'swatch', style: `background:${colorFor(r.id)}` }), ` ${runLabel(r)}`), out) };
    });
    const show = () => {
      const step = steps[Number(slider.value)] ?? 0;
      label.textContent = `step ${step}`;
      cols.forEach((c, i) => {
        const row = rowAt(perRun[i], step);
        if (!row) return replace(c.out, h('div', { class: 'empty' }, 'nothing logged'));
        c.out.dataset.step = String(row._step);
        mediaItem({ entity: opts.entity, project: opts.project, run: c.run.id }, key, kind, row, c.out);
      });
    };
    slider.addEventListener('input', show);
    replace(body, h('div', { class: 'slider-row' }, slider, label), h('div', { class: 'mc-grid' }, cols.map((c) => c.col)));
    show();
  }

  load();
  return {
    el,
    update(next) {
      runs = next;
      load();
    },
    state: () => ({ key }),
  };
}
