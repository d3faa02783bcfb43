/**
 * Which runs one batch history request asks for (`GET /api/v1/histories/...`): runs that lack the
 * same keys, in the order given (the table's), so that one answer fills them all. Pure, so node
 * tests drive it.
 *
 * @module batch
 */

/** Most runs one request names (the server takes 100: docs/server-api.md). */
export const BATCH_RUNS = 16;
/** Most characters of run ids one request names (a URL stays well under servers' 8 KB line limits). */
export const BATCH_CHARS = 4000;

/**
 * The next batch: the first run that lacks some keys, and after it the runs that lack exactly
 * those keys, at most `size` runs (and `BATCH_CHARS` of ids). `size` defaults to an even share of
 * the runs lacking keys over `slots` requests, between `min` and `max` runs: the work spreads over
 * the requests that may run at once, and no request grows past `max`.
 * @param {string[]} ids the runs, in the order they are wanted
 * @param {(id: string) => string[]} lacks the keys a run lacks (none: nothing to ask)
 * @param {{slots?: number, min?: number, max?: number, size?: number}} [opts]
 * @returns {{ids: string[], keys: string[]} | null}
 */
export function nextBatch(ids, lacks, opts = {}) {
  const wanting = [];
  for (const id of ids) {
    const keys = lacks(id);
    if (keys.length) wanting.push({ id, keys, sig: keys.join('\u0000') });
  }
  if (!wanting.length) return null;
  const max = opts.max ?? BATCH_RUNS;
  const size = opts.size ?? Math.min(max, Math.max(opts.min ?? 1, Math.ceil(wanting.length / Math.max(1, opts.slots ?? 1))));
  const first = wanting[0];
  const out = [first.id];
  let chars = first.id.length;
  for (let i = 1; i < wanting.length && out.length < size; i++) {
    const w = wanting[i];
    if (w.sig !== first.sig) continue;
    if (chars + 1 + w.id.length > BATCH_CHARS) break;
    out.push(w.id);
    chars += 1 + w.id.length;
  }
  return { ids: out, keys: first.keys };
}

/**
 * `ids` cut into batches of at most `size` runs (and `BATCH_CHARS` of ids), in order.
 * @param {string[]} ids
 * @param {number} [size]
 * @returns {string[][]}
 */
export function chunks(ids, size = BATCH_RUNS) {
  const out = [];
  let cur = [];
  let chars = 0;
  for (const id of ids) {
    if (cur.length && (cur.length >= size || chars + 1 + id.length > BATCH_CHARS)) {
      out.push(cur);
      cur = [];
      chars = 0;
    }
    cur.push(id);
    chars += (cur.length > 1 ? 1 : 0) + id.length;
  }
  if (cur.length) out.push(cur);
  return out;
}
