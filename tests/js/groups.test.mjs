import test from 'node:test';
import assert from 'node:assert/strict';
import { NO_VALUE, aggregate, groupRuns } from '../../python/turbotrack/server/static/lib/groups.js';

test('runs grouped by a column, in the order of their first run; no value is a group too', () => {
  const rows = [
    { id: 'a', 'config.opt': 'sgd' }, { id: 'b', 'config.opt': 'adam' }, { id: 'c', 'config.opt': 'sgd' },
    { id: 'd' }, { id: 'e', 'config.opt': 0.1 },
  ];
  assert.deepEqual([...groupRuns(rows, 'config.opt')], [['sgd', ['a', 'c']], ['adam', ['b']], [NO_VALUE, ['d']], ['0.1', ['e']]]);
});

test('mean, min and max at each x, over the series with a finite value there', () => {
  const got = aggregate([
    { x: [0, 1, 2], y: [1, 2, 3] },
    { x: [0, 2, 3], y: [3, NaN, 5] },
    { x: [1], y: [null] },
  ]);
  assert.deepEqual(got, { x: [0, 1, 2, 3], mean: [2, 2, 3, 5], min: [1, 2, 3, 5], max: [3, 2, 3, 5], n: [2, 1, 1, 1] });
  assert.deepEqual(aggregate([]), { x: [], mean: [], min: [], max: [], n: [] });
});
