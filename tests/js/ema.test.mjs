import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emaSmooth } from '../../python/turbotrack/server/static/lib/ema.js';

test('weight 0 returns the values unchanged', () => {
  assert.deepEqual(emaSmooth([1, 5, 2], 0), [1, 5, 2]);
});

test('debiased: the first point is the first value, not pulled towards zero', () => {
  const out = emaSmooth([10, 20, 30], 0.6);
  assert.equal(out[0], 10);
  // TensorBoard: last = 0.6*last + 0.4*y; smoothed = last / (1 - 0.6^n)
  const l1 = 0.4 * 10;
  const l2 = 0.6 * l1 + 0.4 * 20;
  const l3 = 0.6 * l2 + 0.4 * 30;
  assert.ok(Math.abs(out[1] - l2 / (1 - 0.36)) < 1e-12);
  assert.ok(Math.abs(out[2] - l3 / (1 - 0.216)) < 1e-12);
});

test('a constant series stays constant', () => {
  assert.deepEqual(emaSmooth([3, 3, 3, 3], 0.9), [3, 3, 3, 3]);
});

test('null and NaN pass through without advancing the average', () => {
  const out = emaSmooth([1, null, NaN, 3], 0.5);
  assert.equal(out[1], null);
  assert.ok(Number.isNaN(out[2]));
  assert.ok(Math.abs(out[3] - (0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25)) < 1e-12);
});

test('heavy smoothing stays within the range of the data', () => {
  const ys = Array.from({ length: 100 }, (_, i) => Math.sin(i));
  for (const v of emaSmooth(ys, 0.99)) assert.ok(v >= -1 && v <= 1);
});
