import test from 'node:test';
import assert from 'node:assert/strict';
import { columnStat, isGroup, sortValue, tableItems } from '../../python/turbotrack/server/static/lib/tablegroups.js';
import { NO_VALUE, groupColors } from '../../python/turbotrack/server/static/lib/groups.js';
import { DISTINCT } from '../../python/turbotrack/server/static/lib/colors.js';
import { sortBy } from '../../python/turbotrack/server/static/lib/sort.js';

const rows = [
  { id: 'a', name: 'a', state: 'finished', 'config.opt': 'sgd', 'summary.acc': 0.5, runtime: 10, created: 1 },
  { id: 'b', name: 'b', state: 'finished', 'config.opt': 'adam', 'summary.acc': 0.9, runtime: 20, created: 2 },
  { id: 'c', name: 'c', state: 'running', 'config.opt': 'sgd', 'summary.acc': 0.7, runtime: 30, created: 3 },
  { id: 'd', name: 'd', state: 'finished', 'summary.acc': 0.1, runtime: 40, created: 4 },
  { id: 'e', name: 'e', state: 'finished', 'config.opt': 'adam', 'summary.acc': 0.8, runtime: 50, created: 5 },
];
const desc = { col: 'summary.acc', dir: /** @type {'desc'} */ ('desc') };
const sorted = (sort) => sortBy(rows, (r) => r[sort.col], sort.dir);
const names = (items) => items.map((it) => (isGroup(it) ? `[${it.name}]` : it.id));

test('no grouping: the rows themselves', () => {
  const got = tableItems(rows, { groupBy: '', sort: desc, open: [] });
  assert.equal(got.items, rows);
  assert.deepEqual(got.groups, []);
});

test('groups collapsed by default: headers only, ordered by the mean of the sorted column', () => {
  const { items, groups } = tableItems(sorted(desc), { groupBy: 'config.opt', sort: desc, open: [] });
  // means: adam 0.85, sgd 0.6, (none) 0.1
  assert.deepEqual(names(items), ['[adam]', '[sgd]', `[${NO_VALUE}]`]);
  assert.deepEqual(groups.map((g) => g.ids), [['b', 'e'], ['c', 'a'], ['d']]);
  const adam = groups[0];
  assert.equal(adam.stat('summary.acc').n, 2);
  assert.ok(Math.abs(adam.stat('summary.acc').mean - 0.85) < 1e-12);
  assert.equal(adam.stat('summary.acc').min, 0.8);
  assert.equal(adam.stat('summary.acc').max, 0.9);
});

test('an open group lists its runs beneath it, in the sorted order', () => {
  const asc = { col: 'summary.acc', dir: /** @type {'asc'} */ ('asc') };
  const { items } = tableItems(sorted(asc), { groupBy: 'config.opt', sort: asc, open: ['sgd', 'adam'] });
  assert.deepEqual(names(items), [`[${NO_VALUE}]`, '[sgd]', 'a', 'c', '[adam]', 'e', 'b']);
  const { items: some } = tableItems(sorted(asc), { groupBy: 'config.opt', sort: asc, open: new Set(['adam']) });
  assert.deepEqual(names(some), [`[${NO_VALUE}]`, '[sgd]', '[adam]', 'e', 'b']);
  assert.deepEqual(some.filter(isGroup).map((g) => g.open), [false, false, true]);
});

test('groups sort by a text column\'s shared value, mixed groups last; by name by the group name, no value last', () => {
  const byState = { col: 'state', dir: /** @type {'asc'} */ ('asc') };
  const { groups } = tableItems(sorted(byState), { groupBy: 'config.opt', sort: byState, open: [] });
  // adam: finished (shared), (none): finished, sgd: finished and running (2 values, no sort value)
  assert.deepEqual(groups.map((g) => g.name), ['adam', NO_VALUE, 'sgd']);
  assert.equal(groups[0].stat('state').value, 'finished');
  assert.equal(groups[2].stat('state').distinct, 2);
  assert.equal(groups[2].stat('state').value, undefined);
  const byName = { col: 'name', dir: /** @type {'desc'} */ ('desc') };
  const { groups: named } = tableItems(rows, { groupBy: 'config.opt', sort: byName, open: [] });
  assert.deepEqual(named.map((g) => g.name), ['sgd', 'adam', NO_VALUE]);
});

