import test from 'node:test';
import assert from 'node:assert/strict';
import { SHORTCUTS, shortcutFor } from '../../python/turbotrack/server/static/lib/keys.js';

test('a key names its shortcut, except while typing in a field or with a modifier', () => {
  assert.equal(shortcutFor({ key: '?' }), '?');
  assert.equal(shortcutFor({ key: '/', target: { tagName: 'DIV' } }), '/');
  assert.equal(shortcutFor({ key: 'l', target: { tagName: 'INPUT' } }), null);
  assert.equal(shortcutFor({ key: 'Escape', target: { tagName: 'INPUT' } }), 'Esc');
  assert.equal(shortcutFor({ key: 'l', ctrlKey: true }), null);
  assert.equal(shortcutFor({ key: 'x' }), null);
  assert.ok(SHORTCUTS.every(([k, what, where]) => k && what && where));
});
