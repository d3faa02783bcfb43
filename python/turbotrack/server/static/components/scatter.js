/**
 * The scatter panel: each run a point at (x field, y field), config or summary, numeric (linear or
 * log) or categorical, drawn on a canvas in the run's colour; hovering a point names the run and its
 * two values, clicking it calls `onPick`. The layout and hit test are lib/scatter.js.
 *
 * @module scatter-panel
 */

import { h } from '../lib/dom.js';
import { fieldLabel, fieldsOf, ticks } from '../lib/fields.js';
import { colorFor, fmtValue } from '../lib/format.js';
import { layoutScatter, nearestPoint } from '../lib/scatter.js';
import { fieldSelect, fitCanvas, runTitle, themeColor, tipBox } from './canvas.js';

/**
 * @typedef {import('../lib/fields.js').Row} Row
 * @typedef {{x: string, y: string, logX: boolean, logY: boolean}} ScatterState
 * @typedef {{rows: Row[], x?: string, y?: string, logX?: boolean, logY?: boolean, height?: number,
 *   colorOf?: (id: string) => string, onPick?: (row: Row) => void, onChange?: (state: ScatterState) => void}} ScatterOptions
 *   colorOf: a run's colour (`format.colorFor` by default)
 */

/**
 * @param {ScatterOptions} opts
 * @returns {{el: HTMLElement, update: (rows: Row[]) => void, state: () => ScatterState}}
 */
export function scatterPanel(opts) {
  let rows = opts.rows;
  const colorOf = opts.colorOf || colorFor;
  const fields = () => fieldsOf(rows).map((f) => f.key);
  const first = fields();
  /** @type {ScatterState} */
  const st = {
    x: opts.x || first.find((k) => k.startsWith('config.')) || first[0] || '',
    y: opts.y || first.find((k) => k.startsWith('summary.')) || first[1] || '',
    logX: !!opts.logX,
    logY: !!opts.logY,
  };
  const height = opts.height || 300;
  const canvas = /** @type {HTMLCanvasElement} */ (h('canvas', { class: 'an-canvas sc-canvas' }));
  const holder = h('div', { class: 'an-holder' }, canvas);
  const tip = tipBox(holder);
  const tools = h('div', { class: 'an-tools' });
  const status = h('span', { class: 'chart-status sc-status' });
  const el = h('div', { class: 'panel an-panel scatter', dataset: { panel: 'scatter' } },
    h('div', { class: 'panel-title' }, 'Scatter', status), tools, holder);
  /** @type {import('../lib/scatter.js').SLayout|null} */
  let layout = null;
  /** @type {string|null} */
  let hover = null;
  const changed = () => opts.onChange && opts.onChange({ ...st });

  function drawTools() {
    const have = fields();
    // The chosen fields stay offered where these runs lack them (a brush that keeps one run).
    const keys = [...new Set([...have, ...[st.x, st.y].filter(Boolean)])];
    const check = (/** @type {'logX'|'logY'} */ k, /** @type {string} */ text) => h('label', null,
      h('input', { type: 'checkbox', class: `sc-${k}`, checked: st[k], onchange: (/** @type {Event} */ e) => {
        st[k] = /** @type {HTMLInputElement} */ (e.target).checked;
        changed();
        draw();
      } }), text);
    tools.replaceChildren(
      h('label', null, 'x ', fieldSelect(keys, st.x, (k) => { st.x = k; changed(); draw(); }, fieldLabel, 'sc-x')),
      check('logX', ' log'),
      h('label', null, 'y ', fieldSelect(keys, st.y, (k) => { st.y = k; changed(); draw(); }, fieldLabel, 'sc-y')),
      check('logY', ' log'));
  }

  function draw() {
    const w = Math.max(300, holder.clientWidth || 480);
    const ctx = fitCanvas(canvas, w, height);
    layout = st.x && st.y ? layoutScatter(rows, st.x, st.y, { width: w, height, logX: st.logX, logY: st.logY }) : null;
    const n = layout ? layout.points.length : 0;
    status.textContent = `${n} of ${rows.length} runs`;
    canvas.dataset.points = String(n);
    if (!ctx) return;
    ctx.clearRect(0, 0, w, height);
    if (!layout) return;
    const b = layout.box;
    const muted = themeColor(el, '--muted', '#6b7280');
    const line = themeColor(el, '--line', '#e3e6eb');
    ctx.font = '11px sans-serif';
    ctx.lineWidth = 1;
    for (const t of ticks(layout.x, fmtValue)) {
      const x = b.left + t.at * (b.right - b.left);
      ctx.strokeStyle = line;
      ctx.beginPath();
      ctx.moveTo(x, b.top);
      ctx.lineTo(x, b.bottom);
      ctx.stroke();
      ctx.fillStyle = muted;
      ctx.textAlign = 'center';
      ctx.fillText(t.label.slice(0, 12), x, b.bottom + 14);
    }
    for (const t of ticks(layout.y, fmtValue)) {
      const y = b.bottom - t.at * (b.bottom - b.top);
      ctx.strokeStyle = line;
      ctx.beginPath();
      ctx.moveTo(b.left, y);
      ctx.lineTo(b.right, y);
      ctx.stroke();
      ctx.fillStyle = muted;
      ctx.textAlign = 'right';
      ctx.fillText(t.label.slice(0, 9), b.left - 4, y + 3);
    }
    ctx.textAlign = 'center';
    ctx.fillText(fieldLabel(st.x), (b.left + b.right) / 2, height - 4);
    for (const p of layout.points) {
      ctx.fillStyle = colorOf(p.id);
      ctx.globalAlpha = hover && hover !== p.id ? 0.35 : 0.9;
      ctx.beginPath();
      ctx.arc(p.px, p.py, hover === p.id ? 6 : 4, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  canvas.addEventListener('mousemove', (e) => {
    if (!layout) return;
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const p = nearestPoint(layout, x, y, 8);
    const id = p ? p.id : null;
    if (id !== hover) {
      hover = id;
      draw();
    }
    if (!p) return tip.show(null);
    tip.show(x, y, [runTitle(p.row, colorOf(p.id), 'sc-tip-run'),
      `${fieldLabel(st.x)}: ${fmtValue(p.row[st.x])}`, `${fieldLabel(st.y)}: ${fmtValue(p.row[st.y])}`]);
  });
  canvas.addEventListener('mouseleave', () => {
    hover = null;
    tip.show(null);
    draw();
  });
  canvas.addEventListener('click', () => {
    const row = hover && rows.find((r) => String(r.id) === hover);
    if (row && opts.onPick) opts.onPick(row);
  });

  drawTools();
  requestAnimationFrame(draw);
  return {
    el,
    update(next) {
      rows = next;
      drawTools();
      draw();
    },
    state: () => ({ ...st }),
  };
}
