/**
 * The workspace's charts: sections of panels (by metric prefix, `system` last), each panel a
 * components/panel.js Panel laid out by lib/panellayout.js (kept in the workspace settings'
 * `panels`), and the drawing of the fetched histories into them.
 *
 * What it draws from, and how it asks for more, is the workspace's (`ChartAreaDeps`): the histories
 * fetched per (run, key) on the toolbar's x-axis, the system stream's, zooms' and the answers of
 * panels with their own x-axis. It tells which metric keys the panels in sight want
 * (`keysInSight`: an IntersectionObserver, 300 px ahead, over open sections), and draws through a
 * FrameQueue, one job per panel, a panel whose runs are still arriving drawn again only when they
 * have grown by half (or after a second).
 *
 * @module chartarea
 */

import { h, replace } from '../lib/dom.js';
import { aggregate, groupRuns } from '../lib/groups.js';
import { pointsOf, alignSeries } from '../lib/align.js';
import { toCsv } from '../lib/csv.js';
import { groupByPrefix } from '../lib/columns.js';
import {
  addPanel, mergeLayout, movePanel, movePanelBy, panelView, removePanel, runMatches, updatePanel,
} from '../lib/panellayout.js';
import { Panel } from './panel.js';

/**
 * @typedef {import('../lib/panellayout.js').PanelSpec} PanelSpec
 * @typedef {import('./linechart.js').Series} Series
 * @typedef {{columns: Record<string, any[]>, x_axis?: string, keys?: Record<string, any>}} History
 * @typedef {{
 *   el: HTMLElement, s: import('../lib/settings.js').Settings, save: () => void, project: string,
 *   frames: import('../lib/frames.js').FrameQueue,
 *   chartRuns: () => any[], colorOf: (id: string) => string, rowOf: (id: string) => Record<string, any>|undefined,
 *   groupColor: (name: string) => string,
 *   xChoices: () => string[], complete: () => boolean,
 *   histories: Map<string, Map<string, History>>, systemHist: Map<string, History>,
 *   zoomData: Map<string, Map<string, History>>, panelData: Map<string, {xAxis: string, keys: string, runs: Map<string, History>}>,
 *   onZoom: (panel: ChartPanel, range: {min: number, max: number}|null) => void,
 *   fetchPanel: (panel: ChartPanel, runs: any[], revalidate?: boolean) => void,
 *   onSectionOpen: (id: string, isSystem: boolean) => void,
 *   onSight: () => void, onDrawn: (chart: import('./linechart.js').LineChart) => void}} ChartAreaDeps
 *   groupColor: a group's colour (the one its row in the runs table shows); complete: whether every run
 *   has loaded (the metric keys are final: a panel of metrics none has may go);
 *   fetchPanel: fetch a panel's keys on its own x-axis for these runs (into panelData); onSight: panels came
 *   into sight (fetch what they need); onDrawn: after each panel drawn
 * @typedef {{panel: Panel, spec: PanelSpec, section: string, system: boolean}} ChartPanel
 *   system: drawn from the system stream (its own x-axis, `_runtime`)
 */

/** The dash patterns of a panel's second, third... metric (the first is a solid line). */
const DASHES = [[6, 3], [2, 3], [10, 3, 2, 3]];

