import test from 'node:test';
import assert from 'node:assert/strict';
import { FrameQueue } from '../../python/turbotrack/server/static/lib/frames.js';

function fake(budgetMs) {
  const frames = [];
  let clock = 0;
  const q = new FrameQueue({ budgetMs, raf: (cb) => frames.push(cb), now: () => clock });
  return { q, frames, tick: (ms) => { clock += ms; }, next: () => frames.shift()() };
}

test('a job queued twice before its frame runs once, with the latest function', () => {
  const { q, frames, next } = fake(100);
  const ran = [];
  q.add('a', () => ran.push('a1'));
  q.add('b', () => ran.push('b'));
  q.add('a', () => ran.push('a2'));
  assert.equal(frames.length, 1, 'one frame asked for');
  next();
  assert.deepEqual(ran, ['a2', 'b']);
  assert.equal(frames.length, 0, 'nothing left: no frame asked for');
});

test('jobs beyond the budget wait for the next frames, at least one a frame', () => {
  const { q, frames, tick, next } = fake(10);
  const ran = [];
  for (const k of ['a', 'b', 'c', 'd']) q.add(k, () => { ran.push(k); tick(6); });
  next();
  assert.deepEqual(ran, ['a', 'b']);
  assert.equal(frames.length, 1);
  next();
  assert.deepEqual(ran, ['a', 'b', 'c', 'd']);
  q.add('slow', () => tick(50));
  q.add('after', () => ran.push('after'));
  next();
  assert.equal(ran.at(-1), 'd', 'a job over budget ends its frame');
  next();
  assert.equal(ran.at(-1), 'after');
});

test('a failing job does not stop the others; deleted jobs do not run', () => {
  const { q, next } = fake(100);
  const ran = [];
  const orig = console.error;
  console.error = () => {};
  try {
    q.add('bad', () => { throw new Error('x'); });
    q.add('gone', () => ran.push('gone'));
    q.add('ok', () => ran.push('ok'));
    q.delete('gone');
    assert.equal(q.has('gone'), false);
    next();
  } finally {
    console.error = orig;
  }
  assert.deepEqual(ran, ['ok']);
});
