import test from 'node:test';
import assert from 'node:assert/strict';
import {
  addPanel, defaultId, defaultLayout, mergeLayout, movePanel, movePanelBy, nextId, panelTitle, panelView,
  removePanel, resizePanel, runMatches, updatePanel,
} from '../../python/turbotrack/server/static/lib/panellayout.js';

const KEYS = { '': ['loss'], train: ['train/acc', 'train/loss'], system: [] };
const ids = (layout, sec) => layout[sec].panels.map((p) => p.id);

test('the default layout is one panel per metric, in its section, one column wide and of medium height', () => {
  const l = defaultLayout(KEYS);
  assert.deepEqual(ids(l, 'train'), ['key:train/acc', 'key:train/loss']);
  assert.deepEqual(l[''].panels[0], { id: 'key:loss', keys: ['loss'], w: 1, h: 'm' });
  assert.deepEqual(l.system, { panels: [], removed: [] });
});

test('adding a panel of several metrics puts it last, with a fresh id; the input is left as it was', () => {
  const l = defaultLayout(KEYS);
  const before = JSON.stringify(l);
  const { layout, id } = addPanel(l, 'train', ['train/loss', 'loss', 'train/loss']);
  assert.equal(id, 'p1');
  assert.deepEqual(layout.train.panels.at(-1), { id: 'p1', keys: ['train/loss', 'loss'], w: 1, h: 'm' });
  assert.equal(JSON.stringify(l), before);
  const again = addPanel(layout, '', ['loss']);
  assert.equal(again.id, 'p2');
  assert.equal(nextId(again.layout), 'p3');
  assert.throws(() => addPanel(l, 'train', []));
  // A section not there yet is made.
  assert.deepEqual(ids(addPanel(l, 'val', ['loss']).layout, 'val'), ['p1']);
});

test('removing a default panel keeps it away when merged again; a removed custom panel is simply gone', () => {
  let l = addPanel(defaultLayout(KEYS), 'train', ['train/acc', 'train/loss']).layout;
  l = removePanel(l, 'train', 'key:train/acc');
  l = removePanel(l, 'train', 'p1');
  assert.deepEqual(ids(l, 'train'), ['key:train/loss']);
  assert.deepEqual(l.train.removed, ['train/acc']);
  assert.deepEqual(ids(mergeLayout(l, KEYS), 'train'), ['key:train/loss']);
  assert.equal(removePanel(l, 'train', 'nope').train, l.train);
});

test('moving a panel: to an index (clamped) or by one place', () => {
  const l = defaultLayout({ a: ['a/1', 'a/2', 'a/3'] });
  assert.deepEqual(ids(movePanel(l, 'a', 'key:a/3', 0), 'a'), ['key:a/3', 'key:a/1', 'key:a/2']);
  assert.deepEqual(ids(movePanel(l, 'a', 'key:a/1', 99), 'a'), ['key:a/2', 'key:a/3', 'key:a/1']);
  assert.deepEqual(ids(movePanelBy(l, 'a', 'key:a/2', -1), 'a'), ['key:a/2', 'key:a/1', 'key:a/3']);
  assert.deepEqual(ids(movePanelBy(l, 'a', 'key:a/1', -1), 'a'), ['key:a/1', 'key:a/2', 'key:a/3']);
  assert.deepEqual(ids(movePanelBy(l, 'a', 'key:a/3', 1), 'a'), ['key:a/1', 'key:a/2', 'key:a/3']);
  assert.equal(movePanelBy(l, 'a', 'missing', 1), l);
});

test('resizing takes widths 1 to 3 and heights s, m, l, and nothing else', () => {
  const l = defaultLayout(KEYS);
  const big = resizePanel(l, '', 'key:loss', { w: 3, h: 'l' });
  assert.deepEqual(big[''].panels[0], { id: 'key:loss', keys: ['loss'], w: 3, h: 'l' });
  const bad = resizePanel(big, '', 'key:loss', { w: /** @type {any} */ (4), h: /** @type {any} */ ('xl') });
  assert.deepEqual(bad[''].panels[0], big[''].panels[0]);
});

test('a panel setting set overrides the toolbar; unset (null, undefined, empty) follows it again', () => {
  const toolbar = { xAxis: '_step', smoothing: 0.3, log: false };
  let l = defaultLayout(KEYS);
  const p = () => l[''].panels[0];
  assert.deepEqual(panelView(p(), toolbar), { ...toolbar, runs: '' });
  l = updatePanel(l, '', 'key:loss', { xAxis: '_runtime', smoothing: 0, log: true, runs: 'run-1' });
  assert.deepEqual(panelView(p(), toolbar), { xAxis: '_runtime', smoothing: 0, log: true, runs: 'run-1' });
  l = updatePanel(l, '', 'key:loss', { xAxis: '', smoothing: null, log: undefined, runs: '' });
  assert.deepEqual(p(), { id: 'key:loss', keys: ['loss'], w: 1, h: 'm' });
  l = updatePanel(l, '', 'key:loss', { keys: ['loss', 'train/loss'] });
  assert.deepEqual(p().keys, ['loss', 'train/loss']);
  l = updatePanel(l, '', 'key:loss', { keys: [] }); // a panel keeps at least one metric
  assert.deepEqual(p().keys, ['loss', 'train/loss']);
  assert.equal(panelTitle(p()), 'loss · train/loss');
});

