/**
 * Keyboard shortcuts: which key does what, listed by `?`. Pure: `shortcutFor(event)` names the
 * action of a keydown (none while typing in a field, or with Ctrl/Alt/Meta held), the pages act.
 *
 * @module keys
 */

/** [key, what it does, where] in the order `?` lists them. */
export const SHORTCUTS = [
  ['?', 'show or hide this list', 'every page'],
  ['Esc', 'close this list; leave a field', 'every page'],
  ['/', 'filter the runs', 'workspace'],
  ['l', 'log scale on or off', 'workspace'],
  ['e', 'expand or collapse the runs table', 'workspace'],
  ['g', 'group by: next choice', 'workspace'],
  ['c', 'download the runs table as CSV', 'workspace'],
];

/**
 * @param {{key: string, ctrlKey?: boolean, altKey?: boolean, metaKey?: boolean, target?: any}} ev
 * @returns {string|null} the key of SHORTCUTS it means, or null
 */
export function shortcutFor(ev) {
  if (ev.ctrlKey || ev.altKey || ev.metaKey) return null;
  const t = ev.target;
  const typing = t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
  if (ev.key === 'Escape') return 'Esc';
  if (typing) return null;
  return SHORTCUTS.some(([k]) => k === ev.key) ? ev.key : null;
}
