import test from 'node:test';
import assert from 'node:assert/strict';
import { FetchQueue } from '../../python/turbotrack/server/static/lib/queue.js';

/** A fetcher whose answers the test releases one by one. */
function manual() {
  const calls = [];
  const fetcher = (url, opts) => new Promise((resolve, reject) => calls.push({ url, opts, resolve, reject }));
  return { calls, fetcher };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

test('at most `width` in flight; the waiting ones by priority, then in order asked', async () => {
  const { calls, fetcher } = manual();
  const q = new FetchQueue(fetcher, { width: 2 });
  const done = [];
  for (const [url, priority] of [['a', 0], ['b', 0], ['c', 5], ['d', 0], ['zoom', -1]]) {
    q.get(url, { priority }).then(() => done.push(url));
  }
  assert.deepEqual(calls.map((c) => c.url), ['a', 'b']);
  assert.equal(q.free(), 0);
  calls[0].resolve({ data: 1, changed: true });
  await tick();
  assert.deepEqual(calls.map((c) => c.url), ['a', 'b', 'zoom'], 'the zoom jumps the queue');
  calls[1].resolve({ data: 2, changed: true });
  calls[2].resolve({ data: 3, changed: true });
  await tick();
  assert.deepEqual(calls.map((c) => c.url), ['a', 'b', 'zoom', 'd', 'c']);
  calls[3].resolve({ data: 4, changed: true });
  calls[4].resolve({ data: 5, changed: true });
  await tick();
  assert.deepEqual(done, ['a', 'b', 'zoom', 'd', 'c']);
  assert.equal(q.free(), 2);
});

test('one fetch for a url asked twice in flight; a kept answer needs none, unless revalidated', async () => {
  const { calls, fetcher } = manual();
  const q = new FetchQueue(fetcher, { width: 4 });
  const p1 = q.get('u');
  const p2 = q.get('u');
  assert.equal(calls.length, 1);
  calls[0].resolve({ data: 'x', changed: true });
  assert.deepEqual(await p1, { data: 'x', changed: true });
  assert.deepEqual(await p2, { data: 'x', changed: true });
  assert.deepEqual(await q.get('u'), { data: 'x', changed: true });
  assert.equal(calls.length, 1, 'kept: not fetched again');
  const p3 = q.get('u', { revalidate: true });
  assert.equal(calls.length, 2);
  assert.equal(calls[1].opts.revalidate, true);
  calls[1].resolve({ data: 'x', changed: false });
  assert.equal((await p3).changed, false);
});

test('the kept answers are bounded, least recently used dropped; a failure rejects and frees its slot', async () => {
  const q = new FetchQueue(async (url) => {
    if (url === 'bad') throw new Error('500');
    return { data: url, changed: true };
  }, { width: 1, size: 2 });
  await q.get('a');
  await q.get('b');
  await q.get('a'); // a used last: b goes first
  await q.get('c');
  assert.deepEqual([...q.kept.keys()], ['a', 'c']);
  await assert.rejects(q.get('bad'), /500/);
  assert.equal((await q.get('d')).data, 'd');
  await tick();
  assert.equal(q.running, 0);
});
