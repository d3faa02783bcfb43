/**
 * The parallel-coordinates panel: one axis per chosen field (config or summary, numeric or
 * categorical), one line per run in its colour (or shaded by a chosen numeric field), drawn on a
 * canvas; hovering a line highlights it and names the run and its values, clicking it calls `onPick`.
 * Dragging along an axis brushes a range on it: runs outside any brushed range fade (and `onBrush`
 * gets the ids kept); a click on an axis clears its brush. The layout, hit test and brushes are
 * lib/pcoords.js.
 *
 * @module pcoords-panel
 */

import { h, replace } from '../lib/dom.js';
import { fieldLabel, fieldsOf, numeric, axisOf, position, ticks } from '../lib/fields.js';
import { colorFor, fmtValue } from '../lib/format.js';
import { axisNear, fractionAt, layoutParallel, nearestLine, passes } from '../lib/pcoords.js';
import { fitCanvas, runTitle, themeColor, tipBox, fieldSelect } from './canvas.js';

/**
 * @typedef {import('../lib/fields.js').Row} Row
 * @typedef {import('../lib/pcoords.js').Brushes} Brushes
 * @typedef {{keys: string[], colorBy: string, brushes: Brushes}} PcoordsState
 * @typedef {{rows: Row[], keys?: string[], colorBy?: string, brushes?: Brushes, height?: number,
 *   colorOf?: (id: string) => string, onPick?: (row: Row) => void, onChange?: (state: PcoordsState) => void,
 *   onBrush?: (ids: string[]) => void}} PcoordsOptions  colorOf: a run's colour (`format.colorFor` by default)
 */

/** The fields shown at first: up to 6 config fields, then the first summary one. */
export function defaultKeys(/** @type {Row[]} */ rows) {
  const fields = fieldsOf(rows);
  const cfg = fields.filter((f) => f.key.startsWith('config.')).slice(0, 6).map((f) => f.key);
  const sum = fields.filter((f) => f.key.startsWith('summary.') && f.kind === 'number').slice(0, 1).map((f) => f.key);
  return [...cfg, ...sum];
}

/**
 * A colour from blue (0) to red (1).
 * @param {number} t
 */
export function ramp(t) {
  const c = Math.max(0, Math.min(1, t));
  return `hsl(${Math.round(220 - 220 * c)}, 75%, 48%)`;
}

/**
 * @param {PcoordsOptions} opts
 * @returns {{el: HTMLElement, update: (rows: Row[]) => void, state: () => PcoordsState}}
 */
