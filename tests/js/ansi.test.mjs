import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ansiToHtml, AnsiConverter, escapeHtml, color256, collapseCarriageReturns } from '../../python/turbotrack/server/static/lib/ansi.js';

test('text is HTML-escaped', () => {
  assert.equal(ansiToHtml('<script>alert("x")</script> & \'q\''), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;');
  assert.equal(escapeHtml('a<b'), 'a&lt;b');
});

test('escaped inside coloured spans too', () => {
  assert.equal(ansiToHtml('\x1b[31m<b>\x1b[0m'), '<span style="color:#cd3131">&lt;b&gt;</span>');
});

test('16 colours, bright, background, bold, reset', () => {
  assert.equal(ansiToHtml('\x1b[1;32mok\x1b[0m plain'), '<span style="color:#0dbc79;font-weight:bold">ok</span> plain');
  assert.equal(ansiToHtml('\x1b[91;44mx'), '<span style="color:#f14c4c;background:#2472c8">x</span>');
  assert.equal(ansiToHtml('\x1b[31ma\x1b[39mb'), '<span style="color:#cd3131">a</span>b');
  assert.equal(ansiToHtml('\x1b[mplain'), 'plain');
});

test('256 and 24-bit colours', () => {
  assert.equal(color256(196), '#ff0000');
  assert.equal(color256(232), '#080808');
  assert.equal(ansiToHtml('\x1b[38;5;196mr'), '<span style="color:#ff0000">r</span>');
  assert.equal(ansiToHtml('\x1b[48;2;1;2;3mr'), '<span style="background:#010203">r</span>');
});

test('other escapes are dropped, carriage returns collapse', () => {
  assert.equal(ansiToHtml('a\x1b[2Kb\x1b[1Ac'), 'abc');
  assert.equal(ansiToHtml('\x1b]0;title\x07x'), 'x');
  assert.equal(collapseCarriageReturns('10%\r50%\r100%'), '100%');
  assert.equal(ansiToHtml('10%\r100%\r\nnext'), '100%\nnext');
});

test('colour carries across lines and chunks; partial lines wait', () => {
  const c = new AnsiConverter();
  assert.deepEqual(c.push('\x1b[33mwarn\nstill'), [{ text: 'warn', html: '<span style="color:#e5e510">warn</span>' }]);
  assert.equal(c.partial().html, '<span style="color:#e5e510">still</span>');
  const lines = c.push(' yellow\x1b[0m\nplain\n');
  assert.deepEqual(lines.map((l) => l.text), ['still yellow', 'plain']);
  assert.equal(lines[1].html, 'plain');
  assert.equal(c.partial(), null);
});

test('an escape cut at the end of a chunk is not shown', () => {
  const c = new AnsiConverter();
  c.push('abc\x1b[3');
  assert.equal(c.partial().text, 'abc');
  assert.deepEqual(c.push('1mred\n').map((l) => l.html), ['abc<span style="color:#cd3131">red</span>']);
});
