import test from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_CHARS, BATCH_RUNS, chunks, nextBatch } from '../../python/turbotrack/server/static/lib/batch.js';
import { getHistories } from '../../python/turbotrack/server/static/lib/data.js';
import { FetchQueue } from '../../python/turbotrack/server/static/lib/queue.js';
import { pointsOf } from '../../python/turbotrack/server/static/lib/align.js';
import { decodeAnswer } from '../../python/turbotrack/server/static/lib/nonfinite.js';
import { urls } from '../../python/turbotrack/server/static/lib/api.js';

const ids = (n) => Array.from({ length: n }, (_, i) => `run${i}`);

test('a batch: the first run lacking keys and the runs lacking the same ones, in order', () => {
  const lacking = { run0: [], run1: ['a', 'b'], run2: ['a'], run3: ['a', 'b'], run4: ['a', 'b'] };
  const batch = nextBatch(Object.keys(lacking), (id) => lacking[id], { size: 2 });
  assert.deepEqual(batch, { ids: ['run1', 'run3'], keys: ['a', 'b'] });
  assert.deepEqual(nextBatch(['run0'], (id) => lacking[id]), null);
  assert.deepEqual(nextBatch(Object.keys(lacking), (id) => lacking[id], { size: 9 }).ids, ['run1', 'run3', 'run4']);
});

test('a batch is an even share of the runs over the free requests, between min and max', () => {
  const all = ids(300);
  const lacks = () => ['loss'];
  assert.equal(nextBatch(all, lacks, { slots: 7 }).ids.length, BATCH_RUNS);
  assert.equal(nextBatch(ids(60), lacks, { slots: 7 }).ids.length, 9);
  assert.equal(nextBatch(ids(10), lacks, { slots: 7, min: 4 }).ids.length, 4);
  assert.equal(nextBatch(ids(10), lacks, { slots: 0 }).ids.length, 10);
  const long = Array.from({ length: 50 }, (_, i) => `${'x'.repeat(200)}${i}`);
  const batch = nextBatch(long, lacks, { size: 50 });
  assert.ok(batch.ids.join(',').length <= BATCH_CHARS && batch.ids.length < 50);
});

test('chunks cut ids by count and by characters, every id once, in order', () => {
  assert.deepEqual(chunks(ids(5), 2), [['run0', 'run1'], ['run2', 'run3'], ['run4']]);
  const long = Array.from({ length: 30 }, (_, i) => `${'y'.repeat(300)}${i}`);
  const parts = chunks(long, 100);
  assert.deepEqual(parts.flat(), long);
  assert.ok(parts.length > 1 && parts.every((p) => p.join(',').length <= BATCH_CHARS));
  assert.deepEqual(chunks([]), []);
});

test('getHistories asks the batch once, keeps each run under its own URL, and reuses it', async () => {
  const asked = [];
  const fetcher = async (url, opts) => {
    asked.push({ url, opts });
    const runs = new URL(url, 'http://x').searchParams.get('runs').split(',');
    const body = Object.fromEntries(runs.filter((r) => r !== 'gone').map((r) => [r, { keys: { loss: { columns: { _step: [1], loss: [r.length] } } } }]));
    return { data: { runs: body, missing: runs.filter((r) => r === 'gone') }, changed: !opts.revalidate };
  };
  const q = new FetchQueue(fetcher, { width: 2 });
  const params = { keys: 'loss', samples: 10, each: 1 };
  const first = await getHistories('e', 'p', ['a', 'bb', 'gone'], params, {}, q);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].url, urls.histories('e', 'p', ['a', 'bb', 'gone'], params));
  assert.match(asked[0].url, /^\/api\/v1\/histories\/e\/p\?runs=a%2Cbb%2Cgone&keys=loss&samples=10&each=1$/);
  assert.deepEqual([...first.answers.keys()], ['a', 'bb']);
  assert.deepEqual(first.missing, ['gone']);
  assert.deepEqual(q.peek(urls.history('e', 'p', 'bb', params)), first.answers.get('bb'));
  const again = await getHistories('e', 'p', ['bb', 'a', 'ccc'], params, {}, q);
  assert.deepEqual(asked.map((a) => a.url).slice(1), [urls.histories('e', 'p', ['ccc'], params)], 'only the run not kept is asked');
  assert.deepEqual([...again.answers.keys()].sort(), ['a', 'bb', 'ccc']);
  const live = await getHistories('e', 'p', ['a', 'bb'], params, { revalidate: true }, q);
  assert.equal(asked.length, 3, 'a revalidation asks even when kept');
  assert.equal(asked[2].opts.revalidate, true);
  assert.equal(live.changed, false);
});

test('pointsOf carries the bands aligned with its points, sorted with them', () => {
  const hist = {
    columns: { _step: [3, 1, 2, 4], y: [30, 10, null, Infinity] },
    bands: { y: { min: [29, 9, 19, 1], max: [31, 11, 21, Infinity] } },
  };
  const p = pointsOf(hist, '_step', 'y');
  assert.deepEqual(p.x, [1, 3, 4]);
  assert.deepEqual(p.y, [10, 30, Infinity]);
  assert.deepEqual(p.band, { min: [9, 29, 1], max: [11, 31, Infinity] });
  const plain = pointsOf({ columns: hist.columns }, '_step', 'y');
  assert.equal(plain.band, undefined);
  const noValue = pointsOf({ columns: { _step: [1], y: [2] }, bands: { y: { min: [null], max: [null] } } }, '_step', 'y');
  assert.deepEqual(noValue.band, { min: [null], max: [null] });
});

test('a batch answer and its bands have their non-finite strings decoded', () => {
  const data = decodeAnswer({
    runs: { r: { keys: { y: { columns: { y: ['NaN', 1] }, bands: { y: { min: ['-Infinity', 0], max: ['Infinity', 2] } } } } } },
    missing: ['x'],
  });
  const h = data.runs.r.keys.y;
  assert.ok(Number.isNaN(h.columns.y[0]));
  assert.deepEqual(h.bands.y, { min: [-Infinity, 0], max: [Infinity, 2] });
  assert.deepEqual(data.missing, ['x']);
});
