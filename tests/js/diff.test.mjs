import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffToHtml, diffLineKind } from '../../python/turbotrack/server/static/lib/diff.js';

const patch = ['diff --git a/x.py b/x.py', 'index 1..2 100644', '--- a/x.py', '+++ b/x.py', '@@ -1,2 +1,2 @@', ' keep', '-old <a>', '+new & improved', ''].join('\n');

test('each line gets its kind', () => {
  assert.deepEqual(patch.split('\n').slice(0, 8).map(diffLineKind), ['meta', 'meta', 'file', 'file', 'hunk', 'ctx', 'del', 'add']);
});

test('HTML is escaped and classed, no trailing empty line', () => {
  const html = diffToHtml(patch);
  assert.ok(html.includes('<span class="diff-del">-old &lt;a&gt;</span>'));
  assert.ok(html.includes('<span class="diff-add">+new &amp; improved</span>'));
  assert.equal(html.split('\n').length, 8);
});
