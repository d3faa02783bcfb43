/**
 * The server's read API (docs/server-api.md), from the browser: same-origin fetches that carry the
 * session cookie, JSON answers (their non-finite numbers restored by `nonfinite.js`), and ETag
 * revalidation for history polls.
 *
 * @module api
 */

import { decodeAnswer, parseJsonText } from './nonfinite.js';

/** An answer other than 2xx/304: `status` and the server's `{"error"}` message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const etags = new Map(); // url → {etag, data}

/** The ApiError of an answer that is not 2xx: the server's `{"error"}` message when it sent one. */
async function failure(res) {
  let msg = `${res.status} ${res.statusText}`;
  try {
    msg = (await res.json()).error || msg;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, msg);
}

/**
 * GET a JSON endpoint.
 * @param {string} url path under /api/v1
 * @param {{revalidate?: boolean, signal?: AbortSignal}} [opts] revalidate: send If-None-Match with the
 *   last ETag of this url and report whether the data changed
 * @returns {Promise<{data: any, changed: boolean}>}
 */
export async function getJson(url, opts = {}) {
  const headers = { Accept: 'application/json' };
  const prev = opts.revalidate ? etags.get(url) : undefined;
  if (prev) headers['If-None-Match'] = prev.etag;
  const res = await fetch(url, { headers, credentials: 'same-origin', signal: opts.signal });
  if (res.status === 304 && prev) return { data: prev.data, changed: false };
  if (!res.ok) throw await failure(res);
  const data = decodeAnswer(await res.json());
  const etag = res.headers.get('ETag');
  if (opts.revalidate && etag) etags.set(url, { etag, data });
  return { data, changed: true };
}

/**
 * GET a run file that holds JSON (a table's `.table.json`), as the SDK wrote it: bare `NaN` and
 * `Infinity` tokens are read as numbers.
 * @param {string} url a `urls.file(...)`
 * @returns {Promise<any>}
 */
export async function getFileJson(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw await failure(res);
  return parseJsonText(await res.text());
}

/** Query string from an object, skipping null/undefined values. */
export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const enc = encodeURIComponent;

/** URLs of the read API. */
export const urls = {
  projects: () => '/api/v1/projects',
  runs: (e, p, params = {}) => `/api/v1/runs/${enc(e)}/${enc(p)}${qs(params)}`,
  run: (e, p, r) => `/api/v1/runs/${enc(e)}/${enc(p)}/${enc(r)}`,
  history: (e, p, r, params) => `/api/v1/runs/${enc(e)}/${enc(p)}/${enc(r)}/history${qs(params)}`,
  // Many runs of one project at one query (docs/server-api.md): `runs` first, then the query as `history`'s.
  histories: (e, p, runIds, params) =>
    `/api/v1/histories/${enc(e)}/${enc(p)}${qs({ runs: runIds.join(','), ...params })}`,
  rows: (e, p, r, params) => `/api/v1/runs/${enc(e)}/${enc(p)}/${enc(r)}/rows${qs(params)}`,
  files: (e, p, r) => `/api/v1/runs/${enc(e)}/${enc(p)}/${enc(r)}/files`,
  // download: as an attachment; view: an HTML file as a page (for a sandboxed frame only).
  file: (e, p, r, name, download = false, view = false) =>
    `/api/v1/runs/${enc(e)}/${enc(p)}/${enc(r)}/files/${name.split('/').map(enc).join('/')}${download ? '?download=1' : view ? '?view=1' : ''}`,
  logs: (e, p, r, offset) => `/api/v1/runs/${enc(e)}/${enc(p)}/${enc(r)}/logs${qs({ offset })}`,
};

/**
 * Every run of a project from the index, fetched in pages.
 * @returns {Promise<object[]>}
 */
export async function allRuns(entity, project, pageSize = 2000) {
  const runs = [];
  for (let offset = 0; ; offset += pageSize) {
    const { data } = await getJson(urls.runs(entity, project, { limit: pageSize, offset }));
    runs.push(...(data.runs || []));
    if (!data.runs || data.runs.length < pageSize || runs.length >= (data.total ?? Infinity)) return runs;
  }
}

/**
 * Every row of some keys of a run (the exact `rows` endpoint), at most `max` rows.
 * @returns {Promise<object[]>}
 */
export async function allRows(entity, project, run, keys, max = 5000) {
  const rows = [];
  let offset = 0;
  while (offset !== null && offset !== undefined && rows.length < max) {
    const { data } = await getJson(urls.rows(entity, project, run, { keys: keys.join(','), offset, limit: 1000 }));
    rows.push(...(data.rows || []));
    offset = data.next;
  }
  return rows;
}
