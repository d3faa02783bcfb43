/**
 * The data layer both pages share: one queue (and cache) for every history request, so a run's
 * charts on the run page, the workspace's overlays and their zooms wait in one line, by priority,
 * and a page visited again draws from the kept answers (docs/ui.md).
 *
 * @module data
 */

import { getJson, urls } from './api.js';
import { FetchQueue } from './queue.js';

/** Zooms first, then what is in sight, then the rest (FetchQueue priorities). */
export const PRIORITY = { zoom: -1, view: 0, background: 1 };

export const historyQueue = new FetchQueue((url, opts) => getJson(url, opts), { width: 2, size: 1000 });

/**
 * The histories of many runs of one project at one query, each as the single-run history route
 * answers it. A run whose answer is kept under its own history URL is not asked again (unless
 * `revalidate`); the others are asked in one batch request (`urls.histories`) through `queue`, and
 * each run's answer is then kept under its own URL too, so a page asking run by run (the run page)
 * finds it.
 * @param {string} entity
 * @param {string} project
 * @param {string[]} ids
 * @param {Record<string, any>} params the history query (keys, x_axis, samples, each, ...)
 * @param {{priority?: number, revalidate?: boolean}} [opts]
 * @param {FetchQueue} [queue]
 * @returns {Promise<{answers: Map<string, any>, missing: string[], changed: boolean}>} changed: false
 *   when the batch was revalidated and nothing in it changed
 */
export async function getHistories(entity, project, ids, params, opts = {}, queue = historyQueue) {
  const answers = new Map();
  const ask = [];
  for (const id of ids) {
    const kept = opts.revalidate ? undefined : queue.peek(urls.history(entity, project, id, params));
    if (kept !== undefined) answers.set(id, kept);
    else ask.push(id);
  }
  if (!ask.length) return { answers, missing: [], changed: true };
  const { data, changed } = await queue.get(urls.histories(entity, project, ask, params), opts);
  for (const [id, body] of Object.entries(data.runs || {})) {
    answers.set(id, body);
    queue.keep(urls.history(entity, project, id, params), body);
  }
  return { answers, missing: data.missing || [], changed };
}
