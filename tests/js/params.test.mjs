import test from 'node:test';
import assert from 'node:assert/strict';
import { axesFor, correlation, importance, position } from '../../python/turbotrack/server/static/lib/params.js';

const rows = [
  { id: 'a', 'config.lr': 0.1, 'config.opt': 'sgd', 'summary.acc': 0.9, 'config.none': null },
  { id: 'b', 'config.lr': 0.01, 'config.opt': 'adam', 'summary.acc': 0.5 },
  { id: 'c', 'config.lr': 0.001, 'config.opt': 'sgd', 'summary.acc': 0.1 },
  { id: 'd', 'config.lr': Infinity, 'config.opt': 'adam', 'summary.acc': NaN },
];

test('numeric and categorical axes; positions in [0, 1], none where a run has no finite value', () => {
  const axes = axesFor(rows, ['config.lr', 'config.opt', 'config.none']);
  assert.deepEqual(axes.map((a) => [a.col, a.kind]), [['config.lr', 'cat'], ['config.opt', 'cat']], 'Infinity makes lr not all finite numbers');
  const [lr] = axesFor(rows.slice(0, 3), ['config.lr']);
  assert.deepEqual([lr.kind, lr.min, lr.max], ['num', 0.001, 0.1]);
  assert.equal(position(lr, 0.1), 1);
  assert.equal(position(lr, 0.001), 0);
  assert.equal(position(lr, null), null);
  const opt = axes[1];
  assert.deepEqual(opt.cats, ['adam', 'sgd']);
  const [decades] = axesFor([{ lr: 0.1 }, { lr: 0.001 }, { lr: 0.01 }], ['lr']);
  assert.equal(decades.log, true);
  assert.equal(position(decades, 0.01), 0.5, 'three decades: 0.01 in the middle');
  assert.equal(lr.log, true);
  assert.equal(axesFor([{ x: 1 }, { x: 50 }], ['x'])[0].log, false);
  assert.deepEqual([position(opt, 'adam'), position(opt, 'sgd'), position(opt, 'x')], [0, 1, null]);
});

test('correlation over finite pairs; importance ranks parameters by its size', () => {
  assert.equal(correlation([1, 2, 3], [2, 4, 6]), 1);
  assert.ok(Math.abs(correlation([1, 2, 3, NaN], [3, 2, 1, 5]) + 1) < 1e-12);
  assert.equal(correlation([1, 1, 1], [1, 2, 3]), null, 'no spread');
  assert.equal(correlation([1, 2], [1, 2]), null, 'too few');
  const got = importance(rows.slice(0, 3), ['config.lr', 'config.opt'], 'summary.acc');
  assert.equal(got[0].col, 'config.lr');
  assert.ok(got[0].r > 0.8 && got[0].n === 3);
  assert.equal(got[1].col, 'config.opt');
});