test('created sorts groups by their newest run', () => {
  const byCreated = { col: 'created', dir: /** @type {'desc'} */ ('desc') };
  const { groups } = tableItems(sorted(byCreated), { groupBy: 'config.opt', sort: byCreated, open: [] });
  assert.deepEqual(groups.map((g) => g.name), ['adam', NO_VALUE, 'sgd']); // newest: 5, 4, 3
  assert.equal(sortValue(groups[0].stat('created'), 'created'), 5);
});

test('column stats: numbers and their range, shared and several values, missing ones skipped', () => {
  assert.deepEqual(columnStat([{ x: 1 }, { x: 3 }, { x: NaN }, {}], 'x'), { n: 2, mean: 2, min: 1, max: 3, distinct: 2 });
  assert.deepEqual(columnStat([{ x: 'a' }, { x: 'a' }, { x: null }], 'x'), { n: 0, distinct: 1, value: 'a' });
  assert.deepEqual(columnStat([{ x: ['t'] }, { x: ['t'] }, { x: [] }], 'x'), { n: 0, distinct: 1, value: ['t'] });
  assert.deepEqual(columnStat([{ x: 1 }, { x: '1' }], 'x'), { n: 1, mean: 1, min: 1, max: 1, distinct: 2 });
  assert.deepEqual(columnStat([], 'x'), { n: 0, distinct: 0 });
  assert.equal(sortValue(columnStat([{ x: 'a' }, { x: 'b' }], 'x'), 'x'), undefined);
});

test('group colours: one per name in natural order, no value last, whatever the order given', () => {
  const a = groupColors(['sgd', 'adam', NO_VALUE, 'sgd', 'lr10', 'lr9']);
  assert.deepEqual([...a.keys()], ['adam', 'lr9', 'lr10', 'sgd', NO_VALUE]);
  assert.deepEqual([...a.values()], DISTINCT.slice(0, 5));
  const b = groupColors([NO_VALUE, 'lr10', 'sgd', 'lr9', 'adam']);
  assert.deepEqual([...b], [...a]);
  const many = groupColors(Array.from({ length: 25 }, (_, i) => `g${i}`));
  assert.equal(many.get('g20'), DISTINCT[0]);
  const { groups } = tableItems(rows, { groupBy: 'config.opt', sort: desc, open: [], colors: a });
  assert.deepEqual(groups.map((g) => g.color), groups.map((g) => a.get(g.name)));
});

test('10,000 runs in 100 groups: every run in one group, groups in the order of their means', () => {
  const big = Array.from({ length: 10000 }, (_, i) => ({ id: `r${i}`, name: `r${i}`, 'config.g': i % 100, 'summary.acc': (i * 7919) % 1000, runtime: i }));
  const sort = { col: 'summary.acc', dir: /** @type {'desc'} */ ('desc') };
  const open = Array.from({ length: 100 }, (_, i) => String(i));
  const { items, groups } = tableItems(sortBy(big, (r) => r[sort.col], sort.dir), { groupBy: 'config.g', sort, open });
  assert.equal(groups.length, 100);
  assert.equal(items.length, 10100);
  assert.equal(groups.reduce((n, g) => n + g.ids.length, 0), 10000);
  assert.equal(new Set(groups.flatMap((g) => g.ids)).size, 10000);
  for (let i = 1; i < groups.length; i++) assert.ok(groups[i - 1].stat('summary.acc').mean >= groups[i].stat('summary.acc').mean);
  const g0 = groups[0];
  assert.equal(g0.stat('runtime'), g0.stat('runtime'), 'a column is aggregated once, then kept');
  assert.deepEqual(items.slice(1, 101).map((r) => r['config.g']), Array(100).fill(Number(g0.name)));
});
