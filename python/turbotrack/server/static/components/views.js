/**
 * Saved named views of a project (the server keeps them: `/api/v1/views/<e>/<p>`): a menu to apply
 * one, save the current state under a name (replacing one of that name), or delete one. What a view
 * holds is the page's to define (`current()` gives it, `apply(view)` takes it back; an error `apply`
 * throws is said in the menu). Who may save is the server's to say (`GET /api/v1/session`'s
 * `writes`): a read-only key lists and applies views, and the menu says it cannot save or delete.
 *
 * @module views
 */

import { h, replace } from '../lib/dom.js';

/** What the menu says to whom may not save. */
export const READ_ONLY_NOTE = 'read-only: you can load views, not save or delete them';

/**
 * @param {{entity: string, project: string, writer: import('../lib/writes.js').Writer,
 *   current: () => any, apply: (view: any, name: string) => void}} opts
 * @returns {{el: HTMLElement, refresh: () => Promise<void>, ready: Promise<void>}}
 *   ready: settled once the list and who may save are known
 */
export function viewsMenu(opts) {
  const { entity, project, writer } = opts;
  const sel = /** @type {HTMLSelectElement} */ (h('select', { class: 'vw-select' }));
  const name = /** @type {HTMLInputElement} */ (h('input', { type: 'text', class: 'vw-name', placeholder: 'view name', maxlength: 100 }));
  const status = h('span', { class: 'count vw-status' });
  const say = (/** @type {string} */ text, bad = false) => {
    status.textContent = text;
    status.classList.toggle('error', bad);
  };
  const refresh = async () => {
    try {
      const { views } = await writer.listViews(entity, project);
      replace(sel, h('option', { value: '' }, views.length ? 'saved views…' : 'no saved views'),
        views.map((/** @type {{name: string}} */ v) => h('option', { value: v.name }, v.name)));
    } catch (err) {
      say(/** @type {Error} */ (err).message, true);
    }
  };
  sel.addEventListener('change', async () => {
    if (!sel.value) return;
    try {
      const got = await writer.getView(entity, project, sel.value);
      opts.apply(got.view, got.name);
      name.value = got.name;
      say(`view \u201c${got.name}\u201d applied`);
    } catch (err) {
      say(/** @type {Error} */ (err).message, true);
    }
  });
  const save = h('button', { type: 'button', class: 'vw-save', onclick: async () => {
    const n = name.value.trim();
    if (!n) return say('name the view first', true);
    try {
      await writer.saveView(entity, project, n, opts.current());
      say(`saved \u201c${n}\u201d`);
      await refresh();
      sel.value = n;
    } catch (err) {
      say(/** @type {Error} */ (err).message, true);
    }
  } }, 'Save view');
  const del = h('button', { type: 'button', class: 'vw-delete', onclick: async () => {
    if (!sel.value) return say('choose a saved view to delete', true);
    const n = sel.value;
    try {
      await writer.deleteView(entity, project, n);
      say(`deleted \u201c${n}\u201d`);
      await refresh();
    } catch (err) {
      say(/** @type {Error} */ (err).message, true);
    }
  } }, 'Delete');
  const el = h('div', { class: 'an-views' }, sel, name, save, del, status);
  // Whether this key may write: if not, saving and deleting are off, and the menu says why (a
  // write tried anyway is refused by the server, its message said).
  const rights = writer.who().then((who) => {
    if (who.writes) return;
    for (const b of [save, del, name]) /** @type {HTMLButtonElement|HTMLInputElement} */ (b).disabled = true;
    el.dataset.readOnly = 'true';
    say(READ_ONLY_NOTE);
  }, (err) => say(/** @type {Error} */ (err).message, true));
  const ready = Promise.all([refresh(), rights]).then(() => {
    el.dataset.ready = 'true';
  });
  return { el, refresh, ready };
}
