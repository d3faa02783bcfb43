import test from 'node:test';
import assert from 'node:assert/strict';
import { isoTime, toCsv } from '../../python/turbotrack/server/static/lib/csv.js';

test('quoting, lists, missing values, non-finite numbers and times', () => {
  const rows = [
    { name: 'a,b', tags: ['x', 'y'], 'summary.acc': 0.5, created: 0 },
    { name: 'say "hi"\nthere', tags: [], 'summary.acc': NaN, created: 1.5 },
    { name: 'plain', 'summary.acc': -Infinity, created: null },
  ];
  const csv = toCsv(['name', 'tags', 'summary.acc', 'created'], rows, { created: isoTime });
  assert.equal(csv, [
    'name,tags,summary.acc,created',
    '"a,b",x;y,0.5,1970-01-01T00:00:00.000Z',
    '"say ""hi""\nthere",,NaN,1970-01-01T00:00:01.500Z',
    'plain,,-Infinity,',
    '',
  ].join('\r\n'));
});
