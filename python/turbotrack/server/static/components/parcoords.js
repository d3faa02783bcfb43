/**
 * A parallel-coordinates panel in SVG: one vertical axis per column (numbers from their lowest to
 * their highest, text values spaced evenly), each run a line through its values in its colour; a
 * run without a value on an axis has a gap there. Positions come from `lib/params.js`.
 *
 * @module parcoords
 */

import { columnLabel } from '../lib/columns.js';
import { fmtValue } from '../lib/format.js';
import { position } from '../lib/params.js';

const NS = 'http://www.w3.org/2000/svg';

/** @param {string} tag @param {Record<string, any>} attrs @param {string} [text] */
function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * @param {import('../lib/params.js').Axis[]} axes
 * @param {Record<string, any>[]} rows
 * @param {(id: string) => string} colorOf
 * @param {{width?: number, height?: number}} [size]
 * @returns {SVGSVGElement}
 */
export function parallelCoordinates(axes, rows, colorOf, size = {}) {
  const width = size.width || 900;
  const height = size.height || 260;
  const top = 28;
  const bottom = height - 22;
  const left = 60;
  const right = width - 60;
  const svg = /** @type {SVGSVGElement} */ (el('svg', { class: 'parcoords', viewBox: `0 0 ${width} ${height}`, width: '100%', height }));
  const xAt = (i) => (axes.length === 1 ? (left + right) / 2 : left + (i * (right - left)) / (axes.length - 1));
  const yAt = (p) => bottom - p * (bottom - top);
  const lines = el('g', { class: 'pc-lines' });
  for (const row of rows) {
    let d = '';
    let pen = false;
    axes.forEach((axis, i) => {
      const p = position(axis, row[axis.col]);
      if (p === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xAt(i).toFixed(1)},${yAt(p).toFixed(1)}`;
      pen = true;
    });
    if (d) lines.append(el('path', { d, stroke: colorOf(row.id), 'data-run': row.id, fill: 'none', 'stroke-width': 1.2, 'stroke-opacity': 0.7 }));
  }
  svg.append(lines);
  axes.forEach((axis, i) => {
    const g = el('g', { class: 'pc-axis', 'data-col': axis.col });
    const x = xAt(i);
    g.append(el('line', { x1: x, x2: x, y1: top, y2: bottom }));
    g.append(el('text', { x, y: 14, 'text-anchor': 'middle', class: 'pc-title' }, columnLabel(axis.col)));
    const ticks = axis.kind === 'num'
      ? [[axis.max, 1], [axis.min, 0]].filter((t, j, all) => j === 0 || t[0] !== all[0][0])
      : axis.cats.map((c, j) => [c, axis.cats.length === 1 ? 0.5 : j / (axis.cats.length - 1)]);
    for (const [v, p] of ticks) {
      g.append(el('text', { x: x - 6, y: yAt(/** @type {number} */ (p)) + 4, 'text-anchor': 'end', class: 'pc-tick' }, typeof v === 'number' ? fmtValue(v) : String(v)));
    }
    svg.append(g);
  });
  return svg;
}

/**
 * A scatter panel in SVG: each run a dot at (its value of one column, its value of another), in its
 * colour; runs without both are left out. Axes as `parallelCoordinates` makes them.
 * @param {import('../lib/params.js').Axis} xAxis
 * @param {import('../lib/params.js').Axis} yAxis
 * @param {Record<string, any>[]} rows
 * @param {(id: string) => string} colorOf
 * @param {{width?: number, height?: number}} [size]
 * @returns {SVGSVGElement}
 */
export function scatterPlot(xAxis, yAxis, rows, colorOf, size = {}) {
  const width = size.width || 420;
  const height = size.height || 300;
  const left = 64;
  const right = width - 16;
  const top = 12;
  const bottom = height - 40;
  const svg = /** @type {SVGSVGElement} */ (el('svg', { class: 'scatter', viewBox: `0 0 ${width} ${height}`, width, height }));
  const frame = el('g', { class: 'pc-axis' });
  frame.append(el('line', { x1: left, x2: right, y1: bottom, y2: bottom }), el('line', { x1: left, x2: left, y1: top, y2: bottom }));
  const label = (axis, v) => (typeof v === 'number' ? fmtValue(v) : String(v));
  const ends = (axis) => (axis.kind === 'num' ? [axis.min, axis.max] : [axis.cats[0], axis.cats[axis.cats.length - 1]]);
  const [x0, x1] = ends(xAxis);
  const [y0, y1] = ends(yAxis);
  frame.append(
    el('text', { x: left, y: bottom + 14, 'text-anchor': 'start', class: 'pc-tick' }, label(xAxis, x0)),
    el('text', { x: right, y: bottom + 14, 'text-anchor': 'end', class: 'pc-tick' }, label(xAxis, x1)),
    el('text', { x: left - 6, y: bottom, 'text-anchor': 'end', class: 'pc-tick' }, label(yAxis, y0)),
    el('text', { x: left - 6, y: top + 8, 'text-anchor': 'end', class: 'pc-tick' }, label(yAxis, y1)),
    el('text', { x: (left + right) / 2, y: height - 6, 'text-anchor': 'middle', class: 'pc-title' }, columnLabel(xAxis.col)),
    el('text', { x: 12, y: (top + bottom) / 2, 'text-anchor': 'middle', class: 'pc-title', transform: `rotate(-90 12 ${(top + bottom) / 2})` }, columnLabel(yAxis.col)));
  svg.append(frame);
  const dots = el('g', { class: 'dots' });
  for (const row of rows) {
    const px = position(xAxis, row[xAxis.col]);
    const py = position(yAxis, row[yAxis.col]);
    if (px === null || py === null) continue;
    const dot = el('circle', { cx: (left + px * (right - left)).toFixed(1), cy: (bottom - py * (bottom - top)).toFixed(1), r: 3.5, fill: colorOf(row.id), 'data-run': row.id });
    dot.append(el('title', {}, `${row.name}: ${label(xAxis, row[xAxis.col])}, ${label(yAxis, row[yAxis.col])}`));
    dots.append(dot);
  }
  svg.append(dots);
  return svg;
}
