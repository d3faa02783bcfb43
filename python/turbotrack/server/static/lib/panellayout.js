/**
 * The workspace's panel layout, as data (no DOM): the panels of each section of charts, their
 * order, sizes and own settings. Every metric key has a default panel (`key:<metric>`, one chart of
 * that metric) in the section of its prefix; a user adds panels of their own (`p<n>`, one or more
 * metrics overlaid), removes any (a removed default panel is remembered, so it stays away), moves
 * and resizes them. Each operation returns a new layout and leaves its input as it was.
 *
 * A panel's settings (x-axis, smoothing, log scale, runs) are unset by default: unset, it follows
 * the toolbar's (`panelView`).
 *
 * @module panellayout
 */

/**
 * @typedef {1|2|3} PanelWidth grid columns
 * @typedef {'s'|'m'|'l'} PanelHeight
 * @typedef {{id: string, keys: string[], w: PanelWidth, h: PanelHeight, xAxis?: string,
 *   smoothing?: number, log?: boolean, runs?: string, hidden?: string[]}} PanelSpec
 *   runs: a filter over run names (words, all of which a name contains); unset or '': the runs drawn;
 *   hidden: the ids of the lines hidden from its legend (a run's id, `<run id>\u0000<metric>` in a panel
 *   of several metrics, a group's line id); unset: every line shown
 * @typedef {{panels: PanelSpec[], removed: string[]}} SectionLayout removed: the metrics whose default panel was removed
 * @typedef {Record<string, SectionLayout>} Layout section id ('' the metrics without a prefix, 'system', or a prefix) → its panels
 * @typedef {{xAxis: string, smoothing: number, log: boolean}} Toolbar
 */

/** The heights of the sizes, in pixels of plot. */
export const HEIGHTS = { s: 140, m: 200, l: 320 };
export const WIDTHS = [1, 2, 3];

/** @param {string} key @returns {string} the id of a metric's default panel */
export function defaultId(key) {
  return `key:${key}`;
}

/** @param {string} key @returns {PanelSpec} */
function defaultPanel(key) {
  return { id: defaultId(key), keys: [key], w: 1, h: 'm' };
}

/**
 * Every section's default panels: one per metric, in the order given.
 * @param {Record<string, string[]>} sectionKeys section id → its metric keys
 * @returns {Layout}
 */
export function defaultLayout(sectionKeys) {
  /** @type {Layout} */
  const out = {};
  for (const [id, keys] of Object.entries(sectionKeys)) out[id] = { panels: keys.map(defaultPanel), removed: [] };
  return out;
}

/**
 * A stored layout fitted to the metrics there are now: a metric without its default panel (and not
 * removed) gets one at the end of its section; a panel none of whose metrics exists any more is
 * dropped, but only once the key list is final (`final`: every run loaded; until then a panel of a
 * metric only later runs have is kept, so a layout saved meanwhile does not lose it); a stored
 * setting of a bad type is forgotten. A section with no metrics known now (system metrics not
 * loaded yet) keeps its stored panels as they are.
 * @param {any} stored what was kept (anything: it is checked)
 * @param {Record<string, string[]>} sectionKeys section id → its metric keys now
 * @param {boolean} [final] whether `sectionKeys` are all the keys there will be (every run loaded)
 * @returns {Layout}
 */
export function mergeLayout(stored, sectionKeys, final = true) {
  /** @type {Layout} */
  const out = {};
  const all = new Set(Object.values(sectionKeys).flat());
  const src = stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
  for (const [id, sec] of Object.entries(src)) {
    const panels = Array.isArray(sec?.panels) ? sec.panels.map(cleanPanel).filter(Boolean) : [];
    const removed = Array.isArray(sec?.removed) ? sec.removed.filter((k) => typeof k === 'string') : [];
    out[id] = { panels: /** @type {PanelSpec[]} */ (panels), removed };
  }
  for (const [id, keys] of Object.entries(sectionKeys)) {
    const sec = out[id] || { panels: [], removed: [] };
    if (!keys.length) {
      out[id] = sec;
      continue;
    }
    const seen = new Set();
    const panels = sec.panels.filter((p) => {
      if (seen.has(p.id) || (final && !p.keys.some((k) => all.has(k)))) return false;
      seen.add(p.id);
      return true;
    });
    for (const k of keys) if (!seen.has(defaultId(k)) && !sec.removed.includes(k)) panels.push(defaultPanel(k));
    out[id] = { panels, removed: sec.removed };
  }
  return out;
}