test('merging: a new metric becomes a default panel last; a panel whose metrics are all gone is dropped', () => {
  let stored = addPanel(defaultLayout(KEYS), 'train', ['train/loss', 'train/gone']).layout;
  stored = addPanel(stored, 'train', ['train/gone']).layout;
  stored = movePanel(stored, 'train', 'key:train/loss', 0);
  stored = resizePanel(stored, 'train', 'key:train/loss', { w: 2 });
  const now = { '': ['loss'], train: ['train/acc', 'train/loss', 'train/new'], val: ['val/acc'], system: [] };
  const merged = mergeLayout(JSON.parse(JSON.stringify(stored)), now);
  assert.deepEqual(ids(merged, 'train'), ['key:train/loss', 'key:train/acc', 'p1', 'key:train/new']);
  assert.equal(merged.train.panels[0].w, 2); // sizes kept
  assert.deepEqual(merged.train.panels[2].keys, ['train/loss', 'train/gone']); // some of its metrics are here: kept whole
  assert.deepEqual(ids(merged, 'val'), ['key:val/acc']);
  // A metric gone drops its default panel too.
  assert.deepEqual(ids(mergeLayout(merged, { train: ['train/acc'] }), 'train'), ['key:train/acc']);
});

test('merging: a section with no metrics known yet keeps its stored panels; junk is cleaned up', () => {
  const stored = {
    system: { panels: [{ id: 'key:system.cpu', keys: ['system.cpu'], w: 2, h: 'l' }], removed: [] },
    train: {
      panels: [
        { id: 'key:train/acc', keys: ['train/acc'], w: 9, h: 'huge', smoothing: 5, log: 'yes', xAxis: 3, runs: 'a' },
        { id: 'key:train/acc', keys: ['train/acc'], w: 1, h: 'm' }, // a duplicate
        { id: 'p1', keys: [] }, 'junk', null,
      ],
      removed: ['train/loss', 7],
    },
  };
  const merged = mergeLayout(stored, { system: [], train: ['train/acc', 'train/loss'] });
  assert.deepEqual(merged.system.panels, stored.system.panels);
  assert.deepEqual(merged.train.panels, [{ id: 'key:train/acc', keys: ['train/acc'], w: 1, h: 'm', runs: 'a' }]);
  assert.deepEqual(merged.train.removed, ['train/loss']);
  assert.deepEqual(mergeLayout(null, { '': ['x'] }), defaultLayout({ '': ['x'] }));
  assert.deepEqual(mergeLayout([1, 2], { '': ['x'] }), defaultLayout({ '': ['x'] }));
  assert.equal(defaultId('a/b'), 'key:a/b');
});

test('a runs filter keeps the names holding every word, case-blind; empty keeps all', () => {
  assert.equal(runMatches('', 'anything'), true);
  assert.equal(runMatches('Run 1', 'my-run-12'), true);
  assert.equal(runMatches('run 3', 'my-run-12'), false);
});

test('merging before every run has loaded keeps the panels of metrics not known yet; once final it drops them', () => {
  // The user's panels on `train/late` (a metric only runs of a later page have): a custom one and
  // its default panel, moved first.
  const stored = {
    train: {
      panels: [
        { id: 'key:train/late', keys: ['train/late'], w: 2, h: 'l' },
        { id: 'key:train/acc', keys: ['train/acc'], w: 1, h: 'm' },
        { id: 'p1', keys: ['train/late', 'val/late'], w: 3, h: 's', log: true },
      ],
      removed: [],
    },
  };
  const firstPage = { train: ['train/acc'] };
  const early = mergeLayout(JSON.parse(JSON.stringify(stored)), firstPage, false);
  assert.deepEqual(ids(early, 'train'), ['key:train/late', 'key:train/acc', 'p1']);
  assert.deepEqual(early.train.panels[2], stored.train.panels[2]); // kept whole, settings and all
  // A layout change made meanwhile (what the page saves) still holds them, and the later runs' keys
  // find them in place.
  const moved = movePanelBy(early, 'train', 'key:train/acc', -1);
  assert.deepEqual(ids(moved, 'train'), ['key:train/acc', 'key:train/late', 'p1']);
  const later = mergeLayout(moved, { train: ['train/acc', 'train/late'] }, false);
  assert.deepEqual(ids(later, 'train'), ['key:train/acc', 'key:train/late', 'p1']);
  assert.deepEqual(ids(mergeLayout(moved, { train: ['train/acc', 'train/late'] }, true), 'train'), ['key:train/acc', 'key:train/late', 'p1']);
  // Every run loaded and the metric is nowhere: now they go (the default `final` is true).
  assert.deepEqual(ids(mergeLayout(moved, firstPage, true), 'train'), ['key:train/acc']);
  assert.deepEqual(ids(mergeLayout(moved, firstPage), 'train'), ['key:train/acc']);
});

test('the lines hidden from a panel\'s legend are kept in its spec, checked when merged, unset when none', () => {
  const l = defaultLayout(KEYS);
  const hid = updatePanel(l, 'train', 'key:train/acc', { hidden: ['run1', 'run2', 'run1'] });
  assert.deepEqual(hid.train.panels[0].hidden, ['run1', 'run2']);
  assert.equal(l.train.panels[0].hidden, undefined);
  const merged = mergeLayout(JSON.parse(JSON.stringify(hid)), KEYS);
  assert.deepEqual(merged.train.panels[0].hidden, ['run1', 'run2']);
  assert.deepEqual(mergeLayout({ train: { panels: [{ id: 'p1', keys: ['train/acc'], hidden: ['a', 3, null] }], removed: [] } }, KEYS).train.panels[0].hidden, ['a']);
  assert.equal('hidden' in updatePanel(hid, 'train', 'key:train/acc', { hidden: [] }).train.panels[0], false);
  assert.equal('hidden' in updatePanel(hid, 'train', 'key:train/acc', { hidden: null }).train.panels[0], false);
});
