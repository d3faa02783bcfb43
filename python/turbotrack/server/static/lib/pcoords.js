/**
 * Parallel coordinates, as data: one vertical axis per field (numbers spanning two decades or more,
 * all positive, on a log scale), one polyline per run through its value on each axis; and which line the pointer is nearest to. The component (components/pcoords.js) only
 * draws this on a canvas.
 *
 * @module pcoords
 */

import { axisOf, position } from './fields.js';

/**
 * @typedef {import('./fields.js').Axis} Axis
 * @typedef {import('./fields.js').Row} Row
 * @typedef {{axis: Axis, x: number}} PAxis
 * @typedef {{id: string, row: Row, points: ([number, number]|null)[]}} PLine  null: no value on that axis
 * @typedef {{axes: PAxis[], lines: PLine[], top: number, bottom: number}} PLayout
 */

/**
 * @param {Row[]} rows
 * @param {string[]} keys the fields, left to right
 * @param {{width: number, height: number, pad?: number, top?: number, bottom?: number}} box
 * @returns {PLayout}
 */
export function layoutParallel(rows, keys, box) {
  const pad = box.pad ?? 40;
  const top = box.top ?? 24;
  const bottom = box.height - (box.bottom ?? 24);
  const span = Math.max(1, keys.length - 1);
  const axes = keys.map((key, i) => ({
    axis: axisOf(rows, key, { log: 'auto' }), // a sweep over decades on a log axis
    x: keys.length === 1 ? box.width / 2 : pad + ((box.width - 2 * pad) * i) / span,
  }));
  const lines = rows.map((row) => ({
    id: String(row.id),
    row,
    points: axes.map((a) => {
      const p = position(a.axis, row[a.axis.key]);
      return p === null ? null : /** @type {[number, number]} */ ([a.x, bottom - p * (bottom - top)]);
    }),
  }));
  return { axes, lines, top, bottom };
}

/**
 * Distance from (px, py) to the segment a-b.
 * @param {number} px
 * @param {number} py
 * @param {[number, number]} a
 * @param {[number, number]} b
 */
export function segmentDistance(px, py, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = dx * dx + dy * dy;
  const t = len ? Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len)) : 0;
  return Math.hypot(px - (a[0] + t * dx), py - (a[1] + t * dy));
}

/**
 * The line nearest to (px, py) within `maxDist` pixels (segments between consecutive points that
 * both have a value), or null.
 * @param {PLayout} layout
 * @param {number} px
 * @param {number} py
 * @param {number} [maxDist]
 * @returns {PLine|null}
 */
export function nearestLine(layout, px, py, maxDist = 6) {
  let best = null;
  let bestD = maxDist;
  for (const line of layout.lines) {
    for (let i = 1; i < line.points.length; i++) {
      const a = line.points[i - 1];
      const b = line.points[i];
      if (!a || !b) continue;
      const d = segmentDistance(px, py, a, b);
      if (d <= bestD) {
        bestD = d;
        best = line;
      }
    }
  }
  return best;
}

/**
 * @typedef {Record<string, [number, number]>} Brushes  axis key → the kept range, as fractions of
 *   the axis (0 its bottom, 1 its top), in either order
 */

/**
 * The axis whose line is within `tol` pixels of x, or null.
 * @param {PLayout} layout
 * @param {number} px
 * @param {number} [tol]
 * @returns {PAxis|null}
 */
export function axisNear(layout, px, tol = 10) {
  let best = null;
  let bestD = tol;
  for (const a of layout.axes) {
    const d = Math.abs(a.x - px);
    if (d <= bestD) {
      bestD = d;
      best = a;
    }
  }
  return best;
}

/**
 * Where a y pixel falls on the axes, 0 (bottom) to 1 (top), clamped.
 * @param {PLayout} layout
 * @param {number} py
 */
export function fractionAt(layout, py) {
  return Math.max(0, Math.min(1, (layout.bottom - py) / (layout.bottom - layout.top || 1)));
}

/**
 * Whether a line passes every brush: on each brushed axis (of those laid out) it has a value inside
 * the kept range. Brushes of axes not shown are ignored.
 * @param {PLayout} layout
 * @param {PLine} line
 * @param {Brushes} brushes
 */
export function passes(layout, line, brushes) {
  for (let i = 0; i < layout.axes.length; i++) {
    const range = brushes[layout.axes[i].axis.key];
    if (!range) continue;
    const p = line.points[i];
    if (!p) return false;
    const f = fractionAt(layout, p[1]);
    const lo = Math.min(range[0], range[1]);
    const hi = Math.max(range[0], range[1]);
    if (f < lo - 1e-9 || f > hi + 1e-9) return false;
  }
  return true;
}
