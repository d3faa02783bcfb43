/**
 * Terminal output → HTML: ANSI SGR colours and styles (16, 256 and 24-bit colours, bold, dim,
 * italic, underline), other escape sequences dropped, carriage returns collapsed the way a terminal
 * shows them (a progress bar's last state), and every character of the text HTML-escaped.
 *
 * @module ansi
 */

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const BASE16 = [
  '#000000', '#cd3131', '#0dbc79', '#e5e510', '#2472c8', '#bc3fbc', '#11a8cd', '#e5e5e5',
  '#666666', '#f14c4c', '#23d18b', '#f5f543', '#3b8eea', '#d670d6', '#29b8db', '#ffffff',
];

/** The colour of xterm-256 palette entry n. */
export function color256(n) {
  if (n < 16) return BASE16[n];
  if (n < 232) {
    const i = n - 16;
    const level = (v) => (v === 0 ? 0 : 55 + v * 40);
    return rgb(level(Math.floor(i / 36)), level(Math.floor(i / 6) % 6), level(i % 6));
  }
  const g = 8 + (n - 232) * 10;
  return rgb(g, g, g);
}

function rgb(r, g, b) {
  return `#${[r, g, b].map((v) => Math.max(0, Math.min(255, v | 0)).toString(16).padStart(2, '0')).join('')}`;
}

/** The SGR state: what the next characters look like. */
function freshState() {
  return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false };
}

function applySgr(state, params) {
  const p = params.length ? params : [0];
  for (let i = 0; i < p.length; i++) {
    const n = p[i];
    if (n === 0) Object.assign(state, freshState());
    else if (n === 1) state.bold = true;
    else if (n === 2) state.dim = true;
    else if (n === 3) state.italic = true;
    else if (n === 4) state.underline = true;
    else if (n === 7) state.inverse = true;
    else if (n === 22) state.bold = state.dim = false;
    else if (n === 23) state.italic = false;
    else if (n === 24) state.underline = false;
    else if (n === 27) state.inverse = false;
    else if (n >= 30 && n <= 37) state.fg = BASE16[n - 30];
    else if (n >= 90 && n <= 97) state.fg = BASE16[n - 90 + 8];
    else if (n === 39) state.fg = null;
    else if (n >= 40 && n <= 47) state.bg = BASE16[n - 40];
    else if (n >= 100 && n <= 107) state.bg = BASE16[n - 100 + 8];
    else if (n === 49) state.bg = null;
    else if (n === 38 || n === 48) {
      let c = null;
      if (p[i + 1] === 5 && i + 2 < p.length) {
        c = color256(p[i + 2]);
        i += 2;
      } else if (p[i + 1] === 2 && i + 4 < p.length) {
        c = rgb(p[i + 2], p[i + 3], p[i + 4]);
        i += 4;
      }
      if (c !== null) state[n === 38 ? 'fg' : 'bg'] = c;
    }
  }
}

function styleOf(s) {
  const css = [];
  const fg = s.inverse ? s.bg || '#ffffff' : s.fg;
  const bg = s.inverse ? s.fg || '#000000' : s.bg;
  if (fg) css.push(`color:${fg}`);
  if (bg) css.push(`background:${bg}`);
  if (s.bold) css.push('font-weight:bold');
  if (s.dim) css.push('opacity:.7');
  if (s.italic) css.push('font-style:italic');
  if (s.underline) css.push('text-decoration:underline');
  return css.join(';');
}

// CSI sequences (ESC [ params final), OSC sequences (ESC ] ... BEL or ESC \), and lone two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** What a line shows after carriage returns: the text after the last `\r` (a trailing one ignored). */
export function collapseCarriageReturns(line) {
  const body = line.endsWith('\r') ? line.slice(0, -1) : line;
  const i = body.lastIndexOf('\r');
  return i < 0 ? body : body.slice(i + 1);
}

/**
 * Turns a stream of terminal text into HTML lines, keeping colours across lines and chunks.
 * `push(text)` returns the completed lines; an unfinished last line waits for more text
 * (`partial()` shows it meanwhile).
 */
export class AnsiConverter {
  constructor() {
    this.state = freshState();
    this.buffer = '';
  }

  /**
   * @param {string} text the next chunk
   * @returns {{text: string, html: string}[]} each completed line, as plain text and as HTML
   */
  push(text) {
    this.buffer += text;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop();
    return lines.map((line) => this._line(line, this.state));
  }

  /** The unfinished last line, rendered without consuming it. */
  partial() {
    if (this.buffer === '') return null;
    const copy = { ...this.state };
    return this._line(this.buffer, copy);
  }

  _line(raw, state) {
    const line = collapseCarriageReturns(raw);
    let html = '';
    let plain = '';
    let last = 0;
    let open = styleOf(state);
    const emit = (chunk) => {
      if (chunk === '') return;
      plain += chunk;
      const esc = escapeHtml(chunk);
      html += open ? `<span style="${open}">${esc}</span>` : esc;
    };
    ESCAPE.lastIndex = 0;
    let m;
    while ((m = ESCAPE.exec(line)) !== null) {
      emit(line.slice(last, m.index));
      last = ESCAPE.lastIndex;
      if (m[2] === 'm' && !(m[1] || '').includes('?')) {
        applySgr(state, (m[1] || '').split(';').filter((x) => x !== '').map(Number));
        open = styleOf(state);
      }
    }
    // An escape cut off at the end of a chunk never shows as text.
    emit(line.slice(last).replace(/\x1b\[?[0-9;?]*$/, '')); // eslint-disable-line no-control-regex
    return { text: plain, html };
  }
}

/**
 * The whole of `text` as HTML (lines joined by '\n').
 * @param {string} text
 * @returns {string}
 */
export function ansiToHtml(text) {
  const conv = new AnsiConverter();
  const lines = conv.push(text);
  const tail = conv.partial();
  if (tail) lines.push(tail);
  return lines.map((l) => l.html).join('\n');
}
