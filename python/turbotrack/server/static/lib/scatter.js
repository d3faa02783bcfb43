/**
 * A scatter plot, as data: each run a point at (field x, field y), either axis numeric (linear or
 * log) or categorical; and which point the pointer is over.
 *
 * @module scatter
 */

import { axisOf, position } from './fields.js';

/**
 * @typedef {import('./fields.js').Axis} Axis
 * @typedef {import('./fields.js').Row} Row
 * @typedef {{id: string, row: Row, px: number, py: number}} SPoint
 * @typedef {{x: Axis, y: Axis, points: SPoint[], box: {left: number, right: number, top: number, bottom: number}}} SLayout
 */

/**
 * @param {Row[]} rows
 * @param {string} xKey
 * @param {string} yKey
 * @param {{width: number, height: number, logX?: boolean, logY?: boolean, left?: number, bottom?: number}} box
 * @returns {SLayout}
 */
export function layoutScatter(rows, xKey, yKey, box) {
  const x = axisOf(rows, xKey, { log: box.logX });
  const y = axisOf(rows, yKey, { log: box.logY });
  const b = { left: box.left ?? 56, right: box.width - 12, top: 12, bottom: box.height - (box.bottom ?? 36) };
  /** @type {SPoint[]} */
  const points = [];
  for (const row of rows) {
    const fx = position(x, row[xKey]);
    const fy = position(y, row[yKey]);
    if (fx === null || fy === null) continue;
    points.push({ id: String(row.id), row, px: b.left + fx * (b.right - b.left), py: b.bottom - fy * (b.bottom - b.top) });
  }
  return { x, y, points, box: b };
}

/**
 * The point nearest (px, py) within `maxDist` pixels, or null.
 * @param {SLayout} layout
 * @param {number} px
 * @param {number} py
 * @param {number} [maxDist]
 * @returns {SPoint|null}
 */
export function nearestPoint(layout, px, py, maxDist = 8) {
  let best = null;
  let bestD = maxDist;
  for (const p of layout.points) {
    const d = Math.hypot(p.px - px, p.py - py);
    if (d <= bestD) {
      bestD = d;
      best = p;
    }
  }
  return best;
}
