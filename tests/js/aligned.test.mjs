import test from 'node:test';
import assert from 'node:assert/strict';
import { AlignedData } from '../../python/turbotrack/server/static/lib/aligned.js';
import { alignSeries } from '../../python/turbotrack/server/static/lib/align.js';

test('series on the same steps join without rebuilding the axis', () => {
  const a = new AlignedData();
  assert.equal(a.set('r1', { x: [0, 1, 2], y: [1, 2, 3] }), true);
  assert.deepEqual(a.data(), [[0, 1, 2], [1, 2, 3]]);
  assert.equal(a.set('r2', { x: [0, 2], y: [5, 6] }), false);
  assert.deepEqual(a.data(), [[0, 1, 2], [1, 2, 3], [5, null, 6]]);
});

test('a new x value rebuilds once, when the data is asked for, and matches alignSeries', () => {
  const a = new AlignedData();
  const s1 = { x: [0, 2, 4], y: [1, 2, 3] };
  const s2 = { x: [1, 2, 3], y: [7, 8, 9] };
  const s3 = { x: [5], y: [0] };
  a.set('a', s1);
  a.data();
  assert.equal(a.set('b', s2), true);
  assert.equal(a.set('c', s3), true);
  assert.equal(a.pending.length, 3);
  assert.deepEqual(a.data(), alignSeries([s1, s2, s3]));
  assert.equal(a.pending.length, 0);
});

test('replacing a series keeps its place; deleting one drops its column', () => {
  const a = new AlignedData();
  a.set('a', { x: [0, 1], y: [1, 1] });
  a.set('b', { x: [0, 1], y: [2, 2] });
  a.set('a', { x: [0, 1], y: [3, 4] });
  assert.deepEqual(a.ids(), ['a', 'b']);
  assert.deepEqual(a.data()[1], [3, 4]);
  assert.equal(a.delete('a'), true);
  assert.equal(a.delete('a'), false);
  assert.deepEqual(a.ids(), ['b']);
  assert.deepEqual(a.data(), [[0, 1], [2, 2]]);
  a.clear();
  assert.deepEqual(a.data(), [[]]);
});
