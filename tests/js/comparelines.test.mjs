import test from 'node:test';
import assert from 'node:assert/strict';
import { compareRuns } from '../../python/turbotrack/server/static/lib/comparelines.js';

test('every config then summary column, with the differing ones marked', () => {
  const got = compareRuns([
    { id: 'a', 'config.lr': 0.1, 'config.layers': [1, 2], 'summary.acc': NaN, 'summary.x': 1, name: 'a' },
    { id: 'b', 'config.lr': 0.1, 'config.layers': [1, 3], 'summary.acc': NaN, name: 'b' },
  ]);
  assert.deepEqual(got.map((l) => [l.key, l.differs]), [
    ['config.layers', true], ['config.lr', false], ['summary.acc', false], ['summary.x', true],
  ]);
  assert.deepEqual(got[3].values, [1, undefined]);
  assert.equal(compareRuns([{ id: 'a', 'config.n': 1 }, { id: 'b', 'config.n': '1' }])[0].differs, true, 'a number is not its text');
});
