import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binHistograms, thin } from '../../python/turbotrack/server/static/lib/heatmap.js';
import { alignSeries, pointsOf } from '../../python/turbotrack/server/static/lib/align.js';

const near = (a, b) => Math.abs(a - b) < 1e-9;

test('counts spread over the rows a bin overlaps, total preserved', () => {
  const g = binHistograms([{ step: 0, bins: [0, 1, 2], values: [4, 2] }, { step: 5, bins: [0, 4], values: [8] }], 4, 'global');
  assert.deepEqual(g.steps, [0, 5]);
  assert.equal(g.lo, 0);
  assert.equal(g.hi, 4);
  assert.deepEqual(Array.from(g.cells.slice(0, 4)), [4, 2, 0, 0]);
  assert.deepEqual(Array.from(g.cells.slice(4, 8)), [2, 2, 2, 2]);
  assert.equal(g.max, 4);
});

test('a bin across row edges splits in proportion', () => {
  const g = binHistograms([{ step: 0, bins: [0, 0.5, 2], values: [0, 3] }], 2, 'global');
  assert.ok(near(g.cells[0], 1) && near(g.cells[1], 2));
});

test('column normalisation scales each step to its peak', () => {
  const g = binHistograms([{ step: 0, bins: [0, 1, 2], values: [10, 5] }, { step: 1, bins: [0, 1, 2], values: [1, 2] }], 2);
  assert.deepEqual(Array.from(g.cells), [1, 0.5, 0.5, 1]);
  assert.equal(g.max, 1);
});

test('malformed or empty input gives an empty grid', () => {
  assert.equal(binHistograms([{ step: 0, bins: [0], values: [1] }], 8).steps.length, 0);
  assert.equal(binHistograms([], 8).max, 0);
  const g = binHistograms([{ step: 0, bins: [3, 3], values: [2] }], 4, 'global');
  assert.equal(g.cells.reduce((a, b) => a + b, 0), 2);
});

test('thin keeps ends and spreads evenly', () => {
  assert.deepEqual(thin([1, 2, 3], 5), [1, 2, 3]);
  assert.deepEqual(thin([0, 1, 2, 3, 4, 5, 6, 7, 8], 3), [0, 4, 8]);
});

test('series align on the union of x with nulls', () => {
  assert.deepEqual(alignSeries([{ x: [0, 2], y: [1, 3] }, { x: [1, 2], y: [5, 6] }]), [[0, 1, 2], [1, null, 3], [null, 5, 6]]);
});

test('points skip missing values and sort by x', () => {
  const hist = { columns: { _step: [2, 0, 1, 3, NaN, 5], a: [0.2, null, 0.1, NaN, 1, 'x'] } };
  const p = pointsOf(hist, '_step', 'a');
  assert.deepEqual(p.x, [1, 2, 3]);
  assert.deepEqual(p.y.slice(0, 2), [0.1, 0.2]);
  assert.ok(Number.isNaN(p.y[2]));
});
