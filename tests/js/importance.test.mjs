import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etaSquared, importance, pearson, quantileBins, ranks, spearman } from '../../python/turbotrack/server/static/lib/importance.js';

const close = (a, b) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('Pearson and Spearman match numpy (ties at their mean rank)', () => {
  close(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 0.7745966692414834);
  close(spearman([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 0.7378647873726218);
  close(pearson([0.001, 0.01, 0.1, 1, 10, 100], [1, 2, 3, 4, 5, 6]), 0.7074817012992031);
  close(spearman([0.001, 0.01, 0.1, 1, 10, 100], [1, 2, 3, 4, 5, 6]), 1);
  close(pearson([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(pearson([1, 1, 1], [1, 2, 3]), null);
  assert.equal(pearson([1], [1]), null);
  assert.deepEqual(ranks([10, 20, 10, 30]), [1.5, 3, 1.5, 4]);
});

test('eta squared: the share of variance between groups', () => {
  close(etaSquared(['a', 'a', 'b', 'b', 'c', 'c'], [1, 2, 5, 6, 9, 10]), 0.9770992366412213);
  assert.equal(etaSquared(['a', 'b'], [1, 1]), null);
  assert.equal(etaSquared(['a', 'a'], [1, 2]), null);
  assert.deepEqual(quantileBins([5, 1, 3, 2, 4, 6], 3), [2, 0, 1, 0, 1, 2]);
});

test('importance ranks what explains the metric first, for numeric and categorical params', () => {
  const rows = [];
  for (let i = 0; i < 12; i++) {
    const opt = ['adam', 'sgd', 'rms'][i % 3];
    const lr = 10 ** -(i % 4);
    // acc depends on opt strongly, on lr a little, not on seed
    rows.push({ id: String(i), 'config.opt': opt, 'config.lr': lr, 'config.seed': Math.floor(i / 3) % 2, 'summary.acc': { adam: 0.9, sgd: 0.5, rms: 0.7 }[opt] + lr * 0.01 });
  }
  rows.push({ id: 'x', 'config.opt': 'adam' }); // no metric: not counted
  const out = importance(rows, ['config.seed', 'config.lr', 'config.opt', 'summary.acc'], 'summary.acc');
  assert.deepEqual(out.map((o) => o.param), ['config.opt', 'config.lr', 'config.seed']);
  assert.equal(out[0].kind, 'category');
  assert.equal(out[0].pearson, null);
  assert.ok(out[0].importance > 0.99);
  assert.equal(out[0].n, 12);
  assert.equal(out[1].kind, 'number');
  assert.ok(out[1].spearman !== null && out[1].pearson !== null);
  assert.ok(out[2].importance < out[0].importance);
});

test('too few runs, or a text param with a value per run, give nulls', () => {
  const two = [{ id: 'a', p: 1, m: 1 }, { id: 'b', p: 2, m: 2 }];
  assert.deepEqual(importance(two, ['p'], 'm')[0], { param: 'p', kind: 'number', n: 2, pearson: null, spearman: null, importance: null });
  const names = Array.from({ length: 6 }, (_, i) => ({ id: String(i), p: `n${i}`, m: i }));
  assert.equal(importance(names, ['p'], 'm')[0].importance, null);
});
