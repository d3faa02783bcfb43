import test from 'node:test';
import assert from 'node:assert/strict';
import { RunStore, SINCE_MARGIN_S, fingerprint } from '../../python/turbotrack/server/static/lib/runstore.js';

/** A fake server of `runs` (ids r0..), answering pages and `since` polls, recording what was asked. */
function server(n) {
  const runs = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, name: `run-${i}`, runtime: 1, summary: {}, heartbeat: 0 }));
  const asked = [];
  let clock = 100;
  const get = async (params) => {
    asked.push(params);
    if (params.since !== undefined) {
      return { runs: runs.filter((r) => r.heartbeat >= params.since), total: runs.length, now: clock };
    }
    const page = runs.slice(params.offset, params.offset + params.limit);
    return { runs: page, total: runs.length, now: clock };
  };
  return { runs, asked, get, tick: (s) => { clock += s; return clock; } };
}

test('the first page at once, the rest page by page', async () => {
  const srv = server(2500);
  const store = new RunStore(srv.get);
  await store.first(200, '-created_at');
  assert.equal(store.runs.length, 200);
  assert.equal(store.total, 2500);
  assert.equal(store.complete(), false);
  const pages = [];
  await store.rest(1000, '-created_at', (added) => pages.push(added.length));
  assert.deepEqual(pages, [1000, 1000, 300]);
  assert.equal(store.complete(), true);
  assert.deepEqual(store.runs.map((r) => r.id), srv.runs.map((r) => r.id));
  assert.deepEqual(srv.asked.map((p) => p.offset), [0, 200, 1200, 2200]);
  assert.ok(srv.asked.every((p) => p.order === '-created_at'));
});

test('a poll asks since the last now less a margin and tells added, changed and moved runs apart', async () => {
  const srv = server(3);
  const store = new RunStore(srv.get);
  await store.first(10);
  const t = srv.tick(5);
  srv.runs[0] = { ...srv.runs[0], runtime: 9, heartbeat: t };
  srv.runs[1] = { ...srv.runs[1], summary: { acc: 1 }, heartbeat: t };
  srv.runs.push({ id: 'new', name: 'new', runtime: 0, summary: {}, heartbeat: t });
  const got = await store.poll();
  assert.equal(srv.asked.at(-1).since, 100 - SINCE_MARGIN_S);
  assert.deepEqual(got.added.map((r) => r.id), ['new']);
  assert.deepEqual(got.changed.map((r) => r.id), ['r1']);
  assert.deepEqual(got.moved.map((r) => r.id), ['r0']);
  assert.equal(got.stale, false);
  assert.equal(store.runs.length, 4);
  assert.equal(store.runs[0].runtime, 9);
  assert.equal(store.now, 105);
  const again = await store.poll();
  assert.equal(srv.asked.at(-1).since, 105 - SINCE_MARGIN_S);
  assert.deepEqual([again.added, again.changed, again.moved], [[], [], []], 'the same answer again: nothing new');
});

test('a deleted run makes the store stale; polls before every page is here add nothing out of order', async () => {
  const srv = server(3);
  const store = new RunStore(srv.get);
  await store.first(10);
  srv.runs.pop();
  assert.equal((await store.poll()).stale, true);
  const big = server(5);
  const partial = new RunStore(big.get);
  await partial.first(2);
  big.runs[4] = { ...big.runs[4], heartbeat: 200 };
  const got = partial.merge({ runs: [big.runs[4], { ...big.runs[0], name: 'renamed' }], total: 5, now: 201 });
  assert.deepEqual(got.added, [], 'a run not loaded yet waits for its page');
  assert.deepEqual(got.changed.map((r) => r.name), ['renamed']);
  assert.equal(partial.runs.length, 2);
});

test('the fingerprint leaves out runtime and heartbeat', () => {
  assert.equal(fingerprint({ id: 'a', runtime: 1, heartbeat: 2 }), fingerprint({ id: 'a', runtime: 5, heartbeat: 9 }));
  assert.notEqual(fingerprint({ id: 'a', state: 'running' }), fingerprint({ id: 'a', state: 'finished' }));
});

test('a filtered first page, then every run from the top, unfiltered', async () => {
  const runs = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, even: i % 2 === 0 }));
  const asked = [];
  const get = async (p) => {
    asked.push(p);
    const pool = p.filters ? runs.filter((r) => r.even) : runs;
    return { runs: pool.slice(p.offset, p.offset + p.limit), total: pool.length, now: 1 };
  };
  const store = new RunStore(get);
  await store.first(10, undefined, { even: true });
  assert.equal(asked[0].filters, '{"even":true}');
  assert.deepEqual([store.runs.length, store.total, store.complete()], [10, 25, false]);
  assert.ok(store.runs.every((r) => r.even));
  await store.rest(20);
  assert.deepEqual(asked.slice(1).map((p) => [p.offset, p.filters]), [[0, undefined], [20, undefined], [40, undefined]]);
  assert.equal(store.total, 50);
  assert.equal(store.complete(), true);
  assert.deepEqual(new Set(store.runs.map((r) => r.id)).size, 50);
});
