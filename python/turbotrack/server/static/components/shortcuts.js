/**
 * Keyboard shortcuts for a page (lib/shortcuts.js) and their help: `?` opens an overlay listing
 * every binding by section, `Escape` closes it and leaves the field being typed in. Key presses in a
 * text field are left alone. The one implementation for every page: the app (app.js) installs it
 * once per page shown and the page adds its bindings; the analysis page installs its own.
 *
 * @module shortcuts-overlay
 */

import { h, replace } from '../lib/dom.js';
import { Shortcuts } from '../lib/shortcuts.js';

/**
 * Listen for `shortcuts` on `root` (document by default), with `?` and `Escape` added.
 * @param {Shortcuts} shortcuts
 * @param {{root?: Document|HTMLElement, host?: HTMLElement}} [opts] host: where the overlay goes (body)
 * @returns {{overlay: HTMLElement, open: () => void, close: () => void, dispose: () => void}}
 */
export function installShortcuts(shortcuts, opts = {}) {
  const root = opts.root || document;
  const host = opts.host || document.body;
  const list = h('div', { class: 'sc-list' });
  const overlay = h('div', { class: 'kbd-overlay', hidden: true, role: 'dialog', 'aria-label': 'Keyboard shortcuts' },
    h('div', { class: 'kbd-box' }, h('div', { class: 'panel-title' }, 'Keyboard shortcuts',
      h('button', { class: 'kbd-close', type: 'button', onclick: () => close() }, '×')), list));
  overlay.addEventListener('click', (e) => {
    if (e.target === overlay) close();
  });
  host.append(overlay);
  const open = () => {
    replace(list, shortcuts.sections().map((s) => h('div', { class: 'kbd-section' }, h('h3', null, s.section),
      h('table', { class: 'kbd-table' }, h('tbody', null, s.items.map((i) => h('tr', null,
        h('td', null, h('kbd', null, i.key)), h('td', null, i.description))))))));
    overlay.hidden = false;
  };
  const close = () => {
    overlay.hidden = true;
  };
  shortcuts.add({ key: '?', description: 'show this help', run: () => (overlay.hidden ? open() : close()) });
  shortcuts.add({ key: 'Escape', description: 'close this help; leave a field', run: () => {
    close();
    const el = document.activeElement;
    if (el instanceof HTMLElement && el !== document.body) el.blur();
  } });
  /** @param {Event} ev */
  const onKey = (ev) => {
    const e = /** @type {KeyboardEvent} */ (ev);
    const b = shortcuts.match(e);
    if (!b) return;
    e.preventDefault();
    b.run(e);
  };
  root.addEventListener('keydown', onKey);
  return { overlay, open, close, dispose: () => {
    root.removeEventListener('keydown', onKey);
    overlay.remove();
  } };
}
