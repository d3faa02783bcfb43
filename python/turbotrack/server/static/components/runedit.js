/**
 * Changing runs from the UI: a dialog that edits a run's name, tags and notes, and one that confirms
 * deleting runs (many at once), both through lib/writes.js (the session's CSRF token; the server
 * refuses what the session or key may not do, and the dialog shows its message).
 *
 * @module runedit
 */

import { h } from '../lib/dom.js';
import { parseTags } from '../lib/writes.js';

/**
 * @typedef {import('../lib/writes.js').Writer} Writer
 * @typedef {{id: string, name?: string, tags?: string[], notes?: string|null}} ApiRun
 */

/**
 * A modal <dialog> in `host`, removed when closed.
 * @param {HTMLElement} host
 * @param {string} cls
 * @param {...any} children
 */
function modal(host, cls, ...children) {
  const dlg = /** @type {HTMLDialogElement} */ (h('dialog', { class: `an-dialog ${cls}` }, ...children));
  dlg.addEventListener('close', () => dlg.remove());
  host.append(dlg);
  dlg.showModal();
  return dlg;
}

/**
 * Open the edit dialog of `run`.
 * @param {{entity: string, project: string, run: ApiRun, writer: Writer, host?: HTMLElement,
 *   onSaved?: (run: ApiRun) => void}} opts
 * @returns {HTMLDialogElement}
 */
export function editRunDialog(opts) {
  const { run } = opts;
  const name = /** @type {HTMLInputElement} */ (h('input', { type: 'text', class: 'ed-name', value: run.name || run.id, maxlength: 256 }));
  const tags = /** @type {HTMLInputElement} */ (h('input', { type: 'text', class: 'ed-tags', value: (run.tags || []).join(', '), placeholder: 'tag, tag' }));
  const notes = /** @type {HTMLTextAreaElement} */ (h('textarea', { class: 'ed-notes', rows: 4 }));
  notes.value = run.notes || '';
  const error = h('div', { class: 'error ed-error' });
  const save = h('button', { type: 'submit', class: 'ed-save' }, 'Save');
  const form = h('form', { method: 'dialog', class: 'ed-form' },
    h('h3', null, `Edit run ${run.id}`),
    h('label', null, 'Name', name), h('label', null, 'Tags (comma separated)', tags), h('label', null, 'Notes', notes),
    error, h('div', { class: 'ed-buttons' }, h('button', { type: 'button', class: 'ed-cancel', onclick: () => dlg.close() }, 'Cancel'), save));
  const dlg = modal(opts.host || document.body, 'ed-dialog', form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    save.setAttribute('disabled', '');
    try {
      const saved = await opts.writer.editRun(opts.entity, opts.project, run.id,
        { name: name.value, tags: parseTags(tags.value), notes: notes.value || null });
      dlg.close();
      if (opts.onSaved) opts.onSaved(saved);
    } catch (err) {
      error.textContent = /** @type {Error} */ (err).message;
    } finally {
      save.removeAttribute('disabled');
    }
  });
  name.focus();
  return dlg;
}

/**
 * Ask before deleting `runs`; on yes, delete them all (the server moves them to its trash).
 * @param {{entity: string, project: string, runs: ApiRun[], writer: Writer, host?: HTMLElement,
 *   onDeleted?: (ids: string[]) => void}} opts
 * @returns {HTMLDialogElement}
 */
export function confirmDelete(opts) {
  const ids = opts.runs.map((r) => r.id);
  const error = h('div', { class: 'error del-error' });
  const yes = h('button', { type: 'button', class: 'del-yes danger' }, `Delete ${ids.length} run${ids.length === 1 ? '' : 's'}`);
  const dlg = modal(opts.host || document.body, 'del-dialog',
    h('h3', null, `Delete ${ids.length} run${ids.length === 1 ? '' : 's'}?`),
    h('ul', { class: 'del-list' }, opts.runs.slice(0, 20).map((r) => h('li', null, r.name || r.id))),
    ids.length > 20 ? h('div', { class: 'count' }, `and ${ids.length - 20} more`) : null,
    h('p', { class: 'count' }, 'Their folders go to the server\u2019s trash (ROOT/.trash), out of every list.'),
    error, h('div', { class: 'ed-buttons' }, h('button', { type: 'button', class: 'del-no', onclick: () => dlg.close() }, 'Cancel'), yes));
  yes.addEventListener('click', async () => {
    yes.setAttribute('disabled', '');
    try {
      const out = await opts.writer.deleteRuns(opts.entity, opts.project, ids);
      dlg.close();
      if (opts.onDeleted) opts.onDeleted(out.deleted || ids);
    } catch (err) {
      error.textContent = /** @type {Error} */ (err).message;
      yes.removeAttribute('disabled');
    }
  });
  return dlg;
}
