/**
 * A tiny DOM helper: `h('a', {href, class: 'x', onclick}, child, ...)` builds elements; strings
 * become text nodes (never HTML), null/false children are skipped.
 *
 * @module dom
 */

/**
 * @param {string} tag
 * @param {Record<string, any>|null} [attrs] `class`, `style` (string), `dataset` (object),
 *   `on<event>` handlers, boolean or string attributes; `html` sets trusted, already-escaped HTML
 * @param {...any} children
 * @returns {any} the element (any: an input, a canvas or a details element, as `tag` says)
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'html') el.innerHTML = v;
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Remove every child of `el` and append `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
