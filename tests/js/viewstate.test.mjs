import test from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_VIEW, fromQuery, toQuery } from '../../python/turbotrack/server/static/lib/viewstate.js';

test('the defaults make no query; every choice goes there and back', () => {
  assert.equal(toQuery(DEFAULT_VIEW), '');
  const v = { xAxis: '_runtime', smoothing: 0.6, log: true, maxRuns: 50, sort: { col: 'summary.acc.max', dir: 'asc' }, filter: 'acc.max > 0.9 and name ~ "a b"', groupBy: 'config.opt' };
  const q = toQuery(v);
  assert.match(q, /^\?x=_runtime&smooth=0.6&log=1&runs=50&sort=%2Bsummary.acc.max&filter=/);
  assert.deepEqual(fromQuery(q), v);
  assert.deepEqual(fromQuery('?sort=-name'), { sort: { col: 'name', dir: 'desc' } });
});

test('bad values are ignored, the rest kept', () => {
  assert.deepEqual(fromQuery('?smooth=2&runs=-3&x=epoch&log=0&sort=-'), { xAxis: 'epoch', log: false });
  assert.deepEqual(fromQuery(''), {});
});