export class ChartArea {
  /** @param {ChartAreaDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {Map<string, ChartPanel>} panel id → panel */
    this.panels = new Map();
    /** @type {import('../lib/panellayout.js').Layout} the layout drawn (the stored one fitted to the keys there are) */
    this.layout = {};
    /** @type {Record<string, string[]>} */
    this.sectionKeys = {};
    /** @type {string[]} the metric keys (not the system stream's) */
    this.metricKeys = [];
    /** @type {Map<string, HTMLElement>} section id → its grid */
    this.grids = new Map();
    /** @type {Set<string>} metric keys with new histories: their panels are drawn again */
    this.dirty = new Set();
    /** @type {Set<string>} panel ids to draw again (when in sight) */
    this.dirtyPanels = new Set();
    /** @type {Set<string>} panel ids in sight (or about to be) */
    this.inSight = new Set();
    /** @type {Map<string, {n: number, t: number}>} panel id → runs drawn last, and when */
    this.drawnAt = new Map();
    this.laterTimer = null;
    this.firstDrawn = false;
    /** @type {() => void} */
    this.onFirst = () => {};
    this.ptsCache = new WeakMap();
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const id = /** @type {HTMLElement} */ (e.target).dataset.panel || '';
        if (e.isIntersecting) this.inSight.add(id);
        else this.inSight.delete(id);
      }
      this.queueDirty();
      deps.onSight();
    }, { rootMargin: '300px' });
  }

  /**
   * Every section again, for these metric keys and system keys. A panel still there (same id and
   * metrics) is kept, moved into its new section element: its plot, zoom and full screen stay (the
   * lines hidden from its legend are its spec's). A panel of metrics no run has is dropped only once
   * every run has loaded (`complete`): until then a later page of runs may bring them.
   * @param {string[]} metricKeys
   * @param {string[]} systemKeys the system stream's
   */
  render(metricKeys, systemKeys) {
    const { s } = this.deps;
    this.grids.clear();
    this.metricKeys = metricKeys;
    const groups = groupByPrefix(metricKeys).filter(([g]) => g !== 'system');
    const sysFromHistory = metricKeys.filter((k) => k.startsWith('system/'));
    /** @type {[string, string, boolean][]} id, title, system */
    const order = groups.map(([g]) => [g, g || 'charts', false]);
    order.push(['system', 'system', true]);
    this.sectionKeys = Object.fromEntries(groups);
    this.sectionKeys.system = [...new Set([...sysFromHistory, ...systemKeys])];
    this.layout = mergeLayout(s.panels, this.sectionKeys, this.deps.complete());
    const sections = order.map(([id, title, isSystem]) => this.section(id, title, isSystem));
    for (const [id, cp] of this.panels) if (!this.grids.has(cp.section)) this.dropPanel(id);
    replace(this.deps.el, sections);
    if (!metricKeys.length) this.deps.el.prepend(h('p', { class: 'empty' }, 'No metrics logged yet.'));
  }

  /**
   * @param {string} id
   * @param {string} title
   * @param {boolean} isSystem
   */
  section(id, title, isSystem) {
    const { s } = this.deps;
    const grid = h('div', { class: 'chart-grid', dataset: { section: id } });
    this.grids.set(id, grid);
    const count = h('span', { class: 'count' });
    const adder = h('div', { class: 'panel-adder', hidden: true });
    const addBtn = h('button', { type: 'button', class: 'add-panel', title: 'A panel of one or more metrics overlaid',
      onclick: () => this.openAdder(id, adder) }, '+ panel');
    const el = h('details', { class: 'section', open: !s.collapsed[id], dataset: { group: id } },
      h('summary', null, `${title} `, count),
      isSystem ? null : h('div', { class: 'section-tools' }, addBtn, adder),
      grid);
    el.addEventListener('toggle', () => {
      // Chrome also fires 'toggle' for a section created open: only a real change is a choice to keep.
      if (!!s.collapsed[id] === !el.open) return;
      s.collapsed[id] = !el.open;
      this.deps.save();
      this.deps.onSectionOpen(id, isSystem);
    });
    this.sync(id);
    return el;
  }

  /**
   * The "+ panel" form: tick the metrics (any of the workspace's) to overlay, then Add.
   * @param {string} section
   * @param {HTMLElement} adder
   */
  openAdder(section, adder) {
    if (!adder.hidden) {
      adder.hidden = true;
      return;
    }
    const keys = this.metricKeys.filter((k) => !k.startsWith('system/'));
    const search = h('input', { type: 'search', class: 'pa-search', placeholder: 'find a metric' });
    const list = h('div', { class: 'pa-metrics' }, keys.map((k) => h('label', { class: 'pa-metric', dataset: { key: k } },
      h('input', { type: 'checkbox', value: k }), ` ${k}`)));
    search.addEventListener('input', () => {
      const q = search.value.toLowerCase();
      for (const item of list.children) /** @type {HTMLElement} */ (item).hidden = !(/** @type {HTMLElement} */ (item).dataset.key || '').toLowerCase().includes(q);
    });
    const note = h('span', { class: 'count' });
    const add = h('button', { type: 'button', class: 'pa-add', onclick: () => {
      const chosen = [...list.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);
      if (!chosen.length) {
        note.textContent = 'tick one metric or more';
        return;
      }
      adder.hidden = true;
      const { layout } = addPanel(this.layout, section, chosen);
      this.commit(layout, section);
    } }, 'Add');
    const cancel = h('button', { type: 'button', class: 'pa-cancel', onclick: () => {
      adder.hidden = true;
    } }, 'Cancel');
    replace(adder, h('div', { class: 'pa-head' }, 'Metrics drawn overlaid in one panel:'), search, list, h('div', { class: 'pa-row' }, add, cancel, note));
    adder.hidden = false;
    search.focus();
  }

  /**
   * Take a new layout: keep it (the workspace settings), and lay out that section again.
   * @param {import('../lib/panellayout.js').Layout} layout
   * @param {string} section
   */
  commit(layout, section) {
    this.layout = layout;
    this.deps.s.panels = layout;
    this.deps.save();
    this.sync(section);
    this.queueDirty();
    this.deps.onSight(); // new metrics need their histories
  }

  /**
   * A section's panels as the layout says: panels kept where their metrics are the same (moved and
   * resized in place, their plots not built again), made for new ones, gone for removed ones.
   * @param {string} section
   */
  sync(section) {
    const grid = this.grids.get(section);
    if (!grid) return;
    const specs = this.layout[section]?.panels || [];
    const keep = new Set(specs.map((p) => p.id));
    for (const [id, cp] of this.panels) {
      if (cp.section === section && !keep.has(id)) this.dropPanel(id);
    }
    for (const spec of specs) {
      let cp = this.panels.get(spec.id);
      if (cp && cp.spec.keys.join('\u0000') !== spec.keys.join('\u0000')) {
        this.dropPanel(spec.id);
        cp = undefined;
      }
      if (!cp) {
        cp = this.makePanel(spec, section);
      } else if (cp.spec !== spec) {
        const redraw = cp.spec.xAxis !== spec.xAxis || cp.spec.smoothing !== spec.smoothing || cp.spec.log !== spec.log || cp.spec.runs !== spec.runs;
        cp.spec = spec;
        cp.panel.setSpec(spec);
        if (redraw) this.dirtyPanels.add(spec.id);
      }
      // In the layout's order (moving a node keeps its plot); a panel full screen keeps its place by its placeholder.
      grid.append(cp.panel.fullscreen && cp.panel.placeholder ? cp.panel.placeholder : cp.panel.el);
    }
    const count = grid.parentElement?.querySelector('summary .count');
    if (count) count.textContent = section === 'system' && !specs.length ? '' : `(${specs.length})`;
  }

  /**
   * @param {PanelSpec} spec
   * @param {string} section
   * @returns {ChartPanel}
   */
  makePanel(spec, section) {
    /** @type {ChartPanel} */
    const cp = { spec, section, system: section === 'system' && !spec.keys[0].startsWith('system/'), panel: /** @type {any} */ (null) };
    const id = spec.id;
    cp.panel = new Panel({
      spec, section, system: cp.system,
      choices: () => ({
        metrics: section === 'system' ? this.sectionKeys.system : this.metricKeys.filter((k) => !k.startsWith('system/')),
        xAxes: this.deps.xChoices(),
        toolbar: this.toolbar(),
      }),
      onChange: (patch) => this.commit(updatePanel(this.layout, section, id, patch), section),
      onMove: (delta) => {
        this.commit(movePanelBy(this.layout, section, id, delta), section);
        cp.panel.title.focus();
      },
      onDrop: (from) => {
        const to = (this.layout[section]?.panels || []).findIndex((p) => p.id === id);
        if (to >= 0) this.commit(movePanel(this.layout, section, from, to), section);
      },
      onRemove: () => this.commit(removePanel(this.layout, section, id), section),
      onZoom: (range) => this.deps.onZoom(cp, range),
      onCsv: () => this.downloadCsv(id),
    });
    this.panels.set(id, cp);
    this.dirtyPanels.add(id);
    this.observer.observe(cp.panel.el);
    return cp;
  }

  /** @param {string} id */
  dropPanel(id) {
    const cp = this.panels.get(id);
    if (!cp) return;
    this.observer.unobserve(cp.panel.el);
    cp.panel.destroy();
    this.panels.delete(id);
    this.inSight.delete(id);
    this.drawnAt.delete(id);
    this.dirtyPanels.delete(id);
    this.deps.frames.delete(id);
    this.deps.zoomData.delete(id);
    this.deps.panelData.delete(id);
  }

  /** @returns {import('../lib/panellayout.js').Toolbar} */
  toolbar() {
    const { s } = this.deps;
    return { xAxis: s.xAxis, smoothing: s.smoothing, log: s.log };
  }

  /**
   * Whether a panel draws on an x-axis of its own (fetched for it alone), not the toolbar's.
   * @param {ChartPanel} cp
   */
  ownX(cp) {
    return !cp.system && cp.spec.xAxis !== undefined && cp.spec.xAxis !== this.deps.s.xAxis;
  }

  /** @param {ChartPanel} cp */
  wanted(cp) {
    return this.inSight.has(cp.spec.id) && !!cp.panel.el.closest('details')?.open;
  }

  /**
   * The metric keys (fetched on the toolbar's x-axis) of the panels in sight in open sections, in
   * the panels' order: what the workspace fetches next.
   * @returns {string[]}
   */
  keysInSight() {
    const keys = new Set();
    for (const cp of this.panels.values()) {
      if (cp.system || this.ownX(cp) || !this.wanted(cp)) continue;
      for (const k of cp.spec.keys) keys.add(k);
    }
    return [...keys];
  }

  /** The panels with an x-axis of their own in sight: their runs are asked again (`revalidate`). */
  refreshOwnX() {
    for (const cp of this.panels.values()) if (this.ownX(cp) && this.wanted(cp)) this.deps.fetchPanel(cp, this.runsOf(cp), true);
  }

  /** A panel's drawing width in pixels (the first's; 0 with none). */
  width() {
    const first = this.panels.values().next().value;
    return first ? first.panel.chart.width() : 0;
  }

  /** Every panel drawn again (when in sight). */
  markAll() {
    for (const id of this.panels.keys()) this.dirtyPanels.add(id);
    this.queueDirty();
  }

  /** @param {string} id a panel's */
  markPanel(id) {
    this.dirtyPanels.add(id);
    this.queueDirty();
  }

  /** Zooms forgotten (the toolbar's x-axis changed). */
  resetZooms() {
    for (const cp of this.panels.values()) cp.panel.chart.zoom = null;
  }

  /** The dirty panels in sight and open, queued for a frame; the others wait until they are. */
  queueDirty() {
    if (this.dirty.size) {
      for (const cp of this.panels.values()) if (cp.spec.keys.some((k) => this.dirty.has(k))) this.dirtyPanels.add(cp.spec.id);
      this.dirty.clear();
    }
    for (const id of this.dirtyPanels) {
      const cp = this.panels.get(id);
      if (!cp) {
        this.dirtyPanels.delete(id);
        continue;
      }
      if (!this.wanted(cp)) continue;
      this.dirtyPanels.delete(id);
      this.deps.frames.add(id, () => this.draw(id));
    }
  }

  /**
   * The runs a panel draws: the runs drawn, or those of them its runs filter keeps.
   * @param {ChartPanel} cp
   */
  runsOf(cp) {
    const list = this.deps.chartRuns();
    const filter = cp.spec.runs || '';
    return filter ? list.filter((r) => runMatches(filter, r.name || r.id)) : list;
  }

  /** @param {History} hist @param {string} xKey @param {string} key */
  points(hist, xKey, key) {
    let m = this.ptsCache.get(hist);
    if (!m) this.ptsCache.set(hist, (m = new Map()));
    const k = `${xKey}\u0000${key}`;
    if (!m.has(k)) m.set(k, pointsOf(hist, xKey, key));
    return m.get(k);
  }

  /**
   * Runs' series as their groups' (the toolbar's group by): a mean line in a min-max band each.
   * @param {(Series & {runId?: string})[]} series
   * @param {string} suffix added to each group's id and label (a panel's second metric and after)
   * @returns {Series[]}
   */
  groupSeries(series, suffix) {
    const { rowOf, s, groupColor } = this.deps;
    const byId = new Map(series.map((x) => [x.id, x]));
    const groups = groupRuns(series.map((x) => rowOf(x.runId || x.id) || { id: x.id }), s.groupBy);
    const ids = new Map(series.map((x) => [x.runId || x.id, x.id]));
    return [...groups].map(([name, runIds]) => {
      const agg = aggregate(runIds.map((id) => byId.get(ids.get(id))));
      return {
        id: `group\u0000${name}${suffix ? `\u0000${suffix}` : ''}`, label: `${name} (${runIds.length} run${runIds.length === 1 ? '' : 's'})${suffix ? ` · ${suffix}` : ''}`,
        color: groupColor(name), x: agg.x, y: agg.mean, band: { min: agg.min, max: agg.max },
        ...(series[0]?.dash ? { dash: series[0].dash } : {}),
      };
    });
  }

  /**
   * Draw one panel from what has been fetched. While its runs still arrive, a redraw waits until
   * they have grown by half since the last one (or a second has passed).
   * @param {string} id
   */
  draw(id) {
    const cp = this.panels.get(id);
    if (!cp) return;
    const { deps } = this;
    const { spec, system } = cp;
    const chart = cp.panel.chart;
    const view = panelView(spec, this.toolbar());
    const list = this.runsOf(cp);
    const own = this.ownX(cp);
    const ownData = own ? deps.panelData.get(id) : undefined;
    const ownRuns = ownData && ownData.xAxis === view.xAxis && ownData.keys === spec.keys.join(',') ? ownData.runs : undefined;
    if (own && list.some((r) => !ownRuns || !ownRuns.has(r.id))) deps.fetchPanel(cp, list);
    const zoomed = deps.zoomData.get(id);
    if (!zoomed && !system) {
      let have = 0;
      for (const run of list) {
        const got = own ? ownRuns?.get(run.id) : deps.histories.get(run.id);
        if (got && (own || spec.keys.every((k) => /** @type {Map<string, History>} */ (got).has(k)))) have++;
      }
      const last = this.drawnAt.get(id);
      if (last && have < list.length && have < last.n * 1.5 && performance.now() - last.t < 1000) {
        this.dirtyPanels.add(id);
        clearTimeout(this.laterTimer);
        this.laterTimer = setTimeout(() => this.queueDirty(), 250);
        return;
      }
      this.drawnAt.set(id, { n: have, t: performance.now() });
    }
    const many = spec.keys.length > 1;
    /** @type {Series[]} */
    let series = [];
    spec.keys.forEach((key, ki) => {
      /** @type {(Series & {runId?: string})[]} */
      const ofKey = [];
      const dash = ki > 0 ? DASHES[(ki - 1) % DASHES.length] : undefined;
      for (const run of list) {
        const got = (zoomed && zoomed.get(run.id)) || (system ? deps.systemHist.get(run.id) : own ? ownRuns?.get(run.id) : deps.histories.get(run.id)?.get(key));
        const hist = got && got.keys ? got.keys[key] : got; // `each=1` answers: one history per key
        if (!hist) continue;
        const xKey = system && !(view.xAxis in hist.columns) ? hist.x_axis : view.xAxis;
        const name = run.name || run.id;
        ofKey.push({
          id: many ? `${run.id}\u0000${key}` : run.id, runId: run.id, label: many ? `${name} · ${key}` : name,
          color: deps.colorOf(run.id), ...(dash ? { dash } : {}), ...this.points(hist, xKey, key),
        });
      }
      series = series.concat(deps.s.groupBy ? this.groupSeries(ofKey, many ? key : '') : ofKey);
    });
    cp.panel.draw(series, { xKey: view.xAxis, smoothing: view.smoothing, log: view.log });
    deps.onDrawn(chart);
  }

  /**
   * What a panel draws, as CSV: one row per x, a column per series shown (a group's mean, min and
   * max), its values as logged (before smoothing).
   * @param {string} id
   * @returns {{name: string, text: string}|null}
   */
  csv(id) {
    const cp = this.panels.get(id);
    if (!cp) return null;
    const { series, xKey, chart } = cp.panel;
    const shown = series.filter((x) => x.x.length && !chart.hidden.has(x.id));
    const columns = [xKey || 'x'];
    /** @type {{x: ArrayLike<number>, y: ArrayLike<number|null>}[]} */
    const lines = [];
    const used = new Set(columns);
    const name = (/** @type {string} */ label) => {
      let n = label;
      for (let i = 2; used.has(n); i++) n = `${label} (${i})`;
      used.add(n);
      return n;
    };
    for (const x of shown) {
      if (x.band) {
        columns.push(name(`${x.label} mean`), name(`${x.label} min`), name(`${x.label} max`));
        lines.push({ x: x.x, y: x.y }, { x: x.x, y: x.band.min }, { x: x.x, y: x.band.max });
      } else {
        columns.push(name(x.label));
        lines.push({ x: x.x, y: x.y });
      }
    }
    const data = lines.length ? alignSeries(lines) : [[]];
    const rows = data[0].map((xv, i) => Object.fromEntries(columns.map((c, j) => [c, j === 0 ? xv : data[j][i]])));
    const file = `${this.deps.project}-${cp.spec.keys.join('+')}`.replace(/[^\w.+-]+/g, '_');
    return { name: `${file}.csv`, text: toCsv(columns, rows) };
  }

  /** @param {string} id */
  downloadCsv(id) {
    const got = this.csv(id);
    if (!got) return;
    const a = h('a', { href: URL.createObjectURL(new Blob([got.text], { type: 'text/csv' })), download: got.name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  destroyPanels() {
    for (const id of [...this.panels.keys()]) this.dropPanel(id);
    this.grids.clear();
    this.drawnAt.clear();
    this.inSight.clear();
    this.observer.disconnect();
  }

  destroy() {
    clearTimeout(this.laterTimer);
    this.destroyPanels();
  }
}
