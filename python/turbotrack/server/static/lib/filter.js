/**
 * The runs table's filter: plain words, or expressions over columns.
 *
 * Plain text (`resnet adam`): every word must appear in a run's name, id, state, group or tags.
 * An expression: comparisons joined by `and`/`or` (`&&`, `||`), negated by `not`, grouped by parentheses:
 *
 *   acc.max > 0.9            summary column (a summary dict's word: acc.max, acc.last)
 *   config.lr = 0.01         config column; `lr = 0.01` also works when no summary `lr` exists
 *   state = running and tags = baseline     (`=` on tags means "has the tag")
 *   name ~ res               ~ contains, !~ does not (case-insensitive)
 *   group != null            null means "no value"
 *
 * Operators: `=` `==` `!=` `>` `>=` `<` `<=` `~` `!~`. Values: numbers, `"quoted"` or bare words,
 * `true`, `false`, `null`. A missing value fails every comparison except `= null` and `!=`.
 *
 * @module filter
 */

import { resolveColumn } from './columns.js';
import { isMissing } from './sort.js';

const OPS = ['>=', '<=', '!=', '==', '!~', '=', '>', '<', '~'];

/** Split an expression into tokens: [kind, text]. */
export function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push(['paren', c]);
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        s += text[j++];
      }
      if (j >= text.length) throw new SyntaxError(`unclosed quote at ${i + 1}`);
      tokens.push(['string', s]);
      i = j + 1;
    } else if (text.startsWith('&&', i) || text.startsWith('||', i)) {
      tokens.push(['word', text.slice(i, i + 2) === '&&' ? 'and' : 'or']);
      i += 2;
    } else {
      const op = OPS.find((o) => text.startsWith(o, i));
      if (op) {
        tokens.push(['op', op === '==' ? '=' : op]);
        i += op.length;
      } else if (c === '!') {
        tokens.push(['word', 'not']);
        i++;
      } else {
        let j = i;
        while (j < text.length && !/[\s()"'=<>~!&|]/.test(text[j])) j++;
        tokens.push(['word', text.slice(i, j)]);
        i = j;
      }
    }
  }
  return tokens;
}

/**
 * Parse an expression into a tree: {and: [a, b]}, {or: [a, b]}, {not: a}, {field, op, value}.
 * @param {string} text
 * @throws {SyntaxError} on malformed input
 */
export function parseFilter(text) {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (w) => peek() && peek()[0] === 'word' && peek()[1].toLowerCase() === w;

  function parseOr() {
    let left = parseAnd();
    while (isWord('or')) {
      pos++;
      left = { or: [left, parseAnd()] };
    }
    return left;
  }
  function parseAnd() {
    let left = parseNot();
    while (isWord('and')) {
      pos++;
      left = { and: [left, parseNot()] };
    }
    return left;
  }
  function parseNot() {
    if (isWord('not')) {
      pos++;
      return { not: parseNot() };
    }
    return parsePrimary();
  }
  function parsePrimary() {
    const t = peek();
    if (!t) throw new SyntaxError('expression ends too early');
    if (t[0] === 'paren' && t[1] === '(') {
      pos++;
      const inner = parseOr();
      if (!peek() || peek()[1] !== ')') throw new SyntaxError('missing )');
      pos++;
      return inner;
    }
    if (t[0] !== 'word') throw new SyntaxError(`expected a column name, got ${t[1]}`);
    pos++;
    const opTok = peek();
    if (!opTok || opTok[0] !== 'op') throw new SyntaxError(`expected an operator after ${t[1]}`);
    pos++;
    const v = peek();
    if (!v || (v[0] !== 'word' && v[0] !== 'string')) throw new SyntaxError(`expected a value after ${t[1]} ${opTok[1]}`);
    pos++;
    return { field: t[1], op: opTok[1], value: v[0] === 'string' ? v[1] : literal(v[1]) };
  }

  const tree = parseOr();
  if (pos < tokens.length) throw new SyntaxError(`unexpected ${tokens[pos][1]}`);
  return tree;
}

function literal(word) {
  const lower = word.toLowerCase();
  if (lower === 'null' || lower === 'none') return null;
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (word !== '' && !Number.isNaN(Number(word))) return Number(word);
  return word;
}

/** Whether text looks like an expression (has a comparison operator) rather than plain words. */
export function looksLikeExpression(text) {
  return /[=<>~]/.test(text);
}

function compare(actual, op, expected) {
  if (Array.isArray(actual)) {
    if (op === '=' || op === '~') return actual.some((a) => compare(a, op, expected));
    if (op === '!=' || op === '!~') return !actual.some((a) => compare(a, op === '!=' ? '=' : '~', expected));
  }
  if (expected === null) {
    if (op === '=') return isMissing(actual);
    if (op === '!=') return !isMissing(actual);
    return false;
  }
  if (isMissing(actual)) return op === '!=' || op === '!~';
  const bothNumbers = typeof expected === 'number' && (typeof actual === 'number' || !Number.isNaN(Number(actual)));
  if (op === '~' || op === '!~') {
    const has = String(actual).toLowerCase().includes(String(expected).toLowerCase());
    return op === '~' ? has : !has;
  }
  if (bothNumbers) {
    const a = Number(actual);
    switch (op) {
      case '=': return a === expected;
      case '!=': return a !== expected;
      case '>': return a > expected;
      case '>=': return a >= expected;
      case '<': return a < expected;
      case '<=': return a <= expected;
    }
  }
  const a = String(actual).toLowerCase();
  const b = String(expected).toLowerCase();
  switch (op) {
    case '=': return a === b;
    case '!=': return a !== b;
    case '>': return a > b;
    case '>=': return a >= b;
    case '<': return a < b;
    case '<=': return a <= b;
  }
  return false;
}

