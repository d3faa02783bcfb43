import test from 'node:test';
import assert from 'node:assert/strict';
import { defaultDir, nextSort, withDefaults } from '../../python/turbotrack/server/static/lib/settings.js';

test('defaults pin the best-looking summaries and chart the first of them; choices made are kept', () => {
  const cols = ['config.lr', 'summary.acc.last', 'summary.acc.max', 'summary.loss.min', 'summary.x'];
  const s = withDefaults({}, cols);
  assert.deepEqual(s.pinned, ['state', 'summary.acc.max', 'summary.loss.min']);
  assert.equal(s.bar, 'summary.acc.max');
  assert.deepEqual(s.sort, { col: 'created', dir: 'desc' });
  assert.equal(s.maxRuns, 200);
  assert.deepEqual(withDefaults({}, ['summary.a', 'summary.b', 'summary.c']).pinned, ['state', 'summary.a', 'summary.b']);
  const kept = withDefaults({ maxRuns: 50, pinned: ['group'], smoothing: 0.3 }, cols);
  assert.deepEqual([kept.maxRuns, kept.pinned, kept.smoothing, kept.bar], [50, ['group'], 0.3, 'summary.acc.last']);
});

test('a header click sorts by its default direction first, then reverses', () => {
  assert.equal(defaultDir('summary.acc'), 'desc');
  assert.equal(defaultDir('name'), 'asc');
  assert.deepEqual(nextSort({ col: 'created', dir: 'desc' }, 'name'), { col: 'name', dir: 'asc' });
  assert.deepEqual(nextSort({ col: 'name', dir: 'asc' }, 'name'), { col: 'name', dir: 'desc' });
  assert.deepEqual(nextSort({ col: 'name', dir: 'desc' }, 'name'), { col: 'name', dir: 'asc' });
  assert.deepEqual(nextSort({ col: 'x', dir: 'asc' }, 'summary.acc'), { col: 'summary.acc', dir: 'desc' });
});

test('the open groups of the runs table: none at first, kept per group-by column, a bad value replaced', () => {
  assert.deepEqual(withDefaults({}, []).openGroups, {});
  const kept = { 'config.opt': ['adam'], group: ['a', 'b'] };
  assert.deepEqual(withDefaults({ openGroups: kept }, []).openGroups, kept);
  assert.deepEqual(withDefaults({ openGroups: /** @type {any} */ (['adam']) }, []).openGroups, {});
  assert.deepEqual(withDefaults({ openGroups: /** @type {any} */ ('x') }, []).openGroups, {});
});