/**
 * A stored panel checked: null when it is no panel; settings of a bad type dropped.
 * @param {any} p
 * @returns {PanelSpec|null}
 */
function cleanPanel(p) {
  if (!p || typeof p.id !== 'string' || !Array.isArray(p.keys)) return null;
  const keys = p.keys.filter((k) => typeof k === 'string');
  if (!keys.length) return null;
  /** @type {PanelSpec} */
  const out = { id: p.id, keys, w: WIDTHS.includes(p.w) ? p.w : 1, h: p.h in HEIGHTS ? p.h : 'm' };
  if (typeof p.xAxis === 'string' && p.xAxis) out.xAxis = p.xAxis;
  if (typeof p.smoothing === 'number' && p.smoothing >= 0 && p.smoothing < 1) out.smoothing = p.smoothing;
  if (typeof p.log === 'boolean') out.log = p.log;
  if (typeof p.runs === 'string' && p.runs) out.runs = p.runs;
  if (Array.isArray(p.hidden)) {
    const hidden = [...new Set(p.hidden.filter((x) => typeof x === 'string'))];
    if (hidden.length) out.hidden = hidden;
  }
  return out;
}

/**
 * @param {Layout} layout
 * @param {string} section
 * @param {(sec: SectionLayout) => SectionLayout} fn
 * @returns {Layout}
 */
function withSection(layout, section, fn) {
  const sec = layout[section] || { panels: [], removed: [] };
  return { ...layout, [section]: fn(sec) };
}

/**
 * A new panel's id: `p<n>`, one past the highest in use.
 * @param {Layout} layout
 * @returns {string}
 */
export function nextId(layout) {
  let n = 0;
  for (const sec of Object.values(layout)) {
    for (const p of sec.panels) {
      const m = /^p(\d+)$/.exec(p.id);
      if (m) n = Math.max(n, Number(m[1]));
    }
  }
  return `p${n + 1}`;
}

/**
 * Add a panel of these metrics (overlaid in one chart) at the end of a section.
 * @param {Layout} layout
 * @param {string} section
 * @param {string[]} keys at least one
 * @returns {{layout: Layout, id: string}}
 */
export function addPanel(layout, section, keys) {
  const wanted = [...new Set(keys)];
  if (!wanted.length) throw new Error('a panel needs at least one metric');
  const id = nextId(layout);
  const panel = /** @type {PanelSpec} */ ({ id, keys: wanted, w: 1, h: 'm' });
  return { layout: withSection(layout, section, (sec) => ({ ...sec, panels: [...sec.panels, panel] })), id };
}

/**
 * Remove a panel (a default one stays removed: its metric is remembered in `removed`).
 * @param {Layout} layout
 * @param {string} section
 * @param {string} id
 * @returns {Layout}
 */
export function removePanel(layout, section, id) {
  return withSection(layout, section, (sec) => {
    const panel = sec.panels.find((p) => p.id === id);
    if (!panel) return sec;
    const removed = id.startsWith('key:') && !sec.removed.includes(panel.keys[0]) ? [...sec.removed, panel.keys[0]] : sec.removed;
    return { panels: sec.panels.filter((p) => p.id !== id), removed };
  });
}

/**
 * Move a panel to another place in its section (`to` clamped to the section's ends).
 * @param {Layout} layout
 * @param {string} section
 * @param {string} id
 * @param {number} to its index after the move
 * @returns {Layout}
 */
