import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAnswer, decodeDeep, decodeNumber, isNonFinite, parseJsonText } from '../../python/turbotrack/server/static/lib/nonfinite.js';
import { fmtValue } from '../../python/turbotrack/server/static/lib/format.js';

test('the three strings the server sends become numbers, nothing else changes', () => {
  assert.ok(Number.isNaN(decodeNumber('NaN')));
  assert.equal(decodeNumber('Infinity'), Infinity);
  assert.equal(decodeNumber('-Infinity'), -Infinity);
  for (const v of ['nan', 'inf', '+Infinity', 'Infinity ', 'NaNx', '', '1', 1, null, undefined, true, [1], { a: 1 }])
    assert.deepEqual(decodeNumber(v), v);
});

test('deep: lists and dicts nested in a value', () => {
  const got = decodeDeep({ a: ['NaN', 1, { b: '-Infinity', c: 'text' }], d: 'Infinity', e: null });
  assert.ok(Number.isNaN(got.a[0]));
  assert.equal(got.a[1], 1);
  assert.deepEqual(got.a[2], { b: -Infinity, c: 'text' });
  assert.equal(got.d, Infinity);
  assert.equal(got.e, null);
});

test('runs: summary and config decoded, names, ids and tags kept as sent', () => {
  const answer = {
    total: 2,
    runs: [
      { id: 'NaN', name: 'Infinity', tags: ['NaN'], group: '-Infinity', state: 'finished',
        summary: { loss: 'NaN', best: { max: 'Infinity', min: '-Infinity' }, note: 'ok', _step: 3 },
        config: { lr: 'Infinity', sched: { warm: 'NaN' } } },
      { id: 'b', name: 'b', summary: { loss: 0.5 }, config: {} },
    ],
  };
  const got = decodeAnswer(answer);
  const [r] = got.runs;
  assert.equal(r.id, 'NaN');
  assert.equal(r.name, 'Infinity');
  assert.deepEqual(r.tags, ['NaN']);
  assert.equal(r.group, '-Infinity');
  assert.ok(Number.isNaN(r.summary.loss));
  assert.deepEqual(r.summary.best, { max: Infinity, min: -Infinity });
  assert.equal(r.summary.note, 'ok');
  assert.equal(r.config.lr, Infinity);
  assert.ok(Number.isNaN(r.config.sched.warm));
  assert.equal(got.runs[1].summary.loss, 0.5);
});

test('one run (the run detail): summary and config, its key lists untouched', () => {
  const got = decodeAnswer({ id: 'r', name: 'NaN', summary: { x: '-Infinity' }, config: { y: 'NaN' }, keys: { history: ['NaN', 'loss'], system: [] } });
  assert.equal(got.name, 'NaN');
  assert.equal(got.summary.x, -Infinity);
  assert.ok(Number.isNaN(got.config.y));
  assert.deepEqual(got.keys.history, ['NaN', 'loss']);
});

test('history: columns, and each=1 answers (one history per key)', () => {
  const plain = decodeAnswer({ x_axis: '_step', columns: { _step: [0, 1, 2, 3], loss: [1, 'NaN', 'Infinity', '-Infinity'] } });
  assert.deepEqual(plain.columns._step, [0, 1, 2, 3]);
  assert.equal(plain.columns.loss[0], 1);
  assert.ok(Number.isNaN(plain.columns.loss[1]));
  assert.deepEqual(plain.columns.loss.slice(2), [Infinity, -Infinity]);
  const each = decodeAnswer({ keys: { a: { columns: { _step: [0], a: ['NaN'] } }, b: { columns: { _step: [5], b: ['Infinity'] } } } });
  assert.ok(Number.isNaN(each.keys.a.columns.a[0]));
  assert.equal(each.keys.b.columns.b[0], Infinity);
});

test('rows: every value, media refs kept', () => {
  const got = decodeAnswer({ rows: [{ _step: 0, loss: 'NaN', img: { _type: 'image-file', path: 'media/images/a.png' } }], next: null });
  assert.ok(Number.isNaN(got.rows[0].loss));
  assert.deepEqual(got.rows[0].img, { _type: 'image-file', path: 'media/images/a.png' });
});

test('answers without numbers (projects, files, logs) pass as they came', () => {
  const files = { files: [{ name: 'NaN', size: 3, mtime: 1, kind: 'replace' }] };
  assert.deepEqual(decodeAnswer(structuredClone(files)), files);
  const logs = { text: 'Infinity', offset: 8, running: false };
  assert.deepEqual(decodeAnswer(structuredClone(logs)), logs);
  assert.equal(decodeAnswer(null), null);
  assert.deepEqual(decodeAnswer([1, 'NaN']), [1, 'NaN']);
});

test("a run file's JSON with bare tokens (Python's allow_nan) reads them as numbers", () => {
  const text = '{"columns": ["a", "NaN", "b"], "data": [[NaN, Infinity, -Infinity], ["Infinity", "x NaN y", 1.5]]}';
  const got = parseJsonText(text);
  assert.deepEqual(got.columns, ['a', 'NaN', 'b']);
  assert.ok(Number.isNaN(got.data[0][0]));
  assert.deepEqual(got.data[0].slice(1), [Infinity, -Infinity]);
  assert.deepEqual(got.data[1], ['Infinity', 'x NaN y', 1.5]);
  // Escaped quotes inside strings do not end them.
  assert.deepEqual(parseJsonText('["a\\"NaN", NaN]')[0], 'a"NaN');
  assert.deepEqual(parseJsonText('{"ok": [1, 2]}'), { ok: [1, 2] });
});

test('a run file that is not JSON still fails', () => {
  assert.throws(() => parseJsonText('{"a": NaNa}'), SyntaxError);
  assert.throws(() => parseJsonText('{"a": Nope}'), SyntaxError);
  assert.throws(() => parseJsonText('Infinity Infinity'), SyntaxError);
});

test('shown as NaN, ∞ and −∞, inside lists and dicts too', () => {
  assert.equal(fmtValue(NaN), 'NaN');
  assert.equal(fmtValue(Infinity), '∞');
  assert.equal(fmtValue(-Infinity), '\u2212∞');
  assert.equal(fmtValue([1, NaN, { a: -Infinity, b: Infinity }]), '[1,NaN,{"a":\u2212∞,"b":∞}]');
  assert.equal(fmtValue(['NaN']), '["NaN"]');
  assert.equal(fmtValue({ s: '\u0000NaN' }), '{"s":"\\u0000NaN"}');
  assert.ok(isNonFinite(NaN) && isNonFinite(-Infinity) && !isNonFinite(1) && !isNonFinite('NaN'));
});
