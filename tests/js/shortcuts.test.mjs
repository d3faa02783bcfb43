import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shortcuts, isTyping, keyName } from '../../python/turbotrack/server/static/lib/shortcuts.js';
import { Writer, parseTags, writeUrls } from '../../python/turbotrack/server/static/lib/writes.js';

test('key names and typing targets', () => {
  assert.equal(keyName({ key: '?' }), '?');
  assert.equal(keyName({ key: 'k', ctrlKey: true }), 'Ctrl+k');
  assert.ok(isTyping({ tagName: 'INPUT', type: 'search' }));
  assert.ok(isTyping({ tagName: 'textarea' }));
  assert.ok(isTyping({ tagName: 'DIV', isContentEditable: true }));
  assert.ok(!isTyping({ tagName: 'INPUT', type: 'checkbox' }));
  assert.ok(!isTyping({ tagName: 'BUTTON' }));
  assert.ok(!isTyping(null));
});

test('a key press finds its binding, never while typing (but Escape)', () => {
  const s = new Shortcuts();
  const hits = [];
  s.add({ key: '?', description: 'help', run: () => hits.push('?') });
  s.add({ key: 'Escape', description: 'close', run: () => hits.push('esc') });
  s.add({ key: 'c', description: 'compare', section: 'Runs', run: () => hits.push('c') });
  s.add({ key: 'c', description: 'compare picked', section: 'Runs', run: () => hits.push('c2') });
  s.match({ key: 'c' })?.run(/** @type {any} */ ({}));
  assert.deepEqual(hits, ['c2']);
  assert.equal(s.match({ key: '?', target: { tagName: 'INPUT', type: 'text' } }), null);
  assert.equal(s.match({ key: 'Escape', target: { tagName: 'INPUT', type: 'text' } })?.description, 'close');
  assert.equal(s.match({ key: 'c', ctrlKey: true }), null);
  assert.deepEqual(s.sections(), [
    { section: 'General', items: [{ key: '?', description: 'help' }, { key: 'Escape', description: 'close' }] },
    { section: 'Runs', items: [{ key: 'c', description: 'compare picked' }] },
  ]);
});

test('tags from text', () => {
  assert.deepEqual(parseTags(' a, b ,,a, c d '), ['a', 'b', 'c d']);
  assert.deepEqual(parseTags(''), []);
});

test('writes send the session CSRF token, JSON, and report the server error', async () => {
  const sent = [];
  const fake = async (url, opts) => {
    sent.push({ url, ...opts });
    if (url === '/api/v1/session') return { ok: true, status: 200, json: async () => ({ kind: 'session', csrf: 'tok', writes: true }) };
    if (opts.method === 'PATCH') return { ok: false, status: 409, statusText: 'Conflict', json: async () => ({ error: 'run is running' }) };
    return { ok: true, status: 200, json: async () => ({ deleted: ['a b'] }) };
  };
  const w = new Writer(/** @type {any} */ (fake));
  assert.deepEqual(await w.deleteRuns('e', 'p', ['a b']), { deleted: ['a b'] });
  await assert.rejects(w.editRun('e', 'p', 'r/1', { name: 'x' }), (err) => err.status === 409 && err.message === 'run is running');
  assert.equal(sent.filter((s) => s.url === '/api/v1/session').length, 1);
  const del = sent.find((s) => s.url === '/api/v1/delete/e/p');
  assert.equal(del.method, 'POST');
  assert.equal(del.headers['X-Turbotrack-Csrf'], 'tok');
  assert.equal(del.body, '{"ids":["a b"]}');
  assert.equal(sent.find((s) => s.method === 'PATCH').url, '/api/v1/runs/e/p/r%2F1');
  assert.equal(writeUrls.view('e', 'p', 'my view'), '/api/v1/views/e/p/my%20view');
});

test('a note lists a key the element focused handles, and is never matched', () => {
  const s = new Shortcuts();
  s.add({ key: 'l', section: 'Workspace', description: 'log', run: () => {} });
  s.note({ key: 'Alt+←/→', section: 'Workspace', description: 'move the panel focused' });
  s.note({ key: 'Alt+←/→', section: 'Workspace', description: 'move the panel whose title bar is focused' });
  assert.deepEqual(s.sections(), [{ section: 'Workspace', items: [
    { key: 'l', description: 'log' }, { key: 'Alt+←/→', description: 'move the panel whose title bar is focused' }] }]);
  assert.equal(s.match({ key: 'Alt+←/→' }), null);
  assert.equal(s.match({ key: 'ArrowLeft', altKey: true }), null);
});
