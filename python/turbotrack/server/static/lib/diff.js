/**
 * Diff highlighting for `diff.patch` (git's unified diff): each line escaped and classed as file
 * header, hunk header, addition, deletion or context.
 *
 * @module diff
 */

import { escapeHtml } from './ansi.js';

/**
 * The class of one unified-diff line.
 * @param {string} line
 * @returns {'meta'|'file'|'hunk'|'add'|'del'|'ctx'}
 */
export function diffLineKind(line) {
  if (line.startsWith('diff ') || line.startsWith('index ') || line.startsWith('new file') ||
      line.startsWith('deleted file') || line.startsWith('similarity') || line.startsWith('rename ') ||
      line.startsWith('old mode') || line.startsWith('new mode') || line.startsWith('Binary files')) return 'meta';
  if (line.startsWith('+++ ') || line.startsWith('--- ')) return 'file';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  return 'ctx';
}

/**
 * A diff as HTML: one `<span class="diff-KIND">` per line.
 * @param {string} text
 * @returns {string}
 */
export function diffToHtml(text) {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => `<span class="diff-${diffLineKind(l)}">${escapeHtml(l)}</span>`).join('\n');
}