export function movePanel(layout, section, id, to) {
  return withSection(layout, section, (sec) => {
    const from = sec.panels.findIndex((p) => p.id === id);
    if (from < 0) return sec;
    const panels = sec.panels.slice();
    const [panel] = panels.splice(from, 1);
    panels.splice(Math.max(0, Math.min(panels.length, Math.round(to))), 0, panel);
    return { ...sec, panels };
  });
}

/**
 * Move a panel by `delta` places (-1 left, +1 right).
 * @param {Layout} layout
 * @param {string} section
 * @param {string} id
 * @param {number} delta
 * @returns {Layout}
 */
export function movePanelBy(layout, section, id, delta) {
  const from = (layout[section]?.panels || []).findIndex((p) => p.id === id);
  return from < 0 ? layout : movePanel(layout, section, id, from + delta);
}

/**
 * Change a panel's settings: its metrics, size, x-axis, smoothing, log scale, runs, lines hidden. A setting given
 * as undefined or null is unset (the panel follows the toolbar's again); metrics, if given, must be
 * at least one.
 * @param {Layout} layout
 * @param {string} section
 * @param {string} id
 * @param {{keys?: string[], w?: PanelWidth, h?: PanelHeight, xAxis?: string|null, smoothing?: number|null,
 *   log?: boolean|null, runs?: string|null, hidden?: string[]|null}} patch
 * @returns {Layout}
 */
export function updatePanel(layout, section, id, patch) {
  return withSection(layout, section, (sec) => ({
    ...sec,
    panels: sec.panels.map((p) => {
      if (p.id !== id) return p;
      const next = { ...p };
      for (const [k, v] of Object.entries(patch)) {
        if (k === 'keys') {
          const keys = [...new Set(/** @type {string[]} */ (v) || [])];
          if (keys.length) next.keys = keys;
        } else if (k === 'w') {
          if (WIDTHS.includes(/** @type {number} */ (v))) next.w = /** @type {PanelWidth} */ (v);
        } else if (k === 'h') {
          if (/** @type {string} */ (v) in HEIGHTS) next.h = /** @type {PanelHeight} */ (v);
        } else if (k === 'hidden') {
          const hidden = [...new Set(/** @type {string[]} */ (v) || [])];
          if (hidden.length) next.hidden = hidden;
          else delete next.hidden;
        } else if (v === undefined || v === null || (k === 'runs' && v === '') || (k === 'xAxis' && v === '')) {
          delete next[k];
        } else {
          next[k] = v;
        }
      }
      return next;
    }),
  }));
}

/**
 * Resize a panel.
 * @param {Layout} layout
 * @param {string} section
 * @param {string} id
 * @param {{w?: PanelWidth, h?: PanelHeight}} size
 * @returns {Layout}
 */
export function resizePanel(layout, section, id, size) {
  return updatePanel(layout, section, id, size);
}

/**
 * What a panel draws with: its own settings, the toolbar's where it has none.
 * @param {PanelSpec} panel
 * @param {Toolbar} toolbar
 * @returns {Toolbar & {runs: string}}
 */
export function panelView(panel, toolbar) {
  return {
    xAxis: panel.xAxis ?? toolbar.xAxis,
    smoothing: panel.smoothing ?? toolbar.smoothing,
    log: panel.log ?? toolbar.log,
    runs: panel.runs || '',
  };
}

/**
 * Whether a run's name passes a panel's runs filter: every word of it is in the name (case-blind);
 * an empty filter passes every run.
 * @param {string} filter
 * @param {string} name
 * @returns {boolean}
 */
export function runMatches(filter, name) {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const n = name.toLowerCase();
  return words.every((w) => n.includes(w));
}

/**
 * A panel's title: its metric, or its metrics joined.
 * @param {PanelSpec} panel
 * @returns {string}
 */
export function panelTitle(panel) {
  return panel.keys.join(' · ');
}
