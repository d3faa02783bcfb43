import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtValue } from '../../python/turbotrack/server/static/lib/format.js';

test('a logged list shows as its JSON text, nested lists and dicts included', () => {
  assert.equal(fmtValue([0.1, 0.01]), '[0.1,0.01]');
  assert.equal(fmtValue([1, [2, 3], { k: null }, 'x']), '[1,[2,3],{"k":null},"x"]');
  assert.equal(fmtValue([]), '[]');
});

test('a null shows as nothing, numbers stay short', () => {
  assert.equal(fmtValue(null), '');
  assert.equal(fmtValue(undefined), '');
  assert.equal(fmtValue(0.123456), '0.1235');
  assert.equal(fmtValue({ min: 1 }), '{"min":1}');
});
