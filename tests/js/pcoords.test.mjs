import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutParallel, nearestLine, segmentDistance } from '../../python/turbotrack/server/static/lib/pcoords.js';
import { layoutScatter, nearestPoint } from '../../python/turbotrack/server/static/lib/scatter.js';

const rows = [
  { id: 'a', 'config.lr': 0, 'config.opt': 'adam', 'summary.acc': 1 },
  { id: 'b', 'config.lr': 1, 'config.opt': 'sgd', 'summary.acc': 0 },
  { id: 'c', 'config.lr': 0.5, 'summary.acc': 0.5 },
];
const box = { width: 240, height: 148, pad: 20, top: 24, bottom: 24 };

test('axes spread over the width; each run a polyline, a missing value a gap', () => {
  const L = layoutParallel(rows, ['config.lr', 'config.opt', 'summary.acc'], box);
  assert.deepEqual(L.axes.map((a) => a.x), [20, 120, 220]);
  assert.deepEqual(L.lines[0].points, [[20, 124], [120, 124], [220, 24]]);
  assert.deepEqual(L.lines[1].points, [[20, 24], [120, 24], [220, 124]]);
  assert.deepEqual(L.lines[2].points, [[20, 74], null, [220, 74]]);
  assert.equal(L.axes[1].axis.kind, 'category');
});

test('hover finds the nearest line, never across a gap', () => {
  const L = layoutParallel(rows, ['config.lr', 'config.opt', 'summary.acc'], box);
  assert.equal(nearestLine(L, 70, 124)?.id, 'a');
  assert.equal(nearestLine(L, 70, 26)?.id, 'b');
  assert.equal(nearestLine(L, 120, 74), null); // c has no opt: no segment there
  assert.equal(nearestLine(L, 5, 5), null);
});

test('segment distance', () => {
  assert.equal(segmentDistance(5, 5, [0, 0], [10, 0]), 5);
  assert.equal(segmentDistance(-3, 4, [0, 0], [10, 0]), 5);
  assert.equal(segmentDistance(1, 1, [1, 1], [1, 1]), 0);
});

test('scatter: points placed, runs lacking a value left out, hover finds the point', () => {
  const L = layoutScatter(rows, 'config.lr', 'summary.acc', { width: 200, height: 150, left: 50, bottom: 38 });
  assert.deepEqual(L.box, { left: 50, right: 188, top: 12, bottom: 112 });
  assert.deepEqual(L.points.map((p) => [p.id, p.px, p.py]), [['a', 50, 12], ['b', 188, 112], ['c', 119, 62]]);
  assert.equal(nearestPoint(L, 121, 60)?.id, 'c');
  assert.equal(nearestPoint(L, 90, 90), null);
  const cat = layoutScatter(rows, 'config.opt', 'summary.acc', { width: 200, height: 150 });
  assert.deepEqual(cat.points.map((p) => p.id), ['a', 'b']);
  const lg = layoutScatter([{ id: 'x', a: 1, b: 1 }, { id: 'y', a: 100, b: 2 }, { id: 'z', a: 10, b: 3 }], 'a', 'b', { width: 212, height: 148, left: 0, logX: true });
  assert.equal(lg.points[2].px, 100);
});

test('brushes keep the lines inside every kept range; a gap on a brushed axis fails it', async () => {
  const { axisNear, fractionAt, passes } = await import('../../python/turbotrack/server/static/lib/pcoords.js');
  const L = layoutParallel(rows, ['config.lr', 'config.opt', 'summary.acc'], box);
  assert.equal(axisNear(L, 24)?.axis.key, 'config.lr');
  assert.equal(axisNear(L, 70), null);
  assert.equal(fractionAt(L, 24), 1);
  assert.equal(fractionAt(L, 124), 0);
  assert.equal(fractionAt(L, 500), 0);
  const kept = (b) => L.lines.filter((l) => passes(L, l, b)).map((l) => l.id);
  assert.deepEqual(kept({}), ['a', 'b', 'c']);
  assert.deepEqual(kept({ 'config.lr': [0.4, 1] }), ['b', 'c']);
  assert.deepEqual(kept({ 'config.lr': [1, 0.4] }), ['b', 'c']); // either order
  assert.deepEqual(kept({ 'config.lr': [0.4, 1], 'summary.acc': [0, 0.2] }), ['b']);
  assert.deepEqual(kept({ 'config.opt': [0, 1] }), ['a', 'b']); // c has no opt
  assert.deepEqual(kept({ 'not.shown': [0, 0.1] }), ['a', 'b', 'c']);
});

test('a positive axis over two decades or more is logarithmic (a learning-rate sweep), a narrower one linear', () => {
  const lrs = [{ id: 'a', 'config.lr': 0.1 }, { id: 'b', 'config.lr': 0.001 }, { id: 'c', 'config.lr': 0.01 }, { id: 'd', 'config.lr': 'x' }];
  const L = layoutParallel(lrs, ['config.lr'], box);
  assert.equal(L.axes[0].axis.log, true);
  assert.deepEqual(L.lines.map((l) => (l.points[0] ? l.points[0][1] : null)), [24, 124, 74, null], '0.01 in the middle; text has no place');
  const narrow = layoutParallel([{ id: 'a', 'config.x': 1 }, { id: 'b', 'config.x': 50 }], ['config.x'], box);
  assert.equal(narrow.axes[0].axis.log, false);
  const signed = layoutParallel([{ id: 'a', 'config.x': -1 }, { id: 'b', 'config.x': 1000 }], ['config.x'], box);
  assert.equal(signed.axes[0].axis.log, false, 'a value ≤ 0 keeps it linear');
});
