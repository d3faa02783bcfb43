/**
 * The data layer both pages share: one queue (and cache) for every history request, so a run's
 * charts on the run page, the workspace's overlays and their zooms wait in one line, by priority,
 * and a page visited again draws from the kept answers (docs/ui.md).
 *
 * @module data
 */

import { getJson } from './api.js';
import { FetchQueue } from './queue.js';

/** Zooms first, then what is in sight, then the rest (FetchQueue priorities). */
export const PRIORITY = { zoom: -1, view: 0, background: 1 };

export const historyQueue = new FetchQueue((url, opts) => getJson(url, opts), { width: 2, size: 1000 });