/**
 * Evaluate a parsed filter against one table row.
 * @param {object} tree from parseFilter
 * @param {Record<string, any>} row from columns.runRow
 * @param {Set<string>} known the column keys present (for resolving `acc.max` → `summary.acc.max`)
 */
export function evaluate(tree, row, known) {
  if (tree.and) return evaluate(tree.and[0], row, known) && evaluate(tree.and[1], row, known);
  if (tree.or) return evaluate(tree.or[0], row, known) || evaluate(tree.or[1], row, known);
  if (tree.not) return !evaluate(tree.not, row, known);
  return compare(row[resolveColumn(tree.field, known)], tree.op, tree.value);
}

/**
 * A row predicate for the filter box's text.
 * @param {string} text
 * @param {Set<string>} known column keys
 * @returns {{test: (row: object) => boolean, error: string|null, expression: boolean}}
 */
export function compileFilter(text, known) {
  const trimmed = (text || '').trim();
  if (trimmed === '') return { test: () => true, error: null, expression: false };
  if (looksLikeExpression(trimmed)) {
    try {
      const tree = parseFilter(trimmed);
      return { test: (row) => evaluate(tree, row, known), error: null, expression: true };
    } catch (e) {
      return { test: () => false, error: e.message, expression: true };
    }
  }
  const words = trimmed.toLowerCase().split(/\s+/);
  return {
    test: (row) => {
      const hay = [row.name, row.id, row.state, row.group, ...(row.tags || [])].filter(Boolean).join(' ').toLowerCase();
      return words.every((w) => hay.includes(w));
    },
    error: null,
    expression: false,
  };
}

// ---- the same filter, as the API's query (docs/server-api.md: wandb's MongoDB-style filters) ----

/** @param {string} s @returns {string} `s` as a regular expression matching itself */
function reEscape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The API's field for a table column, or null where the API has none (runtime). */
function apiField(col) {
  if (col.startsWith('summary.')) return `summary_metrics.${col.slice(8)}`;
  if (col.startsWith('config.')) return col;
  const named = { name: 'display_name', created: 'created_at', id: 'id', state: 'state', group: 'group', job_type: 'job_type', tags: 'tags' };
  return named[col] || null;
}

/** @returns {object|null} */
function cmpToMongo(field, op, value) {
  const text = typeof value === 'string';
  const ci = (re) => ({ $regex: re, $options: 'i' });
  if (value === null) {
    if (op === '=') return { [field]: null };
    if (op === '!=') return { [field]: { $exists: true } };
    return null;
  }
  switch (op) {
    case '=': return { [field]: text ? ci(`^${reEscape(value)}$`) : { $eq: value } };
    case '!=': return { [field]: text ? { $not: ci(`^${reEscape(value)}$`) } : { $ne: value } };
    case '~': return { [field]: ci(reEscape(String(value))) };
    case '!~': return { [field]: { $not: ci(reEscape(String(value))) } };
    case '>': case '>=': case '<': case '<=':
      if (typeof value !== 'number') return null; // text order is case-blind here, by code point there
      return { [field]: { [{ '>': '$gt', '>=': '$gte', '<': '$lt', '<=': '$lte' }[op]]: value } };
  }
  return null;
}

/** @returns {object|null} */
function treeToMongo(tree, known) {
  if (tree.and || tree.or) {
    const parts = (tree.and || tree.or).map((t) => treeToMongo(t, known));
    if (parts.some((p) => p === null)) return null;
    return { [tree.and ? '$and' : '$or']: parts };
  }
  if (tree.not) {
    const inner = treeToMongo(tree.not, known);
    return inner === null ? null : { $nor: [inner] };
  }
  const field = apiField(resolveColumn(tree.field, known));
  return field === null ? null : cmpToMongo(field, tree.op, tree.value);
}

/**
 * The filter box's text as the API's `filters` (the runs listing's), so the server can answer the
 * first page of a filtered table: plain words are "contains, any case" over name, id, state, group
 * and tags; an expression's comparisons keep their meaning (text compared case-blind, as the
 * table does). null: nothing to filter, a malformed expression, or one the API cannot say the
 * same way (a `runtime` column; `>` between texts) — the table then filters in the page alone.
 * @param {string} text
 * @param {Set<string>} known column keys
 * @returns {object|null}
 */
export function toMongo(text, known) {
  const trimmed = (text || '').trim();
  if (trimmed === '') return null;
  if (looksLikeExpression(trimmed)) {
    try {
      return treeToMongo(parseFilter(trimmed), known);
    } catch {
      return null;
    }
  }
  const words = trimmed.split(/\s+/);
  return {
    $and: words.map((w) => ({
      $or: ['display_name', 'id', 'state', 'group', 'tags'].map((f) => ({ [f]: { $regex: reEscape(w), $options: 'i' } })),
    })),
  };
}
