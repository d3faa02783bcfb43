/**
 * Keyboard shortcuts: a table of bindings, which one a key press means (never while typing in a
 * field), and the list the `?` overlay shows.
 *
 * @module shortcuts
 */

/**
 * @typedef {{key: string, description: string, run: (e: KeyboardEvent) => void, section?: string}} Binding
 *   key: what `KeyboardEvent.key` reads (`?`, `Escape`, `c`), with `Ctrl+` / `Alt+` / `Meta+` prefixes
 * @typedef {{key: string, description: string, section?: string}} Note
 *   a key the element focused handles itself (a panel's title bar: `Alt+←/→`): listed, never matched;
 *   key: the list's words for it
 */

/**
 * The binding's name of a key press: `Ctrl+k`, `?`, `Escape` (Shift is in the key itself).
 * @param {{key: string, ctrlKey?: boolean, altKey?: boolean, metaKey?: boolean}} e
 * @returns {string}
 */
export function keyName(e) {
  return `${e.ctrlKey ? 'Ctrl+' : ''}${e.altKey ? 'Alt+' : ''}${e.metaKey ? 'Meta+' : ''}${e.key}`;
}

/**
 * Whether a key press goes to a text field (then no shortcut fires, but Escape).
 * @param {any} target an event's target
 * @returns {boolean}
 */
export function isTyping(target) {
  if (!target || typeof target !== 'object') return false;
  const tag = String(target.tagName || '').toUpperCase();
  if (target.isContentEditable) return true;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = String(target.type || 'text').toLowerCase();
  return !['checkbox', 'radio', 'range', 'button', 'submit', 'reset', 'color'].includes(type);
}

export class Shortcuts {
  constructor() {
    /** @type {Binding[]} */
    this.bindings = [];
    /** @type {Note[]} */
    this.notes = [];
  }

  /**
   * List a key that the element focused handles (a later note of the same key replaces the earlier);
   * `match` never returns it.
   * @param {Note} n
   */
  note(n) {
    this.notes = this.notes.filter((x) => x.key !== n.key).concat([n]);
    return this;
  }

  /**
   * Add a binding (a later one for the same key replaces the earlier).
   * @param {Binding} b
   */
  add(b) {
    this.bindings = this.bindings.filter((x) => x.key !== b.key).concat([b]);
    return this;
  }

  /**
   * The binding a key press means, or null.
   * @param {{key: string, ctrlKey?: boolean, altKey?: boolean, metaKey?: boolean, target?: any}} e
   * @returns {Binding|null}
   */
  match(e) {
    if (e.key !== 'Escape' && isTyping(e.target)) return null;
    const name = keyName(e);
    return this.bindings.find((b) => b.key === name) || null;
  }

  /**
   * The bindings by section, then the notes, for the help overlay.
   * @returns {{section: string, items: {key: string, description: string}[]}[]}
   */
  sections() {
    /** @type {Map<string, {key: string, description: string}[]>} */
    const by = new Map();
    for (const b of [...this.bindings, ...this.notes]) {
      const s = b.section || 'General';
      if (!by.has(s)) by.set(s, []);
      by.get(s)?.push({ key: b.key, description: b.description });
    }
    return [...by].map(([section, items]) => ({ section, items }));
  }
}
