/**
 * What the canvas panels share: a canvas sized for the screen's pixel ratio, the page's theme
 * colours (CSS variables, so dark mode follows), a hover tip, and a run's label.
 *
 * @module canvas
 */

import { h } from '../lib/dom.js';

/**
 * Size `canvas` to w x h CSS pixels (sharp on a high-DPI screen); its 2D context in CSS pixels.
 * @param {HTMLCanvasElement} canvas
 * @param {number} w
 * @param {number} hgt
 * @returns {CanvasRenderingContext2D|null}
 */
export function fitCanvas(canvas, w, hgt) {
  const dpr = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hgt * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${hgt}px`;
  const ctx = canvas.getContext('2d');
  if (ctx) ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/**
 * A CSS variable of `el`'s page (`--fg`, `--muted`, `--line`), or `fallback`.
 * @param {Element} el
 * @param {string} name
 * @param {string} fallback
 */
export function themeColor(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

/** A run's display name. */
export function runLabel(/** @type {Record<string, any>} */ row) {
  return String(row.name || row.id);
}

/**
 * A tip's first line: a swatch in the run's colour, then its name in bold (class `cls`).
 * @param {Record<string, any>} row
 * @param {string} color
 * @param {string} cls
 */
export function runTitle(row, color, cls) {
  return h('span', null, h('span', { class: 'swatch tip-swatch', style: `background:${color}` }), ' ', h('b', { class: cls }, runLabel(row)));
}

/**
 * A tip box inside `holder` (position: relative), shown at (x, y) with `lines`, or hidden (null).
 * @param {HTMLElement} holder
 */
export function tipBox(holder) {
  const tip = h('div', { class: 'an-tip', hidden: true });
  holder.append(tip);
  return {
    el: tip,
    /**
     * @param {number|null} x
     * @param {number} [y]
     * @param {(string|Node)[]} [lines]
     */
    show(x, y = 0, lines = []) {
      if (x === null) {
        tip.hidden = true;
        return;
      }
      tip.replaceChildren(...lines.map((l) => h('div', null, l)));
      tip.hidden = false;
      const w = holder.clientWidth;
      tip.style.left = `${Math.min(Math.max(0, x + 12), Math.max(0, w - 220))}px`;
      tip.style.top = `${y + 12}px`;
    },
  };
}

/**
 * A <select> of field keys.
 * @param {string[]} keys
 * @param {string} value
 * @param {(key: string) => void} onChange
 * @param {(key: string) => string} label
 * @param {string} cls
 */
export function fieldSelect(keys, value, onChange, label, cls) {
  const sel = /** @type {HTMLSelectElement} */ (h('select', { class: cls, onchange: () => onChange(sel.value) },
    keys.map((k) => h('option', { value: k, selected: k === value }, label(k)))));
  return sel;
}
