import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRuns, compared, pickAll, sameKey, togglePick, MAX_COMPARE } from '../../python/turbotrack/server/static/lib/compare.js';
import { kindOf, mediaKeys, rowAt, unionSteps } from '../../python/turbotrack/server/static/lib/mediacompare.js';

test('fields side by side, config first, differences marked (missing differs, NaN equals NaN)', () => {
  const a = { id: 'a', name: 'A', 'config.lr': 0.1, 'config.opt': 'adam', 'summary.acc': NaN, 'summary.l': [1, 2] };
  const b = { id: 'b', name: 'B', 'config.lr': 0.1, 'config.opt': 'sgd', 'summary.acc': NaN, 'summary.l': [1, 2], 'config.extra': 1 };
  assert.deepEqual(compareRuns([a, b]), [
    { key: 'config.extra', values: [undefined, 1], differs: true },
    { key: 'config.lr', values: [0.1, 0.1], differs: false },
    { key: 'config.opt', values: ['adam', 'sgd'], differs: true },
    { key: 'summary.acc', values: [NaN, NaN], differs: false },
    { key: 'summary.l', values: [[1, 2], [1, 2]], differs: false },
  ]);
  assert.deepEqual(compareRuns([a, b], { onlyDiff: true }).map((r) => r.key), ['config.extra', 'config.opt']);
});

test('same value: 1 is not "1", -0 is 0, Infinity is not NaN', () => {
  assert.notEqual(sameKey(1), sameKey('1'));
  assert.equal(sameKey(-0), sameKey(0));
  assert.notEqual(sameKey(Infinity), sameKey(NaN));
  assert.equal(sameKey(null), sameKey(undefined));
  assert.notEqual(sameKey({ a: Infinity }), sameKey({ a: null }));
});

test('picking: any number, toggled; pick all keeps the picked first; the first five compared', () => {
  let p = [];
  for (const id of ['1', '2', '3', '4', '5', '6']) p = togglePick(p, id);
  assert.deepEqual(p, ['1', '2', '3', '4', '5', '6']);
  assert.deepEqual(togglePick(p, '4'), ['1', '2', '3', '5', '6']);
  assert.deepEqual(pickAll(['c', 'a'], ['a', 'b', 'c', 'd']), ['c', 'a', 'b', 'd']);
  assert.equal(compared(p).length, MAX_COMPARE);
  assert.deepEqual(compared(p), ['1', '2', '3', '4', '5']);
  assert.deepEqual(compared(['x']), ['x']);
});

test('media keys from summaries, steps united, a run\'s row at a step', () => {
  const runs = [
    { summary: { img: { _type: 'image-file', path: 'x' }, acc: 1, t: { _type: 'table-file' } } },
    { summary: { img: { _type: 'image-file' }, page: { _type: 'html-file' }, h: { _type: 'histogram' }, ten: { _type: 'tensor' } } },
  ];
  assert.deepEqual(mediaKeys(runs), [
    { key: 'h', kind: 'histogram', runs: 1 },
    { key: 'img', kind: 'image-file', runs: 2 },
    { key: 'page', kind: 'html-file', runs: 1 },
    { key: 't', kind: 'table-file', runs: 1 },
  ]);
  assert.equal(kindOf([1]), null);
  const r1 = [{ _step: 0 }, { _step: 10 }, { _step: 20 }];
  const r2 = [{ _step: 5 }, { _step: 15 }];
  assert.deepEqual(unionSteps([r1, r2]), [0, 5, 10, 15, 20]);
  assert.equal(rowAt(r1, 15), r1[1]);
  assert.equal(rowAt(r1, 20), r1[2]);
  assert.equal(rowAt(r1, 99), r1[2]);
  assert.equal(rowAt(r2, 0), r2[0]);
  assert.equal(rowAt([], 3), null);
});
