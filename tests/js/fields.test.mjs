import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisOf, fieldsOf, numeric, position, ticks, MAX_CATEGORIES } from '../../python/turbotrack/server/static/lib/fields.js';

const rows = [
  { id: 'a', 'config.lr': 0.1, 'config.opt': 'adam', 'config.flag': true, 'summary.acc': 0.9, 'config.list': [1] },
  { id: 'b', 'config.lr': 0.01, 'config.opt': 'sgd', 'config.flag': false, 'summary.acc': 0.5 },
  { id: 'c', 'config.lr': 0.001, 'config.opt': 'adam', 'summary.acc': NaN, 'summary.only': 1 },
];

test('numbers, booleans as 0/1; NaN, text and lists are not numbers', () => {
  assert.deepEqual([numeric(2), numeric(true), numeric(false), numeric(NaN), numeric(Infinity), numeric('1'), numeric(null)], [2, 1, 0, null, null, null, null]);
});

test('fields: config first, kinds told, lists and single-run fields left out', () => {
  assert.deepEqual(fieldsOf(rows), [
    { key: 'config.flag', kind: 'number', count: 2 },
    { key: 'config.lr', kind: 'number', count: 3 },
    { key: 'config.opt', kind: 'category', count: 3 },
    { key: 'summary.acc', kind: 'number', count: 2 },
  ]);
});

test('a text field with too many values is no axis; a mixed one neither', () => {
  const many = Array.from({ length: MAX_CATEGORIES + 1 }, (_, i) => ({ id: String(i), 'config.path': `p${i}`, 'config.mix': i % 2 ? 'x' : 1 }));
  assert.deepEqual(fieldsOf(many), []);
});

test('numeric axis: range, position, log scale, a flat one widened', () => {
  const ax = axisOf(rows, 'config.lr');
  assert.equal(position(ax, 0.1), 1);
  assert.equal(position(ax, 0.001), 0);
  const lg = axisOf(rows, 'config.lr', { log: true });
  assert.ok(lg.log);
  assert.ok(Math.abs(position(lg, 0.01) - 0.5) < 1e-12);
  assert.equal(position(lg, -1), null);
  const flat = axisOf([{ x: 3 }, { x: 3 }], 'x');
  assert.equal(position(flat, 3), 0.5);
  assert.equal(position(ax, 'text'), null);
  assert.equal(position(axisOf(rows, 'summary.acc'), NaN), null);
  assert.deepEqual(ticks(lg, String).map((t) => t.at), [0, 0.25, 0.5, 0.75, 1]);
  assert.ok(Math.abs(Number(ticks(lg, String)[2].label) - 0.01) < 1e-12);
});

test('log is refused when a value is not positive', () => {
  assert.equal(axisOf([{ x: 0 }, { x: 1 }], 'x', { log: true }).log, false);
});

test('categorical axis: sorted categories spread from 0 to 1', () => {
  const ax = axisOf(rows, 'config.opt');
  assert.deepEqual(ax.cats, ['adam', 'sgd']);
  assert.equal(position(ax, 'adam'), 0);
  assert.equal(position(ax, 'sgd'), 1);
  assert.equal(position(ax, 'rmsprop'), null);
  assert.equal(position(axisOf([{ k: 'x' }], 'k'), 'x'), 0.5);
  assert.deepEqual(ticks(ax, String), [{ at: 0, label: 'adam' }, { at: 1, label: 'sgd' }]);
});
