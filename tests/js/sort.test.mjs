import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortBy, compareValues, isMissing } from '../../python/turbotrack/server/static/lib/sort.js';

test('numbers sort by value, not as text', () => {
  assert.deepEqual(sortBy([10, 9, 100, 1], (x) => x), [1, 9, 10, 100]);
  assert.deepEqual(sortBy([10, 9, 100, 1], (x) => x, 'desc'), [100, 10, 9, 1]);
});

test('null, undefined and NaN go last in both directions', () => {
  const items = [{ v: 2 }, { v: null }, { v: NaN }, { v: 1 }, {}, { v: 3 }];
  assert.deepEqual(sortBy(items, (r) => r.v).map((r) => r.v).slice(0, 3), [1, 2, 3]);
  assert.deepEqual(sortBy(items, (r) => r.v, 'desc').map((r) => r.v).slice(0, 3), [3, 2, 1]);
  for (const dir of ['asc', 'desc']) assert.ok(sortBy(items, (r) => r.v, dir).slice(3).every((r) => isMissing(r.v)));
});

test('strings sort naturally; numbers come before strings', () => {
  assert.deepEqual(sortBy(['run-10', 'run-2', 'Run-1'], (x) => x), ['Run-1', 'run-2', 'run-10']);
  assert.ok(compareValues(5, 'a') < 0);
});

test('sorting is stable', () => {
  const items = [{ k: 1, n: 'a' }, { k: 0, n: 'b' }, { k: 1, n: 'c' }, { k: 0, n: 'd' }];
  assert.deepEqual(sortBy(items, (r) => r.k).map((r) => r.n), ['b', 'd', 'a', 'c']);
  assert.deepEqual(sortBy(items, (r) => r.k, 'desc').map((r) => r.n), ['a', 'c', 'b', 'd']);
});

test('10,000 rows sort well within budget', () => {
  const rows = Array.from({ length: 10000 }, (_, i) => ({ v: i % 7 === 0 ? null : Math.random() }));
  const t0 = performance.now();
  const out = sortBy(rows, (r) => r.v, 'desc');
  assert.ok(performance.now() - t0 < 200);
  for (let i = 1; i < out.length; i++) if (out[i].v !== null && out[i - 1].v !== null) assert.ok(out[i - 1].v >= out[i].v);
});
