import test from 'node:test';
import assert from 'node:assert/strict';
import { DISTINCT, assignColors } from '../../python/turbotrack/server/static/lib/colors.js';
import { colorFor } from '../../python/turbotrack/server/static/lib/format.js';

const runs = (n) => Array.from({ length: n }, (_, i) => ({ id: `id${i}`, created: 1000 + i }));

test('up to 20 runs drawn each get a colour of their own, by creation, whatever their order', () => {
  const rs = runs(20);
  const got = assignColors([...rs].reverse());
  assert.equal(new Set(got.values()).size, 20);
  assert.equal(got.get('id0'), DISTINCT[0]);
  assert.equal(got.get('id19'), DISTINCT[19]);
  assert.deepEqual(assignColors(rs), got, 'the table order does not change them');
});

test('beyond 20 runs the hash colour; a chosen colour wins and is not given to another', () => {
  const got = assignColors(runs(22));
  assert.equal(got.get('id21'), colorFor('id21'));
  const chosen = assignColors(runs(3), { id2: DISTINCT[0] });
  assert.equal(chosen.get('id2'), DISTINCT[0]);
  assert.equal(chosen.get('id0'), DISTINCT[1]);
  assert.equal(chosen.get('id1'), DISTINCT[2]);
  assert.equal(new Set(DISTINCT).size, 20);
});
