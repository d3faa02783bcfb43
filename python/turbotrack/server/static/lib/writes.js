/**
 * The API's writes the UI makes (docs/server-api.md): edit a run's name, tags and notes, delete runs,
 * save and load named views. A browser session sends its CSRF token (read once from
 * `GET /api/v1/session`, which no other origin can read) in `X-Turbotrack-Csrf`; the server refuses
 * the write without it.
 *
 * @module writes
 */

import { ApiError } from './api.js';

const enc = encodeURIComponent;

/** URLs of the write API. */
export const writeUrls = {
  session: () => '/api/v1/session',
  run: (/** @type {string} */ e, /** @type {string} */ p, /** @type {string} */ r) => `/api/v1/runs/${enc(e)}/${enc(p)}/${enc(r)}`,
  deleteMany: (/** @type {string} */ e, /** @type {string} */ p) => `/api/v1/delete/${enc(e)}/${enc(p)}`,
  views: (/** @type {string} */ e, /** @type {string} */ p) => `/api/v1/views/${enc(e)}/${enc(p)}`,
  view: (/** @type {string} */ e, /** @type {string} */ p, /** @type {string} */ name) => `/api/v1/views/${enc(e)}/${enc(p)}/${enc(name)}`,
};

/**
 * A client of the write API over a `fetch` (the browser's by default; a test's stand-in).
 */
export class Writer {
  /** @param {typeof fetch} [fetchImpl] */
  constructor(fetchImpl) {
    this.fetch = fetchImpl || ((/** @type {any} */ u, /** @type {any} */ o) => globalThis.fetch(u, o));
    /** @type {Promise<{kind: string, entity: string|null, writes: boolean, csrf: string|null}>|null} */
    this._who = null;
  }

  /** Who the UI is (`{kind, entity, writes, csrf}`), asked once. */
  who() {
    if (!this._who) {
      this._who = this.send('GET', writeUrls.session(), undefined, false);
      this._who.catch(() => {
        this._who = null;
      });
    }
    return this._who;
  }

  /**
   * One request: JSON in, JSON out; an ApiError with the server's message otherwise.
   * @param {string} method
   * @param {string} url
   * @param {any} [body]
   * @param {boolean} [csrf]
   * @returns {Promise<any>}
   */
  async send(method, url, body, csrf = true) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (csrf) {
      const who = await this.who();
      if (who.csrf) headers['X-Turbotrack-Csrf'] = who.csrf;
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await this.fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await res.json();
    } catch {
      /* no JSON */
    }
    if (!res.ok) throw new ApiError(res.status, (data && data.error) || `${res.status} ${res.statusText}`);
    return data;
  }

  /**
   * @param {string} e
   * @param {string} p
   * @param {string} id
   * @param {{name?: string, tags?: string[], notes?: string|null}} fields
   */
  editRun(e, p, id, fields) {
    return this.send('PATCH', writeUrls.run(e, p, id), fields);
  }

  /**
   * @param {string} e
   * @param {string} p
   * @param {string[]} ids
   */
  deleteRuns(e, p, ids) {
    return this.send('POST', writeUrls.deleteMany(e, p), { ids });
  }

  /**
   * @param {string} e
   * @param {string} p
   */
  listViews(e, p) {
    return this.send('GET', writeUrls.views(e, p), undefined, false);
  }

  /**
   * @param {string} e
   * @param {string} p
   * @param {string} name
   */
  getView(e, p, name) {
    return this.send('GET', writeUrls.view(e, p, name), undefined, false);
  }

  /**
   * @param {string} e
   * @param {string} p
   * @param {string} name
   * @param {any} view
   */
  saveView(e, p, name, view) {
    return this.send('PUT', writeUrls.view(e, p, name), view);
  }

  /**
   * @param {string} e
   * @param {string} p
   * @param {string} name
   */
  deleteView(e, p, name) {
    return this.send('DELETE', writeUrls.view(e, p, name), {});
  }
}

/**
 * Tags typed as text: split on commas, trimmed, empty ones and repeats dropped.
 * @param {string} text
 * @returns {string[]}
 */
export function parseTags(text) {
  return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
}