export function parallelCoordsPanel(opts) {
  let rows = opts.rows;
  const colorOf = opts.colorOf || colorFor;
  let keys = opts.keys && opts.keys.length ? opts.keys : defaultKeys(rows);
  let colorBy = opts.colorBy || '';
  /** @type {Brushes} */
  let brushes = { ...(opts.brushes || {}) };
  /** @type {{key: string, from: number, moved: boolean}|null} */
  let dragging = null;
  let justBrushed = false;
  const height = opts.height || 320;
  const canvas = /** @type {HTMLCanvasElement} */ (h('canvas', { class: 'an-canvas pc-canvas' }));
  const holder = h('div', { class: 'an-holder' }, canvas);
  const tip = tipBox(holder);
  const chooser = h('div', { class: 'menu-body pc-fields' });
  const menu = h('details', { class: 'menu pc-menu' }, h('summary', null, 'Axes'), chooser);
  const colorHolder = h('span', null);
  const status = h('span', { class: 'chart-status pc-status' });
  const el = h('div', { class: 'panel an-panel pcoords', dataset: { panel: 'pcoords' } },
    h('div', { class: 'panel-title' }, 'Parallel coordinates', status),
    h('div', { class: 'an-tools' }, menu, h('label', null, 'colour ', colorHolder)), holder);
  /** @type {import('../lib/pcoords.js').PLayout|null} */
  let layout = null;
  /** @type {string|null} */
  let hover = null;

  const changed = () => opts.onChange && opts.onChange({ keys: [...keys], colorBy, brushes: { ...brushes } });

  function tools() {
    const fields = fieldsOf(rows);
    replace(chooser, fields.map((f) => h('label', { class: 'pc-field' },
      h('input', {
        type: 'checkbox', value: f.key, checked: keys.includes(f.key),
        onchange: (/** @type {Event} */ e) => {
          const on = /** @type {HTMLInputElement} */ (e.target).checked;
          keys = on ? [...keys, f.key] : keys.filter((k) => k !== f.key);
          changed();
          draw();
        },
      }), ` ${fieldLabel(f.key)}`)));
    const nums = fields.filter((f) => f.kind === 'number').map((f) => f.key);
    replace(colorHolder, fieldSelect(['', ...nums], colorBy, (k) => {
      colorBy = k;
      changed();
      draw();
    }, (k) => (k ? fieldLabel(k) : 'run colour'), 'pc-color'));
  }

  function lineColor(/** @type {Row} */ row, /** @type {import('../lib/fields.js').Axis|null} */ shade) {
    if (!shade) return colorOf(String(row.id));
    const p = position(shade, row[shade.key]);
    return p === null ? '#999' : ramp(p);
  }

  /** The numeric field the lines are shaded by, as an axis; null: each run in its colour. */
  const shadeAxis = () => (colorBy && rows.some((r) => numeric(r[colorBy]) !== null) ? axisOf(rows, colorBy) : null);

  function draw() {
    const w = Math.max(320, holder.clientWidth || 640);
    const ctx = fitCanvas(canvas, w, height);
    const present = keys.filter((k) => rows.some((r) => r[k] !== undefined && r[k] !== null));
    status.textContent = `${rows.length} runs · ${present.length} axes`;
    canvas.dataset.axes = String(present.length);
    canvas.dataset.lines = String(rows.length);
    if (!ctx) return;
    ctx.clearRect(0, 0, w, height);
    const fg = themeColor(el, '--fg', '#1d2330');
    const muted = themeColor(el, '--muted', '#6b7280');
    if (present.length < 2) {
      ctx.fillStyle = muted;
      ctx.font = '13px sans-serif';
      ctx.fillText('Choose at least two axes (config or summary fields).', 16, 40);
      layout = null;
      return;
    }
    layout = layoutParallel(rows, present, { width: w, height, pad: 60, top: 30, bottom: 30 });
    const shade = shadeAxis();
    const drawLine = (/** @type {import('../lib/pcoords.js').PLine} */ line, /** @type {number} */ width, /** @type {number} */ alpha) => {
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = lineColor(line.row, shade);
      ctx.lineWidth = width;
      ctx.beginPath();
      let pen = false;
      for (const p of line.points) {
        if (!p) {
          pen = false;
          continue;
        }
        if (pen) ctx.lineTo(p[0], p[1]);
        else ctx.moveTo(p[0], p[1]);
        pen = true;
      }
      ctx.stroke();
    };
    const L = layout;
    const kept = L.lines.filter((l) => passes(L, l, brushes));
    const keptIds = new Set(kept.map((l) => l.id));
    const brushed = Object.keys(brushes).some((k) => present.includes(k));
    status.textContent = brushed ? `${kept.length} of ${rows.length} runs in the brushed ranges · ${present.length} axes` : status.textContent;
    canvas.dataset.kept = String(kept.length);
    for (const line of L.lines) if (!keptIds.has(line.id)) drawLine(line, 1, 0.08);
    for (const line of kept) if (line.id !== hover) drawLine(line, 1.4, hover ? 0.25 : 0.8);
    const hl = hover ? layout.lines.find((l) => l.id === hover) : null;
    if (hl) drawLine(hl, 3, 1);
    ctx.globalAlpha = 1;
    ctx.font = '11px sans-serif';
    for (const a of layout.axes) {
      const range = brushes[a.axis.key];
      if (range) {
        const y0 = layout.bottom - Math.max(range[0], range[1]) * (layout.bottom - layout.top);
        const y1 = layout.bottom - Math.min(range[0], range[1]) * (layout.bottom - layout.top);
        ctx.fillStyle = themeColor(el, '--accent', '#2563eb');
        ctx.globalAlpha = 0.18;
        ctx.fillRect(a.x - 8, y0, 16, Math.max(1, y1 - y0));
        ctx.globalAlpha = 1;
      }
      ctx.strokeStyle = muted;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(a.x, layout.top);
      ctx.lineTo(a.x, layout.bottom);
      ctx.stroke();
      ctx.fillStyle = fg;
      ctx.textAlign = 'center';
      ctx.fillText(fieldLabel(a.axis.key).slice(-24), a.x, layout.top - 12);
      ctx.fillStyle = muted;
      ctx.textAlign = 'left';
      for (const t of ticks(a.axis, fmtValue)) {
        const y = layout.bottom - t.at * (layout.bottom - layout.top);
        ctx.fillText(t.label.slice(0, 12), a.x + 4, y + 3);
      }
    }
  }

  /** @param {MouseEvent} e */
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const keptIds = () => {
    const L = layout;
    return L ? L.lines.filter((l) => passes(L, l, brushes)).map((l) => l.id) : rows.map((r) => String(r.id));
  };
  canvas.addEventListener('mousedown', (e) => {
    if (!layout) return;
    const [x, y] = at(e);
    const axis = axisNear(layout, x, 10);
    if (!axis) return;
    e.preventDefault();
    dragging = { key: axis.axis.key, from: fractionAt(layout, y), moved: false };
  });
  canvas.addEventListener('mousemove', (e) => {
    if (!layout) return;
    const [x, y] = at(e);
    if (dragging) {
      const f = fractionAt(layout, y);
      if (Math.abs(f - dragging.from) * (layout.bottom - layout.top) >= 3) dragging.moved = true;
      if (dragging.moved) brushes = { ...brushes, [dragging.key]: [dragging.from, f] };
      tip.show(null);
      draw();
      return;
    }
    const line = nearestLine(layout, x, y, 6);
    const id = line ? line.id : null;
    if (id !== hover) {
      hover = id;
      draw();
    }
    if (!line) return tip.show(null);
    tip.show(x, y, [runTitle(line.row, lineColor(line.row, shadeAxis()), 'pc-tip-run'),
      ...layout.axes.map((a) => `${fieldLabel(a.axis.key)}: ${fmtValue(line.row[a.axis.key])}`)]);
  });
  /** @param {boolean} up */
  const endDrag = (up) => {
    if (!dragging) return;
    if (!dragging.moved) { // a click on an axis clears its brush
      const { [dragging.key]: _gone, ...rest } = brushes;
      brushes = rest;
    }
    dragging = null;
    justBrushed = up; // the click that follows this mouseup picks no run
    draw();
    changed();
    if (opts.onBrush) opts.onBrush(keptIds());
  };
  canvas.addEventListener('mouseup', () => endDrag(true));
  canvas.addEventListener('mouseleave', () => {
    endDrag(false);
    hover = null;
    tip.show(null);
    draw();
  });
  canvas.addEventListener('click', () => {
    if (justBrushed) {
      justBrushed = false;
      return;
    }
    const row = hover && rows.find((r) => String(r.id) === hover);
    if (row && opts.onPick) opts.onPick(row);
  });

  tools();
  requestAnimationFrame(() => {
    draw();
    if (Object.keys(brushes).length && opts.onBrush) opts.onBrush(keptIds()); // a saved view's brushes
  });
  return {
    el,
    update(next) {
      rows = next;
      tools();
      draw();
      if (Object.keys(brushes).length && opts.onBrush) opts.onBrush(keptIds()); // the brushes over the new rows
    },
    state: () => ({ keys: [...keys], colorBy, brushes: { ...brushes } }),
  };
}
