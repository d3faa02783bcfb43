import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, compileFilter, tokenize, looksLikeExpression, toMongo } from '../../python/turbotrack/server/static/lib/filter.js';
import { runRow, dataColumns } from '../../python/turbotrack/server/static/lib/columns.js';

const runs = [
  { id: 'a1', name: 'resnet-a', state: 'running', tags: ['baseline'], group: 'g1', config: { lr: 0.01 }, summary: { acc: { max: 0.95, last: 0.9 }, loss: 0.1 } },
  { id: 'b2', name: 'vit-b', state: 'finished', tags: [], group: null, config: { lr: 0.001 }, summary: { acc: { max: 0.85, last: 0.8 } } },
  { id: 'c3', name: 'resnet-c', state: 'crashed', tags: ['baseline', 'big'], group: 'g2', config: { lr: 0.01 }, summary: {} },
];
const rows = runs.map(runRow);
const known = new Set(dataColumns(rows));
const names = (text) => rows.filter(compileFilter(text, known).test).map((r) => r.id);

test('parses comparisons, and/or/not and parentheses', () => {
  assert.deepEqual(parseFilter('acc.max > 0.9'), { field: 'acc.max', op: '>', value: 0.9 });
  assert.deepEqual(parseFilter('a = 1 and (b != "x y" or not c <= -2)'), {
    and: [{ field: 'a', op: '=', value: 1 }, { or: [{ field: 'b', op: '!=', value: 'x y' }, { not: { field: 'c', op: '<=', value: -2 } }] }],
  });
  assert.deepEqual(tokenize('x==1&&y!~z').map((t) => t[1]), ['x', '=', '1', 'and', 'y', '!~', 'z']);
});

test('malformed expressions throw a SyntaxError', () => {
  for (const bad of ['acc >', '> 1', 'a = 1 and', '(a = 1', 'a = "x']) assert.throws(() => parseFilter(bad), SyntaxError, bad);
  const f = compileFilter('acc >', known);
  assert.ok(f.error);
  assert.equal(rows.filter(f.test).length, 0);
});

test('summary dict words and config columns', () => {
  assert.deepEqual(names('acc.max > 0.9'), ['a1']);
  assert.deepEqual(names('config.lr = 0.01'), ['a1', 'c3']);
  assert.deepEqual(names('lr = 0.001'), ['b2']);
  assert.deepEqual(names('acc.last >= 0.8 and acc.max < 0.9'), ['b2']);
});

test('state, tags, contains, null', () => {
  assert.deepEqual(names('state = running'), ['a1']);
  assert.deepEqual(names('state = RUNNING or state = crashed'), ['a1', 'c3']);
  assert.deepEqual(names('tags = big'), ['c3']);
  assert.deepEqual(names('tags != baseline'), ['b2']);
  assert.deepEqual(names('name ~ resnet'), ['a1', 'c3']);
  assert.deepEqual(names('name !~ resnet'), ['b2']);
  assert.deepEqual(names('group = null'), ['b2']);
  assert.deepEqual(names('group != null'), ['a1', 'c3']);
});

test('a missing value fails comparisons', () => {
  assert.deepEqual(names('loss < 1'), ['a1']);
  assert.deepEqual(names('not loss < 1'), ['b2', 'c3']);
});

test('plain words search name, id, tags and group', () => {
  assert.equal(looksLikeExpression('resnet big'), false);
  assert.deepEqual(names('resnet'), ['a1', 'c3']);
  assert.deepEqual(names('resnet big'), ['c3']);
  assert.deepEqual(names('B2'), ['b2']);
  assert.deepEqual(names(''), ['a1', 'b2', 'c3']);
});

test('toMongo: the filter box as the API query', () => {
  const known = new Set(['summary.acc.max', 'config.lr', 'config.opt']);
  assert.equal(toMongo('', known), null);
  assert.deepEqual(toMongo('acc.max > 0.9 and lr = 0.01', known), {
    $and: [{ 'summary_metrics.acc.max': { $gt: 0.9 } }, { 'config.lr': { $eq: 0.01 } }],
  });
  assert.deepEqual(toMongo('opt = Adam.W or not state ~ run', known), {
    $or: [{ 'config.opt': { $regex: '^Adam\\.W$', $options: 'i' } }, { $nor: [{ state: { $regex: 'run', $options: 'i' } }] }],
  });
  assert.deepEqual(toMongo('group = null and tags != null and name !~ x', known), {
    $and: [{ $and: [{ group: null }, { tags: { $exists: true } }] }, { display_name: { $not: { $regex: 'x', $options: 'i' } } }],
  });
  assert.deepEqual(toMongo('res net', known).$and[1].$or[0], { display_name: { $regex: 'net', $options: 'i' } });
  assert.equal(toMongo('runtime > 5', known), null, 'the API has no runtime field');
  assert.equal(toMongo('name > b', known), null, 'text order differs');
  assert.equal(toMongo('acc.max >', known), null, 'malformed');
});
